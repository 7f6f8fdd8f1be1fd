"""reqspec-manage db: schema upgrades and where each database stands."""

import argparse
from typing import Any

from reqspec import context
from reqspec import exception
from reqspec.cmd import databases
from reqspec.cmd import online_data_migrations
from reqspec.cmd import output
from reqspec.db import migration
from reqspec.db import urls
from reqspec.objects import CellMapping

API_LABEL = databases.API_LABEL


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

    ini = commands.add_parser(
        "alembic-ini",
        help="Print the path of a tree's alembic.ini, for plain alembic: "
        "alembic -c $(reqspec-manage db alembic-ini api) -x url=URL "
        "upgrade head",
    )
    ini.add_argument(
        "ini_database", metavar="KIND", choices=migration.DATABASES
    )
    ini.set_defaults(action_fn=alembic_ini_command)

    online_data_migrations.register(commands)


def alembic_ini_command(args: argparse.Namespace) -> int:
    """Uses no database: only says where the installed tree is."""
    print(migration.alembic_ini(args.ini_database))
    return 0


def _cells(ctx: context.RequestContext, name: str | None) -> list[CellMapping]:
    if name:
        cell = CellMapping.get_by_name(ctx, name)
        databases.announce_cell(cell)
        return [cell]
    return databases.cells(ctx)


def sync_command(args: argparse.Namespace) -> int:
    if args.cell_name and args.db_kind != "cell":
        raise exception.ReqspecError("--cell goes with --database cell")
    failed = False
    if args.db_kind in (None, "api"):
        # db sync is the one command that may create (an SQLite) database.
        url = databases.api_url(create=True)
        status = migration.db_sync("api", url, label=API_LABEL)
        print(f"{status.label}: at {status.current} ({status.state})")
    else:
        databases.api_url()
    if args.db_kind in (None, "cell"):
        ctx = context.get_admin_context()
        cells = _cells(ctx, args.cell_name)
        if not cells:
            print("no cells yet: add one with 'reqspec-manage cell create'")
        for cell in cells:
            try:
                urls.check(cell.database_connection, cell.identity)
                status = migration.db_sync(
                    "cell", cell.database_connection, label=cell.identity
                )
            except exception.ReqspecError as err:
                # One broken cell must not stop the others from upgrading.
                output.error(databases.cell_error(cell, err))
                failed = True
                continue
            print(f"{status.label}: at {status.current} ({status.state})")
    return 1 if failed else 0


def version_command(args: argparse.Namespace) -> int:
    """Exit 0 when every database is reachable and known to the code
    (an empty or behind database is a state, not an error); 1 otherwise."""
    rows = []
    failed = False
    api_url = databases.api_url()
    # The cells are listed in the API database: without it there is
    # nothing more to show than why.
    api_status = migration.db_version("api", api_url, label=API_LABEL)
    rows.append(_row(api_status))
    failed = api_status.state == "ahead of the code"
    cells: list[CellMapping] = []
    # An empty API database has no cell mappings table, hence no cells.
    if api_status.current is not None:
        try:
            cells = databases.cells(context.get_admin_context())
        except exception.ReqspecError as err:
            output.error(f"cannot list cells: {err.message}")
            failed = True
    for cell in cells:
        try:
            status = migration.db_version(
                "cell", cell.database_connection, label=cell.identity
            )
        except exception.ReqspecError as err:
            rows.append(
                (
                    cell.identity,
                    "?",
                    migration.head("cell"),
                    databases.cell_error(cell, err),
                )
            )
            failed = True
            continue
        failed = failed or status.state == "ahead of the code"
        rows.append(_row(status))
    output.table(("database", "revision", "code head", "state"), rows)
    if api_status.current is None:
        print("the API database is empty: run 'reqspec-manage db sync'")
    return 1 if failed else 0


def _row(status: migration.Status) -> tuple[str, str, str, str]:
    return (status.label, status.current or "-", status.head, status.state)
