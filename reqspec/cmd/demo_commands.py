"""reqspec-manage demo: two cells on SQLite, servers booted and moved."""

import argparse
import fnmatch
import json
import os
import tempfile
import textwrap
from typing import Any

from reqspec import conf
from reqspec import context
from reqspec import exception
from reqspec.cmd import output
from reqspec.db import engines
from reqspec.db import migration
from reqspec.lifecycle import demo

CONF = conf.CONF

#: Marks a directory as a demo's, so running the demo again may clear it.
MARKER = ".reqspec-demo"
_OURS = (
    MARKER,
    "*.sqlite",
    "*.sqlite-wal",
    "*.sqlite-shm",
    "*.sqlite-journal",
)
CELLS = ("cell1", "cell2")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="Boot and move servers across two cells on embedded SQLite "
        "and show where each spec lives and why each host was chosen.",
    )
    # dest names are prefixed, see reqspec.cmd.db_commands.
    parser.add_argument(
        "--state-dir",
        dest="demo_state_dir",
        metavar="DIR",
        help="Directory for the databases (default: a new directory under "
        "the system's temporary directory). It must be empty, new, or a "
        "previous demo's, which is cleared.",
    )
    parser.add_argument(
        "--json",
        dest="demo_json",
        action="store_true",
        help="Print one JSON document instead of tables.",
    )
    parser.set_defaults(action_fn=demo_command)


def prepare_state_dir(path: str | None) -> str:
    """A new or empty directory, or a previous demo's, emptied."""
    if path is None:
        path = tempfile.mkdtemp(prefix="reqspec-demo-")
    else:
        path = os.path.abspath(path)
        if os.path.exists(path) and not os.path.isdir(path):
            raise exception.ReqspecError(f"{path} is not a directory")
        os.makedirs(path, exist_ok=True)
        entries = os.listdir(path)
        if entries:
            ours = [e for e in entries if _is_ours(e)]
            if MARKER not in entries or len(ours) != len(entries):
                raise exception.DemoStateDirInUse(path=path)
            for entry in ours:
                os.remove(os.path.join(path, entry))
    with open(os.path.join(path, MARKER), "w") as marker:
        marker.write("made by reqspec-manage demo; it may clear it again\n")
    return path


def _is_ours(entry: str) -> bool:
    return any(fnmatch.fnmatch(entry, pattern) for pattern in _OURS)


def demo_command(args: argparse.Namespace) -> int:
    state_dir = prepare_state_dir(args.demo_state_dir)
    api_url = engines.sqlite_url(os.path.join(state_dir, "api.sqlite"))
    cell_urls = {
        name: engines.sqlite_url(
            os.path.join(state_dir, f"cell-{name}.sqlite")
        )
        for name in CELLS
    }
    # Whatever the configuration says, the demo never touches a real
    # database: it runs on the files it just made.
    CONF.set_override("connection", api_url, group="api_database")
    try:
        migration.db_sync("api", api_url, label="the API database")
        ctx = context.get_admin_context()
        cells = demo.register_cells(ctx, cell_urls)
        for cell in cells:
            migration.db_sync(
                "cell", cell.database_connection, label=cell.identity
            )
        report = demo.run(ctx, cells)
    finally:
        CONF.clear_override("connection", group="api_database")
        for url in (api_url, *cell_urls.values()):
            engines.dispose(url)
    if args.demo_json:
        document = {"state_dir": state_dir, **report.to_dict()}
        print(json.dumps(document, indent=2, sort_keys=True))
    else:
        _print(report, state_dir)
    return 0


def _print(report: demo.DemoReport, state_dir: str) -> None:
    print("What happened (and why each host was chosen):\n")
    for i, event in enumerate(report.events, start=1):
        line = f"{i:2}. {event.server:<9} {event.action:<20} {event.result}"
        print(line.rstrip())
        if event.why:
            print(
                textwrap.fill(
                    event.why,
                    76,
                    initial_indent=" " * 7,
                    subsequent_indent=" " * 7,
                )
            )
    print("\nWhere each spec lives now:\n")
    output.table(
        (
            "server",
            "status",
            "spec in",
            "host",
            "zone (asked)",
            "flavor",
            "group",
            "placed by",
        ),
        [
            (
                s["name"],
                s["status"],
                s["cell"],
                s["host"],
                f"{s['host_availability_zone']} "
                f"({s['availability_zone'] or '-'})",
                s["flavor"],
                s["policy"] or "-",
                f"{s['placed_by']['event']}. {s['placed_by']['action']}",
            )
            for s in report.servers
        ],
    )
    print("(placed by: the numbered operation above, with its reasons)")
    print(f"\nThe databases are in {state_dir}")
    print("(api.sqlite, cell-cell1.sqlite, cell-cell2.sqlite).")
