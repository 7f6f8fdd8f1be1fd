"""Benchmark: reqspec's persistence against a plain SQLAlchemy Core baseline.

    python benchmarks/persistence.py          # SQLite file and PostgreSQL
    python benchmarks/persistence.py --backend sqlite --json

For each backend, each implementation runs in its own fresh process on its
own freshly migrated pair of databases (API and cell), one after the
other, and the same run prints both and their ratio. Ratios, not absolute
numbers, are what to compare: this is a noisy, shared machine.

Measured, each over ``--count`` realistic specs (see ``workload.py``):

* create, get, resize (change the flavor and save): one operation per
  transaction, ops/s with p50 and p99 latencies;
* bulk: the time to load 1,000 specs with one ``get_by_instance_uuids``,
  against Core's one query of the same rows (each document parsed by the
  standard library's json) and against 1,000 single gets in the same
  process;
* move: the API database to cell move of a built server;
* memory: resident set size while iterating over ``--memory-rows`` stored
  specs (its growth after the first 10% is what must stay flat).
"""

import argparse
from collections.abc import Callable
from collections.abc import Iterator
import contextlib
import gc
import json
import os
import pathlib
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import sqlalchemy as sa

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks import report  # noqa: E402
from benchmarks import workload  # noqa: E402

POSTGRESQL_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
IMPLEMENTATIONS = ("core", "reqspec")
BULK = 1000


# -- the orchestrating process ---------------------------------------------


@contextlib.contextmanager
def databases(backend: str, admin_url: str) -> Iterator[tuple[str, str]]:
    """A fresh (api, cell) pair of URLs, migrated to head, dropped after."""
    from reqspec.conf import settings as conf_settings
    from reqspec.db import engines
    from reqspec.db import migration

    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="reqspec-bench-") as tmp:
            urls = (
                conf_settings.sqlite_url(os.path.join(tmp, "api.sqlite")),
                conf_settings.sqlite_url(os.path.join(tmp, "cell.sqlite")),
            )
            _migrate(migration, urls)
            yield urls
        return
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    names = [
        f"reqspec_bench_{secrets.token_hex(4)}_{db}" for db in ("api", "cell")
    ]
    base = sa.engine.make_url(admin_url)
    try:
        with admin.connect() as conn:
            for name in names:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        api_url, cell_url = (
            base.set(database=name).render_as_string(hide_password=False)
            for name in names
        )
        _migrate(migration, (api_url, cell_url))
        engines.dispose_all()
        yield api_url, cell_url
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.exec_driver_sql(
                    f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
                )
        admin.dispose()


def _migrate(migration: Any, urls: tuple[str, str]) -> None:
    migration.db_sync("api", urls[0])
    migration.db_sync("cell", urls[1])


def settle(backend: str, admin_url: str) -> None:
    """Let the server write out what earlier workers left dirty (their
    rows, the databases dropped since) before a worker starts, so that a
    checkpoint does not land in the middle of whichever side comes next."""
    if backend != "postgresql":
        return
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("CHECKPOINT")
    finally:
        admin.dispose()


def run_worker(
    impl: str,
    urls: tuple[str, str],
    args: argparse.Namespace,
    memory_rows: int,
) -> dict[str, Any]:
    command = [
        sys.executable,
        str(HERE / "persistence.py"),
        "--worker",
        impl,
        "--api-url",
        urls[0],
        "--cell-url",
        urls[1],
        "--count",
        str(args.count),
        "--moves",
        str(args.moves),
        "--memory-rows",
        str(memory_rows),
    ]
    if memory_rows:
        command.append("--memory-only")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {impl} worker failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def orchestrate(args: argparse.Namespace) -> int:
    """Alternate the implementations over ``--rounds`` rounds (each in a
    fresh process on fresh databases) and keep the median of each number:
    a burst of noise from the rest of the machine then hits one round of
    one side, not the comparison.

    Memory is measured after the timed rounds, once per side in a process
    of its own: filling 100,000 rows leaves the server busy writing them
    out, which would slow down whichever side ran next."""
    results: dict[str, dict[str, Any]] = {}
    all_runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for backend in args.backend:
        runs: dict[str, list[dict[str, Any]]] = {
            i: [] for i in IMPLEMENTATIONS
        }
        for round_ in range(args.rounds):
            order = (
                IMPLEMENTATIONS if round_ % 2 == 0 else IMPLEMENTATIONS[::-1]
            )
            for impl in order:
                print(
                    f"{backend}: round {round_ + 1}/{args.rounds}, {impl}",
                    file=sys.stderr,
                )
                with databases(backend, args.postgresql_url) as urls:
                    settle(backend, args.postgresql_url)
                    runs[impl].append(run_worker(impl, urls, args, 0))
        results[backend] = {
            impl: report.median_of(found) for impl, found in runs.items()
        }
        # Memory is measured once: it is not a matter of noise.
        for impl in IMPLEMENTATIONS if args.memory_rows else ():
            print(f"{backend}: memory, {impl}", file=sys.stderr)
            with databases(backend, args.postgresql_url) as urls:
                found = run_worker(impl, urls, args, args.memory_rows)
            results[backend][impl]["memory"] = found["memory"]
        all_runs[backend] = runs
    summary = report.summarize(results, vars(args), all_runs)
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        print(report.render(summary))
    return 0 if args.no_check or report.all_met(summary) else 1


# -- a worker process: one implementation ------------------------------------


def _timed(op: Callable[[Any], Any], items: list[Any]) -> dict[str, float]:
    # Start every phase with the same collector state on both sides.
    gc.collect()
    latencies = []
    clock = time.perf_counter_ns
    start = clock()
    for item in items:
        before = clock()
        op(item)
        latencies.append(clock() - before)
    total = (clock() - start) / 1e9
    latencies.sort()
    return {
        "count": len(items),
        "seconds": total,
        "ops_per_second": len(items) / total,
        "p50_us": latencies[len(latencies) // 2] / 1e3,
        "p99_us": latencies[
            min(len(latencies) - 1, int(len(latencies) * 0.99))
        ]
        / 1e3,
    }


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _fill(api_url: str, first: int, count: int) -> None:
    """Store ``count`` more specs fast, straight through Core (setup, not
    measured); each row is a valid stored spec of its own instance."""
    from benchmarks import core_impl

    templates = [workload.realistic_spec(i) for i in range(20)]
    texts = [spec.to_document() for spec in templates]
    engine = core_impl.engine(api_url)
    for start in range(first, first + count, 1000):
        rows = []
        for i in range(start, min(start + 1000, first + count)):
            template = templates[i % len(templates)]
            uuid = workload.instance_uuid(i)
            rows.append(
                {
                    "instance_uuid": uuid,
                    "project_id": template.project_id,
                    "generation": 1,
                    "spec": texts[i % len(texts)].replace(
                        template.instance_uuid, uuid
                    ),
                }
            )
        with engine.begin() as conn:
            conn.execute(core_impl.table.insert(), rows)
    engine.dispose()


def _bulk(store: Any, uuids: list[str]) -> dict[str, float]:
    singles, bulks = [], []
    for _ in range(5):
        start = time.perf_counter()
        for uuid in uuids:
            store.get(uuid)
        singles.append(time.perf_counter() - start)
        start = time.perf_counter()
        got = store.get_many(uuids)
        bulks.append(time.perf_counter() - start)
        if len(got) != len(uuids):
            raise RuntimeError(f"get_many returned {len(got)} of {len(uuids)}")
    single, bulk = statistics.median(singles), statistics.median(bulks)
    return {
        "single_seconds": single,
        "bulk_seconds": bulk,
        "speedup": single / bulk,
    }


def _memory(store: Any, rows: int) -> dict[str, Any]:
    samples = []
    seen = 0
    step = max(1, rows // 10)
    start = time.perf_counter()
    for _ in store.iterate(500):
        seen += 1
        if seen % step == 0:
            samples.append(_rss_mib())
    return {
        "rows": seen,
        "seconds": time.perf_counter() - start,
        "rss_samples_mib": samples,
        "growth_mib": samples[-1] - samples[0],
    }


def work(args: argparse.Namespace) -> int:
    if args.worker == "core":
        from benchmarks.core_impl import CoreStore as Store
    else:
        from benchmarks.reqspec_impl import ReqspecStore as Store  # type: ignore[assignment]
    store: Any = Store(args.api_url, args.cell_url)
    document_bytes = len(workload.realistic_spec(0).to_document())
    if args.memory_only:
        _fill(args.api_url, 0, args.memory_rows)
        memory = _memory(store, args.memory_rows)
        json.dump(
            {"document_bytes": document_bytes, "memory": memory}, sys.stdout
        )
        return 0
    warm, n = 100, args.count
    total = warm + n
    specs = [workload.realistic_spec(i) for i in range(total + args.moves)]
    items: list[Any]
    new_flavors: list[Any]
    if args.worker == "core":
        items = [store.prepare(spec.to_document()) for spec in specs]
        new_flavors = [
            workload.resized_flavor_document(i) for i in range(total)
        ]
    else:
        items = [store.prepare(spec) for spec in specs]
        new_flavors = [workload.resized_flavor(i) for i in range(total)]
    uuids = [spec.instance_uuid for spec in specs[:total]]
    shuffled = uuids[:]
    random.Random(42).shuffle(shuffled)

    results: dict[str, Any] = {"document_bytes": document_bytes}
    _timed(store.create, items[:warm])
    results["create"] = _timed(store.create, items[warm:total])
    _timed(store.get, shuffled[:warm])
    results["get"] = _timed(store.get, shuffled)
    pairs = [
        (store.get(uuid), flavor)
        for uuid, flavor in zip(uuids, new_flavors, strict=True)
    ]
    resize = lambda pair: store.resize(*pair)  # noqa: E731
    _timed(resize, pairs[:warm])
    results["save"] = _timed(resize, pairs[warm:])
    results["bulk"] = _bulk(store, shuffled[:BULK])
    for item in items[total:]:
        store.prepare_move(item)
    results["move"] = _timed(
        store.move, [s.instance_uuid for s in specs[total:]]
    )
    json.dump(results, sys.stdout)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--backend",
        action="append",
        choices=("sqlite", "postgresql"),
        help="repeat for several (default: sqlite and postgresql)",
    )
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--moves", type=int, default=300)
    parser.add_argument("--memory-rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgresql-url", default=POSTGRESQL_ADMIN_URL)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--no-check",
        action="store_true",
        help="exit 0 even when a target is missed",
    )
    parser.add_argument(
        "--worker", choices=IMPLEMENTATIONS, help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--memory-only", action="store_true", help=argparse.SUPPRESS
    )
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    parser.add_argument("--cell-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return work(args)
    args.backend = args.backend or ["sqlite", "postgresql"]
    return orchestrate(args)


if __name__ == "__main__":
    sys.exit(main())
