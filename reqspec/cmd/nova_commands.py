"""reqspec-manage import-nova: bring an existing Nova deployment's specs.

Exit codes: 0 every row is imported or already present; 1 some rows could
not be converted or conflict with a stored spec (all listed, with the
reason), or the import could not run (one error line).
"""

import argparse
import collections
from typing import Any

from reqspec import context
from reqspec import exception
from reqspec.cmd import databases
from reqspec.cmd import output
from reqspec.db import nova_source
from reqspec.db import urls
from reqspec.objects import nova_import

Outcome = nova_import.Outcome


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "import-nova",
        help="Copy the request specs of a Nova API database into the API "
        "database (idempotent; safe to re-run).",
    )
    parser.add_argument(
        "--connection",
        dest="nova_connection",
        metavar="URL",
        required=True,
        help="SQLAlchemy URL of the Nova API database (read only).",
    )
    parser.add_argument(
        "--batch-size",
        dest="nova_batch_size",
        metavar="N",
        type=int,
        default=500,
        help="Rows read from Nova per batch (default: 500).",
    )
    parser.set_defaults(action_fn=import_command)


def import_command(args: argparse.Namespace) -> int:
    if args.nova_batch_size < 1:
        raise exception.ReqspecError("--batch-size must be at least 1")
    # A malformed URL, a driver not installed or a database that does
    # not exist: one line, before anything is opened.
    databases.api_url()
    urls.verify(args.nova_connection, "the Nova API database")
    output.using("the Nova API database", urls.mask(args.nova_connection))
    ctx = context.get_admin_context()
    source = nova_source.NovaSource(args.nova_connection)
    counts: collections.Counter[Outcome] = collections.Counter()
    notes: collections.Counter[str] = collections.Counter()
    problems: list[nova_import.RowResult] = []
    try:
        total = source.count()
        print(
            f"importing {total} request spec(s) from {source.masked_url} "
            f"into {ctx.database}"
        )
        progress = output.Progress(total)
        try:
            for result in nova_import.import_from(
                ctx, source, args.nova_batch_size
            ):
                counts[result.outcome] += 1
                notes.update(result.notes)
                if result.outcome in (Outcome.CONFLICT, Outcome.UNCONVERTIBLE):
                    problems.append(result)
                progress.advance(1, result.instance_uuid)
        finally:
            progress.close()
    finally:
        source.close()

    output.table(
        ("outcome", "rows"),
        [(o.value, counts[o]) for o in Outcome]
        + [("total", sum(counts.values()))],
    )
    if notes:
        print("\nWhat the conversion changed (rows affected):")
        output.table(("note", "rows"), sorted(notes.items()))
    if problems:
        print("\nRows not imported:")
        output.table(
            ("nova id", "instance uuid", "outcome", "reason"),
            [
                (p.nova_id, p.instance_uuid, p.outcome.value, p.reason)
                for p in problems
            ],
        )
        return 1
    return 0
