"""Benchmark: a multi-create built in batches against one build per server.

    python benchmarks/builds.py            # SQLite files and PostgreSQL
    python benchmarks/builds.py --backend sqlite --runs 5 --json

Each run has fresh, migrated databases (the API database and two cells,
50 hosts each; durability as the library configures it: SQLite WAL with
``synchronous=FULL``, PostgreSQL defaults) and the reference scheduler.
In the same run and process, ``--count`` servers of one request
(``compute_api.create_servers``) are built one by one with
``build_server``, then ``--count`` more with one ``build_servers`` call.
Both go from unscheduled specs in the API database to servers and specs
in their cells, every claim checked.

Printed per backend, as min / median / max over ``--runs`` runs: one
build per server (ms), ``build_servers`` per server (ms), the speedup,
``build_servers`` servers per second, and ``create_servers`` servers per
second (recording the request; not part of the targets). Targets, checked
on the medians: a speedup of at least 5x and at least 1,000 servers per
second; exit 1 on a miss. The machine is shared: compare the figures of
one run, not runs on different days.
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

from reqspec import compute_api  # noqa: E402
from reqspec import conf  # noqa: E402
from reqspec import context  # noqa: E402
from reqspec import objects  # noqa: E402
from reqspec.conductor import build  # noqa: E402
from reqspec.conf import settings as conf_settings  # noqa: E402
from reqspec.db import engines  # noqa: E402
from reqspec.db import migration  # noqa: E402

POSTGRESQL_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
CELLS = 2
HOSTS_PER_CELL = 50
#: build_servers over build_server, per server, at least.
SPEEDUP_TARGET = 5.0
#: build_servers, servers per second, at least.
RATE_TARGET = 1000.0


@contextlib.contextmanager
def databases(backend: str, admin_url: str) -> Iterator[list[str]]:
    """Fresh URLs for the API database and each cell, migrated; dropped
    afterwards."""
    names = ["api"] + [f"cell{i + 1}" for i in range(CELLS)]
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="reqspec-builds-") as tmp:
            urls = [
                conf_settings.sqlite_url(os.path.join(tmp, f"{n}.sqlite"))
                for n in names
            ]
            _migrate(urls)
            try:
                yield urls
            finally:
                engines.dispose_all()
        return
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    token = secrets.token_hex(4)
    db_names = [f"reqspec_builds_{token}_{n}" for n in names]
    base = sa.engine.make_url(admin_url)
    try:
        with admin.connect() as conn:
            for name in db_names:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        urls = [
            base.set(database=n).render_as_string(hide_password=False)
            for n in db_names
        ]
        _migrate(urls)
        yield urls
    finally:
        engines.dispose_all()
        with admin.connect() as conn:
            for name in db_names:
                conn.exec_driver_sql(
                    f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
                )
        admin.dispose()


def _migrate(urls: list[str]) -> None:
    migration.db_sync("api", urls[0])
    for url in urls[1:]:
        migration.db_sync("cell", url)


def _cloud(urls: list[str]) -> context.RequestContext:
    conf.CONF.set_override("connection", urls[0], group="api_database")
    ctx = context.get_admin_context()
    for i, url in enumerate(urls[1:], start=1):
        cell = objects.CellMapping(
            ctx, name=f"cell{i}", database_connection=url
        )
        cell.create()
        with context.target_cell(ctx, cell) as cctx:
            for h in range(HOSTS_PER_CELL):
                name = f"c{i}-compute-{h:02d}"
                objects.ComputeNode(
                    cctx,
                    host=name,
                    node=name,
                    availability_zone="az-1",
                    architecture="x86_64",
                    hypervisor_type="kvm",
                    vcpus=256,
                    memory_mb=1024 * 1024,
                    local_gb=100_000,
                ).create()
    return ctx


def _request() -> dict[str, Any]:
    """What a user asks for: a realistic flavor and image, a zone,
    hints and security groups (no server group: 1,000 anti-affine
    servers do not fit on 100 hosts)."""
    return {
        "flavor": objects.Flavor(
            flavorid="m1.small",
            name="m1.small",
            vcpus=1,
            memory_mb=2048,
            root_gb=20,
            extra_specs={
                "hw:cpu_policy": "shared",
                "quota:disk_read_iops_sec": "5000",
                "hw:watchdog_action": "reset",
                "hw:mem_page_size": "small",
            },
        ),
        "image": {
            "id": "3f1c6a52-4c35-4d55-9a36-6b1e2c5b8d10",
            "name": "ubuntu-24.04",
            "size": 2361393152,
            "min_ram": 512,
            "min_disk": 10,
            "disk_format": "qcow2",
            "container_format": "bare",
            "properties": {
                "hw_architecture": "x86_64",
                "img_hv_type": "kvm",
                "hw_machine_type": "q35",
                "hw_firmware_type": "uefi",
                "hw_disk_bus": "virtio",
                "hw_vif_model": "virtio",
                "hw_qemu_guest_agent": "yes",
                "os_distro": "ubuntu",
                "os_type": "linux",
            },
        },
        "availability_zone": "az-1",
        "scheduler_hints": {"build_near_host_ip": "10.0.0.1"},
        "security_groups": ["default", "web"],
    }


def one_run(backend: str, admin_url: str, count: int) -> dict[str, float]:
    with databases(backend, admin_url) as urls:
        ctx = _cloud(urls)
        request = _request()
        singles = compute_api.create_servers(ctx, count, **request)
        start = time.perf_counter()
        for uuid in singles:
            build.build_server(ctx, uuid)
        single_s = time.perf_counter() - start

        start = time.perf_counter()
        batch = compute_api.create_servers(ctx, count, **request)
        create_s = time.perf_counter() - start
        start = time.perf_counter()
        results = build.build_servers(ctx, batch)
        batch_s = time.perf_counter() - start
        if not all(r.built for r in results):
            raise SystemExit("build_servers left servers unbuilt")
    return {
        "single_ms_per_server": single_s / count * 1e3,
        "batch_ms_per_server": batch_s / count * 1e3,
        "speedup": single_s / batch_s,
        "batch_servers_per_second": count / batch_s,
        "create_servers_per_second": count / create_s,
    }


FIGURES = (
    ("single_ms_per_server", "build_server, ms per server", ".2f"),
    ("batch_ms_per_server", "build_servers, ms per server", ".3f"),
    ("speedup", "speedup (per server)", ".1f"),
    ("batch_servers_per_second", "build_servers, servers/s", ".0f"),
    ("create_servers_per_second", "create_servers, servers/s", ".0f"),
)


def summarize(runs: list[dict[str, float]]) -> dict[str, Any]:
    spread = {
        key: {
            "min": min(r[key] for r in runs),
            "median": statistics.median(r[key] for r in runs),
            "max": max(r[key] for r in runs),
        }
        for key, _, _ in FIGURES
    }
    checks = {
        f"speedup >= {SPEEDUP_TARGET:g}x": spread["speedup"]["median"]
        >= SPEEDUP_TARGET,
        f"build_servers >= {RATE_TARGET:g} servers/s": spread[
            "batch_servers_per_second"
        ]["median"]
        >= RATE_TARGET,
    }
    return {"runs": runs, "spread": spread, "checks": checks}


def render(backend: str, count: int, summary: dict[str, Any]) -> str:
    runs = len(summary["runs"])
    lines = [
        f"== {backend}: {count} servers each way, {runs} run(s), "
        f"{CELLS} cells x {HOSTS_PER_CELL} hosts ==",
        f"{'figure':<30}{'min':>10}{'median':>10}{'max':>10}",
    ]
    for key, label, fmt in FIGURES:
        s = summary["spread"][key]
        lines.append(
            f"{label:<30}{s['min']:>10{fmt}}{s['median']:>10{fmt}}"
            f"{s['max']:>10{fmt}}"
        )
    lines.append(
        "targets (medians): "
        + ", ".join(
            f"{check} {'ok' if ok else 'MISSED'}"
            for check, ok in summary["checks"].items()
        )
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--backend",
        action="append",
        choices=("sqlite", "postgresql"),
        help="repeat for several (default: sqlite and postgresql)",
    )
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgresql-url", default=POSTGRESQL_ADMIN_URL)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--no-check",
        action="store_true",
        help="exit 0 even when a target is missed",
    )
    args = parser.parse_args(argv)
    conf.CONF([], project="reqspec", default_config_files=[])
    results = {}
    for backend in args.backend or ["sqlite", "postgresql"]:
        runs = []
        for n in range(args.runs):
            print(f"{backend}: run {n + 1}/{args.runs}", file=sys.stderr)
            runs.append(one_run(backend, args.postgresql_url, args.count))
        results[backend] = summarize(runs)
    if args.json:
        print(json.dumps({"count": args.count, "backends": results}, indent=2))
    else:
        print(
            "\n\n".join(render(b, args.count, s) for b, s in results.items())
        )
    met = all(ok for s in results.values() for ok in s["checks"].values())
    return 0 if met or args.no_check else 1


if __name__ == "__main__":
    sys.exit(main())
