"""Benchmark: loading a spec from its uuid alone, as cells are added.

    python benchmarks/cells.py                         # SQLite and PostgreSQL
    python benchmarks/cells.py --backend postgresql --specs-per-cell 20000

Builds a cloud of 10 cells (PostgreSQL: one database per cell; SQLite: one
file per cell) of ``--specs-per-cell`` stored specs each (100,000 by
default, loaded with bulk Core inserts of genuine encoded documents), with
every server's instance mapping in the API database. Then, in alternating
rounds, a fresh process per measurement looks servers up the way an API
or conductor does with nothing but a uuid: the instance mapping (API
database), then the spec from the cell it names. A process measuring
"n cells" looks up servers spread evenly over cells 1..n, so it reaches
n cell databases.

Plain SQLAlchemy Core makes the same lookups in the same rounds (its own
processes: the mapping joined to its cell's row, then the cell's spec,
parsed with the standard library's ``json``), so the table shows what
adding cells costs the databases and the machine whatever the client.

Printed per number of cells (1, 2, 5, 10): lookups per second (single
thread, after a warm-up pass over the same servers, so the figures are
the library's cost and not the disk's; the best of ``--passes`` passes
per process, as timeit does, then the median over ``--rounds``
processes: on a shared machine the slow passes measure the neighbours)
with p50 and p99 latencies over all passes, this process's CPU time per
lookup (the best pass: the library's own cost, without the time spent
waiting on the databases), the
ratio to 1 cell (and Core's lookups per second and ratio to its own 1
cell), the connections the databases count open right after a
burst of lookups from ``--threads`` threads and again after the pools'
idle timeout, and the process's resident set.

Targets (exit status 1 on a miss, unless ``--no-check``): 10 cells within
10% of 1 cell (ratio at least 0.90); no cell connection left open after
the idle timeout; the resident set of 10 cells within 10% of 1 cell's.
"""

import argparse
from collections.abc import Callable
from collections.abc import Iterator
import contextlib
import json
import os
import pathlib
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any
from typing import cast

import sqlalchemy as sa

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks import workload  # noqa: E402

POSTGRESQL_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
CELL_COUNTS = (1, 2, 5, 10)
BATCH = 2000
IDLE_TIMEOUT = 1.0
RATIO_TARGET = 0.90
RSS_GROWTH_LIMIT = 0.10


# -- the cloud -------------------------------------------------------------


@contextlib.contextmanager
def cloud(backend: str, cells: int) -> Iterator[tuple[str, list[str]]]:
    """An empty, migrated API database and ``cells`` cell databases."""
    from reqspec.conf import settings as conf_settings
    from reqspec.db import engines
    from reqspec.db import migration

    labels = ["api"] + [f"cell{i}" for i in range(1, cells + 1)]
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="reqspec-cells-") as tmp:
            urls = [
                conf_settings.sqlite_url(os.path.join(tmp, f"{label}.sqlite"))
                for label in labels
            ]
            _migrate(migration, urls)
            engines.dispose_all()
            yield urls[0], urls[1:]
        return
    admin = sa.create_engine(
        POSTGRESQL_ADMIN_URL, isolation_level="AUTOCOMMIT"
    )
    token = secrets.token_hex(4)
    names = [f"reqspec_cells_{token}_{label}" for label in labels]
    base = sa.engine.make_url(POSTGRESQL_ADMIN_URL)
    try:
        with admin.connect() as conn:
            for name in names:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        urls = [
            base.set(database=n).render_as_string(hide_password=False)
            for n in names
        ]
        _migrate(migration, urls)
        engines.dispose_all()
        yield urls[0], urls[1:]
    finally:
        engines.dispose_all()
        with admin.connect() as conn:
            for name in names:
                conn.exec_driver_sql(
                    f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
                )
        admin.dispose()


def _migrate(migration: Any, urls: list[str]) -> None:
    migration.db_sync("api", urls[0])
    for url in urls[1:]:
        migration.db_sync("cell", url)


def _loader(url: str) -> sa.engine.Engine:
    """A plain engine for loading (setup, not measured): SQLite without
    fsync, since only the lookups are timed."""
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _connect(dbapi_con: Any, record: Any) -> None:
            dbapi_con.execute("PRAGMA journal_mode=WAL")
            dbapi_con.execute("PRAGMA synchronous=OFF")

    return engine


def load(api_url: str, cell_urls: list[str], per_cell: int) -> float:
    """Register the cells and store ``per_cell`` specs in each, with
    their mappings; returns the seconds it took."""
    from reqspec import conf
    from reqspec import context
    from reqspec.db import api_models
    from reqspec.db import base
    from reqspec.db import cell_models
    from reqspec.db import engines
    from reqspec.objects import CellMapping

    start = time.perf_counter()
    conf.CONF.set_override("connection", api_url, group="api_database")
    ctx = context.get_admin_context()
    templates = [workload.realistic_spec(i) for i in range(20)]
    texts = [spec.to_document() for spec in templates]
    mappings = cast(sa.Table, api_models.InstanceMapping.__table__)
    specs = cast(sa.Table, cell_models.RequestSpec.__table__)
    api = _loader(api_url)
    now = base.utcnow()
    for c, url in enumerate(cell_urls):
        cell = CellMapping(ctx, name=f"cell{c + 1}", database_connection=url)
        cell.create()
        cell_engine = _loader(url)
        for first in range(c * per_cell, (c + 1) * per_cell, BATCH):
            last = min(first + BATCH, (c + 1) * per_cell)
            spec_rows, mapping_rows = [], []
            for i in range(first, last):
                template = templates[i % len(templates)]
                uuid = workload.instance_uuid(i)
                spec_rows.append(
                    {
                        "instance_uuid": uuid,
                        "project_id": template.project_id,
                        "instance_group_uuid": template.instance_group_uuid,
                        "generation": 1,
                        "created_at": now,
                        "spec": texts[i % len(texts)].replace(
                            template.instance_uuid, uuid
                        ),
                    }
                )
                mapping_rows.append(
                    {
                        "instance_uuid": uuid,
                        "project_id": template.project_id,
                        "cell_id": cell.id,
                        "created_at": now,
                    }
                )
            with cell_engine.begin() as conn:
                conn.execute(specs.insert(), spec_rows)
            with api.begin() as conn:
                conn.execute(mappings.insert(), mapping_rows)
        cell_engine.dispose()
    api.dispose()
    engines.dispose_all()
    return time.perf_counter() - start


# -- a measuring process ---------------------------------------------------


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def open_connections(urls: list[str]) -> int:
    """Connections to these databases as the databases count them (for
    SQLite files: this process's open descriptors of them)."""
    parsed = [sa.engine.make_url(u) for u in urls]
    if parsed[0].get_backend_name() == "sqlite":
        paths = {os.path.abspath(p.database or "") for p in parsed}
        count = 0
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                count += os.readlink(f"/proc/self/fd/{fd}") in paths
        return count
    admin = sa.create_engine(POSTGRESQL_ADMIN_URL, poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            return int(
                conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = ANY(:names)"
                    ),
                    {"names": [p.database for p in parsed]},
                ).scalar_one()
            )
    finally:
        admin.dispose()


def _reqspec_lookup(api_url: str) -> Callable[[str], str]:
    from reqspec import conf
    from reqspec import context
    from reqspec.objects import InstanceMapping
    from reqspec.objects import RequestSpec

    conf.CONF.set_override("connection", api_url, group="api_database")
    conf.CONF.set_override(
        "cell_pool_idle_timeout", IDLE_TIMEOUT, group="database"
    )
    ctx = context.get_admin_context()

    def lookup(uuid: str) -> str:
        mapping = InstanceMapping.get_by_instance_uuid(ctx, uuid)
        with context.target_cell(ctx, mapping.cell_mapping) as cctx:
            spec = RequestSpec.get_by_instance_uuid(cctx, uuid)
        return str(spec.instance_uuid)

    return lookup


def _core_lookup(api_url: str) -> Callable[[str], str]:
    """The same lookup in plain Core: a pooled engine per database."""
    from benchmarks import core_impl
    from reqspec.db import api_models

    mappings = cast(sa.Table, api_models.InstanceMapping.__table__)
    cells = cast(sa.Table, api_models.CellMapping.__table__)
    where = sa.select(cells.c.database_connection).select_from(
        mappings.join(cells, mappings.c.cell_id == cells.c.id)
    )
    where = where.where(mappings.c.instance_uuid == sa.bindparam("uuid"))
    spec = sa.select(core_impl.table.c.spec).where(
        core_impl.table.c.instance_uuid == sa.bindparam("uuid")
    )
    api = core_impl.engine(api_url)
    engines: dict[str, sa.engine.Engine] = {}

    def lookup(uuid: str) -> str:
        with api.begin() as conn:
            url = conn.execute(where, {"uuid": uuid}).scalar_one()
        engine = engines.get(url)
        if engine is None:
            engine = engines[url] = core_impl.engine(url)
        with engine.begin() as conn:
            document = json.loads(
                conn.execute(spec, {"uuid": uuid}).scalar_one()
            )
        return str(document["spec"]["instance_uuid"])

    return lookup


def work(args: argparse.Namespace) -> int:
    cell_urls = args.cell_url
    rng = random.Random(args.seed)
    uuids = [
        workload.instance_uuid(
            (i % len(cell_urls)) * args.per_cell + rng.randrange(args.per_cell)
        )
        for i in range(args.lookups)
    ]
    core = args.impl == "core"
    lookup = (_core_lookup if core else _reqspec_lookup)(args.api_url)

    for uuid in uuids:  # warm-up: the same servers, into the caches
        assert lookup(uuid) == uuid
    latencies = []
    best = 0.0
    cpu = float("inf")
    for _ in range(args.passes):
        start, cpu_start = time.perf_counter(), time.process_time()
        for uuid in uuids:
            t0 = time.perf_counter()
            lookup(uuid)
            latencies.append(time.perf_counter() - t0)
        best = max(best, len(uuids) / (time.perf_counter() - start))
        cpu = min(cpu, (time.process_time() - cpu_start) / len(uuids))
    latencies.sort()
    timed = {
        "ops": best,
        "p50_us": latencies[len(latencies) // 2] * 1e6,
        "p99_us": latencies[int(len(latencies) * 0.99)] * 1e6,
        "cpu_us": cpu * 1e6,
    }
    if core:
        # Only the speed: the floor has no pools to bound or reap.
        print(json.dumps(timed))
        return 0

    def burst(part: list[str]) -> None:
        for uuid in part:
            lookup(uuid)

    threads = [
        threading.Thread(target=burst, args=(uuids[i :: args.threads],))
        for i in range(args.threads)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    busy = open_connections(cell_urls)
    rss = _rss_mib()
    # The reaper looks every quarter of the timeout: give it ten.
    deadline = time.monotonic() + IDLE_TIMEOUT * 10
    idle = open_connections(cell_urls)
    while idle and time.monotonic() < deadline:
        time.sleep(IDLE_TIMEOUT / 4)
        idle = open_connections(cell_urls)
    print(
        json.dumps(
            {
                **timed,
                "busy_connections": busy,
                "idle_connections": idle,
                "rss_mib": rss,
            }
        )
    )
    return 0


# -- the orchestrating process ---------------------------------------------


def measure(
    api_url: str,
    cell_urls: list[str],
    args: argparse.Namespace,
    seed: int,
    impl: str = "reqspec",
) -> dict[str, Any]:
    command = [
        sys.executable,
        str(HERE / "cells.py"),
        "--worker",
        "--impl",
        impl,
        "--api-url",
        api_url,
        "--per-cell",
        str(args.specs_per_cell),
        "--lookups",
        str(args.lookups),
        "--threads",
        str(args.threads),
        "--seed",
        str(seed),
        "--passes",
        str(args.passes),
    ]
    for url in cell_urls:
        command += ["--cell-url", url]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"a measuring process failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    largest = max(CELL_COUNTS)
    with cloud(backend, largest) as (api_url, cell_urls):
        loaded = load(api_url, cell_urls, args.specs_per_cell)
        runs: dict[int, list[dict[str, Any]]] = {n: [] for n in CELL_COUNTS}
        floor: dict[int, list[float]] = {n: [] for n in CELL_COUNTS}
        for round_number in range(args.rounds):
            # Rotate the order, so a drift of the machine's load does not
            # always favour the same configuration or side.
            shift = round_number % len(CELL_COUNTS)
            order = CELL_COUNTS[shift:] + CELL_COUNTS[:shift]
            sides = ("reqspec", "core")[:: 1 if round_number % 2 else -1]
            for n in order:
                for impl in sides:
                    found = measure(
                        api_url, cell_urls[:n], args, round_number, impl
                    )
                    if impl == "core":
                        floor[n].append(found["ops"])
                    else:
                        runs[n].append(found)
    rows = {}
    for n, results in runs.items():
        rows[n] = {
            key: statistics.median(r[key] for r in results)
            for key in results[0]
        }
        rows[n]["ops_all"] = [r["ops"] for r in results]
        rows[n]["core_ops"] = statistics.median(floor[n])
    base = rows[1]
    for row in rows.values():
        row["ratio"] = row["ops"] / base["ops"]
        row["core_ratio"] = row["core_ops"] / base["core_ops"]
    return {
        "specs_per_cell": args.specs_per_cell,
        "load_seconds": loaded,
        "rows": rows,
    }


def misses(result: dict[str, Any]) -> list[str]:
    rows = result["rows"]
    largest = rows[max(CELL_COUNTS)]
    found = []
    if largest["ratio"] < RATIO_TARGET:
        found.append(
            f"10 cells at {largest['ratio']:.2f}x of 1 cell "
            f"(target {RATIO_TARGET:.2f}x)"
        )
    for n, row in rows.items():
        if row["idle_connections"]:
            found.append(
                f"{n} cells: {row['idle_connections']:g} connections left "
                "open after the idle timeout"
            )
    growth = largest["rss_mib"] / rows[1]["rss_mib"] - 1
    if growth > RSS_GROWTH_LIMIT:
        found.append(f"resident set grew {growth:.0%} from 1 to 10 cells")
    return found


def render(backend: str, result: dict[str, Any]) -> str:
    lines = [
        f"== {backend}: {max(CELL_COUNTS)} cells x "
        f"{result['specs_per_cell']:,} specs (loaded in "
        f"{result['load_seconds']:.0f} s) ==",
        "cells  lookups/s   p50 us   p99 us   CPU us   ratio  conns busy  "
        "conns idle  RSS MiB   Core/s  Core ratio",
    ]
    for n, row in result["rows"].items():
        spread = "/".join(f"{o:.0f}" for o in row["ops_all"])
        lines.append(
            f"{n:>5}  {row['ops']:>9.0f}  {row['p50_us']:>7.0f}  "
            f"{row['p99_us']:>7.0f}  {row['cpu_us']:>7.0f}  "
            f"{row['ratio']:>5.2f}x  "
            f"{row['busy_connections']:>10.0f}  "
            f"{row['idle_connections']:>10.0f}  {row['rss_mib']:>7.1f}"
            f"  {row['core_ops']:>7.0f}  {row['core_ratio']:>9.2f}x"
            f"   (rounds: {spread})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql", "all"), default="all"
    )
    parser.add_argument("--specs-per-cell", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-check", action="store_true")
    # A measuring process (internal).
    parser.add_argument(
        "--worker", action="store_true", help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--impl",
        choices=("reqspec", "core"),
        default="reqspec",
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    parser.add_argument("--cell-url", action="append", help=argparse.SUPPRESS)
    parser.add_argument("--per-cell", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return work(args)
    if args.specs_per_cell < 1 or args.lookups < 1 or args.rounds < 1:
        parser.error("sizes must be positive")
    backends = (
        ("sqlite", "postgresql") if args.backend == "all" else (args.backend,)
    )
    results = {b: run_backend(b, args) for b in backends}
    found = {b: misses(r) for b, r in results.items()}
    if args.json:
        print(json.dumps({"backends": results, "misses": found}, indent=2))
    else:
        for backend, result in results.items():
            print(render(backend, result))
            for miss in found[backend]:
                print(f"MISSED: {miss}")
            print()
    if args.no_check:
        return 0
    return 1 if any(found.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
