"""reqspec-manage db: schema upgrades and where each database stands."""

import argparse
from typing import Any

from reqspec import context
from reqspec import exception
from reqspec.cmd import online_data_migrations
from reqspec.cmd import output
from reqspec.db import engines
from reqspec.db import migration
from reqspec.objects import CellMapping

API_LABEL = "the API database"


def register(subparsers: Any) -> None:
    db = subparsers.add_parser("db", help="Database schema commands.")
    commands = db.add_subparsers(dest="db_command", metavar="COMMAND")
    commands.required = True

    sync = commands.add_parser(
        "sync",
        help="Upgrade the API database and/or cell databases to the code.",
    )
    # dest names are prefixed: oslo.config resolves an unprefixed name like
    # "database" to its option group before the parsed argument.
    sync.add_argument(
        "--database",
        dest="db_kind",
        choices=migration.DATABASES,
        help="Only this kind of database (default: the API database, then "
        "every cell).",
    )
    sync.add_argument(
        "--cell",
        dest="cell_name",
        metavar="NAME",
        help="With --database cell: only this cell (default: every cell).",
    )
    sync.set_defaults(action_fn=sync_command)

    version = commands.add_parser(
        "version", help="Show each database's schema revision."
    )
    version.set_defaults(action_fn=version_command)

    online_data_migrations.register(commands)


def _cells(ctx: context.RequestContext, name: str | None) -> list[CellMapping]:
    if name:
        return [CellMapping.get_by_name(ctx, name)]
    return CellMapping.get_all(ctx)


def sync_command(args: argparse.Namespace) -> int:
    if args.cell_name and args.db_kind != "cell":
        raise exception.ReqspecError("--cell goes with --database cell")
    failed = False
    if args.db_kind in (None, "api"):
        status = migration.db_sync(
            "api", engines.api_database_url(), label=API_LABEL
        )
        print(f"{status.label}: at {status.current} ({status.state})")
    if args.db_kind in (None, "cell"):
        ctx = context.get_admin_context()
        cells = _cells(ctx, args.cell_name)
        if not cells:
            print("no cells yet: add one with 'reqspec-manage cell create'")
        for cell in cells:
            try:
                status = migration.db_sync(
                    "cell", cell.database_connection, label=cell.identity
                )
            except exception.ReqspecError as err:
                # One broken cell must not stop the others from upgrading.
                output.error(err.message)
                failed = True
                continue
            print(f"{status.label}: at {status.current} ({status.state})")
    return 1 if failed else 0


def version_command(args: argparse.Namespace) -> int:
    rows = []
    failed = False
    api_url = engines.api_database_url()
    # The cells are listed in the API database: without it there is
    # nothing more to show than why.
    migration.db_version("api", api_url, label=API_LABEL)
    targets = [("api", api_url, API_LABEL)]
    try:
        cells = CellMapping.get_all(context.get_admin_context())
    except exception.ReqspecError as err:
        output.error(f"cannot list cells: {err.message}")
        cells = []
        failed = True
    targets += [("cell", c.database_connection, c.identity) for c in cells]
    for database, url, label in targets:
        try:
            status = migration.db_version(database, url, label=label)
        except exception.ReqspecError as err:
            rows.append((label, "?", migration.head(database), err.message))
            failed = True
            continue
        failed = failed or status.state == "ahead of the code"
        rows.append((label, status.current or "-", status.head, status.state))
    output.table(("database", "revision", "code head", "state"), rows)
    return 1 if failed else 0
