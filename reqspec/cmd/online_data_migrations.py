"""reqspec-manage db online_data_migrations: run every registered online
data migration over the API database and every cell database.

Exit codes (nova-manage's):

* 0: nothing (further) can be done; rows that could not be migrated, if
  any, are reported above the summary;
* 1: ``--max-count`` limited the run and it migrated something: run it
  again until it exits 0;
* 2: a migration raised (or the databases could not be listed), or a row
  is damaged (its stored spec cannot be read: each is named on stderr,
  and the other rows are migrated all the same), and no limited run made
  progress past it;
* 127: bad input (``--max-count`` not a positive integer).
"""

import argparse
import collections
import dataclasses
import logging
from typing import Any

from reqspec import context
from reqspec import exception
from reqspec.cmd import databases
from reqspec.cmd import output
from reqspec.objects import online_migrations

LOG = logging.getLogger(__name__)

#: Rows per call when no --max-count is given (nova-manage's default).
DEFAULT_BATCH = 50


def register(commands: Any) -> None:
    """Add the sub-command to the ``db`` category's sub-parsers."""
    odm = commands.add_parser(
        "online_data_migrations",
        help="Rewrite old rows of every database in batches (safe to "
        "interrupt and to re-run).",
    )
    odm.add_argument(
        "--max-count",
        dest="odm_max_count",
        metavar="N",
        help="Migrate at most N rows in total, then stop (exit 1 if there "
        f"may be more). Default: batches of {DEFAULT_BATCH} until nothing "
        "is left.",
    )
    odm.set_defaults(action_fn=command, error_exit=2)


@dataclasses.dataclass
class _Target:
    label: str
    ctx: context.RequestContext
    cursors: dict[str, online_migrations.Cursor] = dataclasses.field(
        default_factory=dict
    )
    exhausted: set[str] = dataclasses.field(default_factory=set)


def _targets(failures: list[str]) -> list[_Target]:
    """The API database and every usable cell; a broken cell mapping is
    a failure of its own and the others still run."""
    databases.api_url()
    ctx = context.get_admin_context()
    targets = [_Target("the API database", ctx)]
    for cell in databases.cells(ctx):
        try:
            databases.check_cell(cell)
        except exception.ReqspecError as err:
            failures.append(databases.cell_error(cell, err))
            continue
        with context.target_cell(ctx, cell) as cctx:
            targets.append(_Target(f"cell {cell.name}", cctx))
    return targets


def _count(targets: list[_Target], failures: list[str]) -> int:
    total = 0
    for target in list(targets):
        try:
            total += sum(
                m.count(target.ctx) for m in online_migrations.MIGRATIONS
            )
        except exception.ReqspecError as err:
            failures.append(err.message)
            targets.remove(target)
    return total


def _parse_max_count(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(raw)
    return value


def command(args: argparse.Namespace) -> int:
    try:
        max_count = _parse_max_count(args.odm_max_count)
    except ValueError:
        output.error(
            f"--max-count must be a positive integer, not "
            f"{args.odm_max_count!r}"
        )
        return 127
    failures: list[str] = []
    targets = _targets(failures)
    # The API database must be usable; a cell's failure is reported below.
    total = _count(targets, failures)
    if not targets or targets[0].label != "the API database":
        for line in failures:
            output.error(line)
        return 2
    if max_count is not None:
        total = min(total, max_count)
    else:
        print(f"Running batches of {DEFAULT_BATCH} until complete")

    progress = output.Progress(total)
    results: dict[str, list[int]] = collections.OrderedDict(
        (m.name, [0, 0]) for m in online_migrations.MIGRATIONS
    )
    try:
        with output.warnings_to_stderr():
            ran = _run(targets, max_count, progress, results, failures)
    finally:
        progress.close()

    output.table(
        ("migration", "found", "done"),
        [(name, found, done) for name, (found, done) in results.items()],
    )
    failures += [
        f"{name} could not migrate a damaged row: {message}"
        for target in targets
        for name, cursor in target.cursors.items()
        for message in cursor.damaged
    ]
    left = sum(found - done for found, done in results.values())
    if left and not failures:
        print(
            f"{left} row(s) were found but not migrated: rows changed by a "
            "live writer are picked up by the next run; others are named "
            "in the warnings above and need fixing by hand."
        )
    if failures and not (max_count is not None and ran):
        for line in failures:
            output.error(line)
        return 2
    if max_count is not None and ran:
        return 1
    return 0


def _run(
    targets: list[_Target],
    max_count: int | None,
    progress: output.Progress,
    results: dict[str, list[int]],
    failures: list[str],
) -> int:
    """Run batches; returns how many rows were migrated."""
    limited = max_count is not None
    ran = 0
    while True:
        progress_made = False
        for migration in online_migrations.MIGRATIONS:
            for target in targets:
                if migration.name in target.exhausted:
                    continue
                if limited:
                    assert max_count is not None
                    batch = max_count - ran
                    if batch <= 0:
                        return ran
                else:
                    batch = DEFAULT_BATCH
                cursor = target.cursors.setdefault(
                    migration.name, online_migrations.Cursor()
                )
                try:
                    found, done = migration(target.ctx, batch, cursor)
                except (
                    Exception
                ) as err:  # reported below; the exit code says 2
                    LOG.debug("online migration failed", exc_info=True)
                    failures.append(
                        f"{migration.name} failed on {target.label}: "
                        f"{getattr(err, 'message', None) or err!r}"
                    )
                    target.exhausted.add(migration.name)
                    continue
                results[migration.name][0] += found
                results[migration.name][1] += done
                ran += done
                progress.advance(found, f"{migration.name} ({target.label})")
                if cursor.at_end:
                    # Nothing after the cursor: this table is done. (Not
                    # found < batch: a migration may look at rows that
                    # need no work, which found does not count.)
                    target.exhausted.add(migration.name)
                else:
                    progress_made = True
        if limited or not progress_made:
            return ran
