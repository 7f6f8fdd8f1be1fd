"""reqspec-manage import-nova and export-nova: to and from Nova.

import-nova brings an existing Nova deployment's specs; export-nova writes
every spec (of the API database and of every cell) back as the rows Nova
34 keeps, so that an operator can go back to Nova.

Exit codes: 0 every row is imported or already present (exported, or
already equal); 1 some rows could not be converted or conflict with a
stored spec (all listed, with the reason), or the command could not run
(one error line).
"""

import argparse
import collections
from typing import Any

from reqspec import context
from reqspec import exception
from reqspec.cmd import databases
from reqspec.cmd import output
from reqspec.db import nova_source
from reqspec.db import nova_target
from reqspec.db import urls
from reqspec.objects import CellMapping
from reqspec.objects import nova_export
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

    parser = subparsers.add_parser(
        "export-nova",
        help="Write every request spec back into a Nova API database, as "
        "Nova 34 stores them (idempotent; safe to re-run).",
    )
    parser.add_argument(
        "--connection",
        dest="nova_connection",
        metavar="URL",
        required=True,
        help="SQLAlchemy URL of the Nova API database (its request_specs "
        "table must exist).",
    )
    parser.add_argument(
        "--batch-size",
        dest="nova_batch_size",
        metavar="N",
        type=int,
        default=500,
        help="Specs written per transaction (default: 500).",
    )
    parser.set_defaults(action_fn=export_command)


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


def export_command(args: argparse.Namespace) -> int:
    if args.nova_batch_size < 1:
        raise exception.ReqspecError("--batch-size must be at least 1")
    # The same first checks as import-nova: one line for a bad URL, a
    # driver not installed, or a database that does not exist.
    databases.api_url()
    urls.verify(args.nova_connection, "the Nova API database")
    output.using("the Nova API database", urls.mask(args.nova_connection))
    ctx = context.get_admin_context()
    cells = CellMapping.get_all(ctx)
    target = nova_target.NovaTarget(args.nova_connection)
    counts: collections.Counter[nova_export.Outcome] = collections.Counter()
    problems: list[nova_export.RowResult] = []
    try:
        print(f"exporting request specs into {target.masked_url}")
        for cell in [None, *cells]:
            if cell is None:
                _export(ctx, target, args.nova_batch_size, counts, problems)
                continue
            with context.target_cell(ctx, cell) as cctx:
                _export(cctx, target, args.nova_batch_size, counts, problems)
    finally:
        target.close()
    output.table(
        ("outcome", "rows"),
        [(o.value, counts[o]) for o in nova_export.Outcome]
        + [("total", sum(counts.values()))],
    )
    if problems:
        print("\nSpecs not exported:")
        output.table(
            ("instance uuid", "reason"),
            [(p.instance_uuid, p.reason) for p in problems],
        )
        return 1
    return 0


def _export(
    ctx: context.RequestContext,
    target: nova_target.NovaTarget,
    batch: int,
    counts: collections.Counter[nova_export.Outcome],
    problems: list[nova_export.RowResult],
) -> None:
    done = 0
    for result in nova_export.export_from(ctx, target, batch):
        counts[result.outcome] += 1
        done += 1
        if result.outcome is nova_export.Outcome.UNCONVERTIBLE:
            problems.append(result)
    print(f"  {ctx.database}: {done} spec(s)")
