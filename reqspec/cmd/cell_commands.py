"""reqspec-manage cell: register, list, change and remove cell databases.

What ``cell create`` and ``cell update --connection`` check before saving:
always that the name is not empty and the connection is an SQLAlchemy URL
naming a database; unless ``--no-verify``, also that its driver is
installed here and that the database answers (a server database must
exist; an SQLite file may be missing if its directory exists, since
``db sync`` creates it). ``--no-verify`` is for a database that is not up
yet, or whose driver is installed only where the services run.
"""

import argparse
import os
from typing import Any

from reqspec import conf
from reqspec import context
from reqspec import exception
from reqspec.cmd import databases
from reqspec.cmd import output
from reqspec.conf import settings as conf_settings
from reqspec.db import urls
from reqspec.objects import CellMapping

CONF = conf.CONF


def _verify_option(parser: Any) -> None:
    parser.add_argument(
        "--no-verify",
        dest="cell_no_verify",
        action="store_true",
        help="Save the connection without loading its driver or "
        "connecting to it (it must still be a database URL).",
    )


def _cell_argument(parser: Any) -> None:
    parser.add_argument(
        "cell_ref", metavar="CELL", help="The cell's name or uuid."
    )


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
    _verify_option(create)
    create.set_defaults(action_fn=create_command)

    listing = commands.add_parser("list", help="List the cells.")
    listing.set_defaults(action_fn=list_command)

    update = commands.add_parser(
        "update", help="Rename a cell or change its database URL."
    )
    _cell_argument(update)
    update.add_argument("--name", dest="cell_name", help="New name.")
    update.add_argument(
        "--connection",
        dest="cell_connection",
        metavar="URL",
        help="New SQLAlchemy URL of the cell database.",
    )
    _verify_option(update)
    update.set_defaults(action_fn=update_command)

    delete = commands.add_parser(
        "delete",
        help="Remove a cell mapping that holds no servers (its database "
        "is left as it is).",
    )
    _cell_argument(delete)
    delete.set_defaults(action_fn=delete_command)


def default_connection(name: str) -> str:
    settings = conf_settings.get_default()
    url = settings.database.default_cell_connection
    if url:
        return url
    return conf_settings.sqlite_url(
        os.path.join(settings.state_path, f"cell-{name}.sqlite")
    )


def _verify(args: argparse.Namespace, name: str, url: str) -> None:
    label = f"cell {name}"
    if args.cell_no_verify:
        urls.parse(url, label)
    else:
        urls.verify(url, label, may_create=True)


def _find(ctx: context.RequestContext, ref: str) -> CellMapping:
    try:
        return CellMapping.get_by_uuid(ctx, ref)
    except (exception.Invalid, exception.CellMappingNotFound):
        return CellMapping.get_by_name(ctx, ref)


def create_command(args: argparse.Namespace) -> int:
    databases.api_url()
    ctx = context.get_admin_context()
    name = args.cell_name
    url = args.cell_connection or default_connection(name)
    cell = CellMapping(ctx, name=name, database_connection=url)
    cell.validate()  # the name and URL shape, before connecting anywhere
    _verify(args, name, url)
    cell.create()
    print(f"created {cell.identity} at {cell.masked_connection}")
    print(f"next: reqspec-manage db sync --database cell --cell {cell.name}")
    return 0


def list_command(args: argparse.Namespace) -> int:
    databases.api_url()
    cells = CellMapping.get_all(context.get_admin_context())
    output.table(
        ("name", "uuid", "database"),
        [(c.name, c.uuid, c.masked_connection) for c in cells],
    )
    return 0


def update_command(args: argparse.Namespace) -> int:
    if args.cell_name is None and args.cell_connection is None:
        raise exception.Invalid(reason="give --name and/or --connection")
    databases.api_url()
    cell = _find(context.get_admin_context(), args.cell_ref)
    if args.cell_name is not None:
        cell.name = args.cell_name
    if args.cell_connection is not None:
        cell.database_connection = args.cell_connection
        cell.validate()
        _verify(args, cell.name, args.cell_connection)
    cell.save()
    print(f"updated {cell.identity} at {cell.masked_connection}")
    return 0


def delete_command(args: argparse.Namespace) -> int:
    databases.api_url()
    cell = _find(context.get_admin_context(), args.cell_ref)
    mapped, stored = cell.server_counts()
    cell.destroy()
    print(f"deleted {cell.identity}")
    if stored is None and not mapped:
        print(
            "its database could not be read, so only the instance mappings "
            "were checked for servers"
        )
    return 0
