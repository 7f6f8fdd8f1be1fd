"""reqspec-manage cell: register and list cell databases."""

import argparse
import os
from typing import Any

from reqspec import conf
from reqspec import context
from reqspec.cmd import output
from reqspec.db import engines
from reqspec.objects import CellMapping

CONF = conf.CONF


def register(subparsers: Any) -> None:
    cell = subparsers.add_parser("cell", help="Cell mapping commands.")
    commands = cell.add_subparsers(dest="cell_command", metavar="COMMAND")
    commands.required = True

    create = commands.add_parser("create", help="Register a cell database.")
    # dest names are prefixed: the parsed namespace's own "name" is the
    # command's name.
    create.add_argument(
        "--name", dest="cell_name", required=True, help="Unique cell name."
    )
    create.add_argument(
        "--connection",
        dest="cell_connection",
        metavar="URL",
        help="SQLAlchemy URL of the cell database (default: [database] "
        "connection, else an SQLite file in the state directory).",
    )
    create.set_defaults(action_fn=create_command)

    listing = commands.add_parser("list", help="List the cells.")
    listing.set_defaults(action_fn=list_command)


def default_connection(name: str) -> str:
    url: str | None = CONF.database.connection
    if url:
        return url
    return engines.sqlite_url(
        os.path.join(CONF.state_path, f"cell-{name}.sqlite")
    )


def create_command(args: argparse.Namespace) -> int:
    ctx = context.get_admin_context()
    cell = CellMapping(
        ctx,
        name=args.cell_name,
        database_connection=(
            args.cell_connection or default_connection(args.cell_name)
        ),
    )
    cell.create()
    print(f"created {cell.identity} at {cell.masked_connection}")
    print(f"next: reqspec-manage db sync --database cell --cell {cell.name}")
    return 0


def list_command(args: argparse.Namespace) -> int:
    cells = CellMapping.get_all(context.get_admin_context())
    output.table(
        ("name", "uuid", "database"),
        [(c.name, c.uuid, c.masked_connection) for c in cells],
    )
    return 0
