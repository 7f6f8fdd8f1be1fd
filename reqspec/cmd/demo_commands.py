"""reqspec-manage demo: two cells on SQLite, servers booted and moved;
with ``--transport-url``, by conductor and scheduler services."""

import argparse
import fnmatch
import json
import os
import secrets
import tempfile
import textwrap
from typing import Any

from reqspec import conf
from reqspec import context
from reqspec import demo
from reqspec import exception
from reqspec import rpc
from reqspec.cmd import launcher
from reqspec.cmd import output
from reqspec.conductor import api as conductor_api
from reqspec.conductor import rpcapi
from reqspec.db import engines
from reqspec.db import migration
from reqspec.objects import CellMapping

CONF = conf.CONF

#: Marks a directory as a demo's, so running the demo again may clear it.
MARKER = ".reqspec-demo"
_OURS = (
    MARKER,
    "*.sqlite",
    "*.sqlite-wal",
    "*.sqlite-shm",
    "*.sqlite-journal",
    "services.conf",
    "*.log",
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
    parser.add_argument(
        "--transport-url",
        dest="demo_transport_url",
        metavar="URL",
        help="Run the story through two reqspec-conductor processes and "
        "one reqspec-scheduler started on this message bus (e.g. "
        "rabbit://guest:guest@127.0.0.1:5672/), against the databases of "
        "--config-file when it names an API database (cells cell1 and "
        "cell2 registered, no hosts yet), else on SQLite in --state-dir.",
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
    if args.demo_transport_url:
        report = _over_services(args.demo_transport_url, state_dir)
    else:
        report = _in_process(state_dir)
    if args.demo_json:
        document = {"state_dir": state_dir, **report.to_dict()}
        print(json.dumps(document, indent=2, sort_keys=True))
    else:
        _print(report, state_dir)
    return 0


def _sqlite_urls(state_dir: str) -> tuple[str, dict[str, str]]:
    api_url = engines.sqlite_url(os.path.join(state_dir, "api.sqlite"))
    cell_urls = {
        name: engines.sqlite_url(
            os.path.join(state_dir, f"cell-{name}.sqlite")
        )
        for name in CELLS
    }
    return api_url, cell_urls


def _in_process(state_dir: str) -> demo.DemoReport:
    api_url, cell_urls = _sqlite_urls(state_dir)
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
        return demo.run(ctx, cells)
    finally:
        CONF.clear_override("connection", group="api_database")
        for url in (api_url, *cell_urls.values()):
            engines.dispose(url)


def _over_services(transport_url: str, state_dir: str) -> demo.DemoReport:
    """The same story, with two conductors and a scheduler as processes
    of their own; the databases are the configured ones if any."""
    api_url = CONF.api_database.connection
    own_sqlite = not api_url
    if own_sqlite:
        api_url, cell_urls = _sqlite_urls(state_dir)
        CONF.set_override("connection", api_url, group="api_database")
    # Topics of this run only, so that nothing else on the bus (another
    # demo, a real deployment) takes or sends its messages.
    token = secrets.token_hex(4)
    topics = {
        "conductor": f"reqspec-conductor-demo-{token}",
        "scheduler": f"reqspec-scheduler-demo-{token}",
    }
    for group, topic in topics.items():
        CONF.set_override("topic", topic, group=group)
    CONF.set_override("transport_url", transport_url)
    try:
        migration.db_sync("api", api_url, label="the API database")
        ctx = context.get_admin_context()
        if own_sqlite:
            cells = demo.register_cells(ctx, cell_urls)
        else:
            cells = _configured_cells(ctx)
        for cell in cells:
            migration.db_sync(
                "cell", cell.database_connection, label=cell.identity
            )
        config = launcher.write_config(
            os.path.join(state_dir, "services.conf"),
            {
                "DEFAULT": {"transport_url": transport_url},
                "api_database": {"connection": api_url},
                "conductor": {"topic": topics["conductor"]},
                "scheduler": {"topic": topics["scheduler"]},
            },
        )
        with launcher.Services(config, state_dir) as services:
            services.start("scheduler")
            services.start("conductor")
            services.start("conductor")
            services.wait_ready()
            remote = conductor_api.RemoteConductor(rpcapi.ComputeTaskAPI())
            report = demo.run(ctx, cells, remote)
            codes = services.stop()
        if any(code != 0 for code in codes.values()):
            raise exception.ReqspecError(
                f"a service did not stop cleanly (exit codes {codes}); see "
                f"the logs in {state_dir}"
            )
        return report
    finally:
        rpc.cleanup()
        for group in topics:
            CONF.clear_override("topic", group=group)
        CONF.clear_override("transport_url")
        if own_sqlite:
            CONF.clear_override("connection", group="api_database")
        engines.dispose_all()


def _configured_cells(ctx: context.RequestContext) -> list[CellMapping]:
    try:
        return [CellMapping.get_by_name(ctx, name) for name in CELLS]
    except exception.CellMappingNotFound:
        raise exception.ReqspecError(
            "the demo on configured databases needs cells named "
            + " and ".join(CELLS)
            + ": run 'reqspec-manage cell create --name NAME --connection "
            "URL' for each"
        ) from None


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
