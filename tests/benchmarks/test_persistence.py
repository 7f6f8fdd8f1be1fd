"""A smoke test of the benchmark: it runs and reports every number.

Not a timed test: the numbers mean something only from a full run (see
the README's performance section).
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from tests.fixtures import databases

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "persistence.py"


def _admin_url_option(backend: str) -> list[str]:
    """The test run's PostgreSQL server, as the benchmark's admin URL."""
    if backend != "postgresql":
        return []
    urls = os.environ["OS_TEST_DBAPI_ADMIN_CONNECTION"].split(";")
    return ["--postgresql-url", next(u for u in urls if "postgresql" in u)]


@pytest.mark.parametrize("bench_backend", ["sqlite", "postgresql"])
def test_the_benchmark_runs_and_reports_everything(bench_backend: str) -> None:
    databases.require(bench_backend)
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--backend",
            bench_backend,
            "--count",
            "30",
            "--moves",
            "5",
            "--memory-rows",
            "300",
            "--rounds",
            "1",
            "--json",
            "--no-check",
            *_admin_url_option(bench_backend),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    found = summary["backends"][bench_backend]
    for impl in ("core", "reqspec"):
        numbers = found[impl]
        for op in ("create", "get", "save", "move"):
            assert numbers[op]["count"] > 0
            assert numbers[op]["ops_per_second"] > 0
            assert numbers[op]["p50_us"] <= numbers[op]["p99_us"]
        assert numbers["bulk"]["bulk_seconds"] > 0
        # Measured apart from the timed rounds, over its own rows.
        assert numbers["memory"]["rows"] == 300
    assert 0 < found["reqspec"]["document_bytes"] < 2100
    assert set(found["ratios"]) == {"create", "get", "save", "move", "bulk"}
    # One round: its range is the one ratio.
    for op, (low, high) in found["ratio_spread"].items():
        assert low == high == found["ratios"][op]
    bulk_check = {
        "sqlite": "bulk >= 0.7x core's one query",
        "postgresql": "bulk >= 4.0x single gets",
    }[bench_backend]
    assert bulk_check in found["checks"]
    assert all(isinstance(ok, bool) for ok in found["checks"].values())
