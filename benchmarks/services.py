"""Benchmark: end-to-end builds per second through conductor services.

    python benchmarks/services.py                    # PostgreSQL
    python benchmarks/services.py --database-url mysql+pymysql://root@db1:3306/
    python benchmarks/services.py --json --count 100 --rounds 2

Each ``--database-url`` is the admin URL of a database server (one figure
set per server; give several to compare, e.g. PostgreSQL and a Galera
cluster's HAProxy): every run creates its own API and two cell databases
there, migrates them, and drops them afterwards.

Per run, ``--count`` servers are recorded through the compute API, then
built:

* in-process: one thread calling ``build_server`` for each, no broker
  (the embedded default, and the baseline the services are measured
  against);
* over RabbitMQ with 1, 2 and 4 ``reqspec-conductor`` processes (and one
  ``reqspec-scheduler``): every build cast at once, timed until the last
  server is in a cell.

Also measured: RPC round trips per second to a conductor (``ping``), the
floor the wire sets on one caller. Each figure is the median over
``--rounds`` runs, with the lowest and highest. The machine is shared
and has few cores: compare figures of one run, not across machines.
"""

import argparse
from collections.abc import Iterator
import contextlib
import json
import os
import pathlib
import secrets
import statistics
import sys
import tempfile
import time
from typing import Any

import sqlalchemy as sa

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

POSTGRESQL_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
TRANSPORT_URL = "rabbit://guest:guest@127.0.0.1:5672/"
BIG_HOST = {"vcpus": 10_000, "memory_mb": 10_000_000, "local_gb": 1_000_000}


@contextlib.contextmanager
def databases(admin_url: str) -> Iterator[tuple[str, list[str]]]:
    """Fresh API and two cell databases on the server of ``admin_url``,
    migrated to head, dropped afterwards."""
    from reqspec.db import engines
    from reqspec.db import migration

    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    quote = admin.dialect.identifier_preparer.quote
    token = secrets.token_hex(4)
    names = [f"reqspec_svcbench_{token}_{db}" for db in ("api", "c1", "c2")]
    base = sa.engine.make_url(admin_url)
    urls = [
        base.set(database=name).render_as_string(hide_password=False)
        for name in names
    ]
    force = " WITH (FORCE)" if admin.dialect.name == "postgresql" else ""
    try:
        with admin.connect() as conn:
            for name in names:
                conn.exec_driver_sql(f"CREATE DATABASE {quote(name)}")
        migration.db_sync("api", urls[0])
        for url in urls[1:]:
            migration.db_sync("cell", url)
        yield urls[0], urls[1:]
    finally:
        engines.dispose_all()
        with admin.connect() as conn:
            for name in names:
                conn.exec_driver_sql(
                    f"DROP DATABASE IF EXISTS {quote(name)}{force}"
                )
        admin.dispose()


def _prepare(api_url: str, cell_urls: list[str], count: int) -> list[str]:
    """Register the cells and hosts, record ``count`` servers."""
    from reqspec import compute_api
    from reqspec import conf
    from reqspec import context
    from reqspec.objects import CellMapping
    from reqspec.objects import ComputeNode
    from reqspec.objects import Flavor

    conf.CONF.set_override("connection", api_url, group="api_database")
    ctx = context.get_admin_context()
    for i, url in enumerate(cell_urls, start=1):
        cell = CellMapping(ctx, name=f"cell{i}", database_connection=url)
        cell.create()
        with context.target_cell(ctx, cell) as cctx:
            for h in range(4):
                ComputeNode(
                    cctx,
                    host=f"c{i}-h{h}",
                    node=f"c{i}-h{h}",
                    availability_zone="az-1",
                    architecture="x86_64",
                    hypervisor_type="kvm",
                    **BIG_HOST,
                ).create()
    flavor = Flavor(
        flavorid="1", name="m1.small", vcpus=1, memory_mb=512, root_gb=1
    )
    image = {"name": "cirros", "properties": {"hw_architecture": "x86_64"}}
    return [
        compute_api.create_server(ctx, flavor=flavor, image=image)
        for _ in range(count)
    ]


def _in_process(uuids: list[str]) -> float:
    from reqspec import context
    from reqspec.conductor import build

    ctx = context.get_admin_context()
    start = time.perf_counter()
    for uuid in uuids:
        build.build_server(ctx, uuid)
    return len(uuids) / (time.perf_counter() - start)


def _pending() -> tuple[int, int]:
    """Servers still waiting (no cell, or a move recorded), and those
    whose build failed (no cell, a fault)."""
    from reqspec import context
    from reqspec.objects import InstanceMapping

    ctx = context.get_admin_context()
    waiting = failed = 0
    for m in InstanceMapping.get_all(ctx):
        if m.moving or (m.cell_mapping is None and not m.fault):
            waiting += 1
        elif m.cell_mapping is None:
            failed += 1
    return waiting, failed


def _over_services(
    api_url: str,
    uuids: list[str],
    conductors: int,
    transport_url: str,
    pings: int,
) -> dict[str, float]:
    from reqspec import conf
    from reqspec import context
    from reqspec import rpc
    from reqspec.cmd import launcher
    from reqspec.conductor import rpcapi

    token = secrets.token_hex(4)
    sections: dict[str, dict[str, Any]] = {
        "DEFAULT": {"transport_url": transport_url},
        "api_database": {"connection": api_url},
        # A build lost to an RPC timeout (an overloaded machine) is
        # rebuilt by heal after this long, and counts in the time.
        "conductor": {
            "topic": f"reqspec-bench-c-{token}",
            "heal_interval": 2,
            "heal_after": 20,
        },
        "scheduler": {"topic": f"reqspec-bench-s-{token}"},
    }
    for group, values in sections.items():
        for name, value in values.items():
            conf.CONF.set_override(
                name, value, group=None if group == "DEFAULT" else group
            )
    ctx = context.get_admin_context()
    with tempfile.TemporaryDirectory(prefix="reqspec-svcbench-") as tmp:
        config = launcher.write_config(os.path.join(tmp, "c.conf"), sections)
        with launcher.Services(config, tmp) as services:
            services.start("scheduler")
            for _ in range(conductors):
                services.start("conductor")
            services.wait_ready()
            api = rpcapi.ComputeTaskAPI()
            start = time.perf_counter()
            for _ in range(pings):
                api.ping(ctx)
            ping_rate = pings / (time.perf_counter() - start)
            start = time.perf_counter()
            for uuid in uuids:
                api.build_server(ctx, uuid)
            # A failed build, or one lost and not rebuilt by heal, would
            # leave the count stuck: give up after 90 s without progress,
            # saying how many.
            last, stalled_since = -1, time.monotonic()
            while (counts := _pending()) != (0, 0):
                if counts[0] == 0:
                    raise SystemExit(f"{counts[1]} build(s) failed")
                if counts[0] != last:
                    last, stalled_since = counts[0], time.monotonic()
                elif time.monotonic() - stalled_since > 90:
                    raise SystemExit(
                        f"{counts[0]} build(s) made no progress for 90 s "
                        f"({counts[1]} failed)"
                    )
                time.sleep(0.1)
            rate = len(uuids) / (time.perf_counter() - start)
            codes = services.stop()
    rpc.cleanup()
    if any(code != 0 for code in codes.values()):
        raise SystemExit(f"a service did not stop cleanly: {codes}")
    return {"builds_per_s": rate, "pings_per_s": ping_rate}


def run_once(
    admin_url: str, mode: str, count: int, transport_url: str, pings: int
) -> dict[str, float]:
    from reqspec import conf
    from reqspec.db import engines

    with databases(admin_url) as (api_url, cell_urls):
        try:
            uuids = _prepare(api_url, cell_urls, count)
            if mode == "in-process":
                return {"builds_per_s": _in_process(uuids)}
            result = _over_services(
                api_url, uuids, int(mode.split()[0]), transport_url, pings
            )
            if _pending() != (0, 0):
                raise SystemExit("a server was left unbuilt")
            return result
        finally:
            engines.dispose_all()
            conf.CONF.reset()


def spread(values: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url",
        action="append",
        metavar="ADMIN_URL",
        help="Admin URL of a database server (repeatable; default: "
        "PostgreSQL on 127.0.0.1).",
    )
    parser.add_argument("--transport-url", default=TRANSPORT_URL)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--pings", type=int, default=200, help="RPC round trips timed."
    )
    parser.add_argument(
        "--conductors", default="1,2,4", help="Comma-separated counts."
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from reqspec import conf

    conf.CONF([], project="reqspec", default_config_files=[])
    modes = ["in-process"] + [
        f"{n} conductor{'s' if n > 1 else ''}"
        for n in (int(c) for c in args.conductors.split(","))
    ]
    summary: dict[str, Any] = {
        "count": args.count,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "servers": {},
    }
    for admin_url in args.database_url or [POSTGRESQL_ADMIN_URL]:
        label = sa.engine.make_url(admin_url).render_as_string(
            hide_password=True
        )
        runs: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
        for _ in range(args.rounds):
            for mode in modes:
                runs[mode].append(
                    run_once(
                        admin_url,
                        mode,
                        args.count,
                        args.transport_url,
                        args.pings,
                    )
                )
        figures = {
            mode: spread([r["builds_per_s"] for r in results])
            for mode, results in runs.items()
        }
        pings = [r["pings_per_s"] for m in modes[1:] for r in runs[m]]
        summary["servers"][label] = {
            "builds_per_s": figures,
            "pings_per_s": spread(pings) if pings else None,
            "runs": runs,
        }
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        print(render(summary))
    return 0


def render(summary: dict[str, Any]) -> str:
    lines = [
        f"{summary['count']} builds per run, {summary['rounds']} round(s), "
        f"{summary['cpus']} CPU(s); median [min - max]",
    ]
    for label, data in summary["servers"].items():
        lines += ["", label]
        base = data["builds_per_s"]["in-process"]["median"]
        for mode, f in data["builds_per_s"].items():
            lines.append(
                f"  {mode:<14} {f['median']:8.1f} builds/s "
                f"[{f['min']:.1f} - {f['max']:.1f}]  "
                f"x{f['median'] / base:.2f} of in-process"
            )
        if data["pings_per_s"]:
            p = data["pings_per_s"]
            lines.append(
                f"  RPC ping       {p['median']:8.1f} calls/s "
                f"[{p['min']:.1f} - {p['max']:.1f}] (one caller)"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
