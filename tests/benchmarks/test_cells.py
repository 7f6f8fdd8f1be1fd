"""A smoke test of the cells benchmark on a tiny cloud: it runs and
reports every figure. The figures mean something only from a full run
(see the README's performance section)."""

import json
import pathlib
import subprocess
import sys

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "cells.py"


def test_the_benchmark_runs_and_reports_everything() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--backend",
            "sqlite",
            "--specs-per-cell",
            "50",
            "--lookups",
            "40",
            "--rounds",
            "1",
            "--passes",
            "1",
            "--json",
            "--no-check",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    result = summary["backends"]["sqlite"]
    assert result["specs_per_cell"] == 50
    rows = result["rows"]
    assert sorted(int(n) for n in rows) == [1, 2, 5, 10]
    for n, row in rows.items():
        assert row["ops"] > 0 and row["p99_us"] >= row["p50_us"] > 0
        assert 0 < row["cpu_us"] <= row["p99_us"]
        # Every cell reached holds a connection until the idle timeout
        # closes them all.
        assert row["busy_connections"] >= int(n)
        assert row["idle_connections"] == 0
        assert row["rss_mib"] > 0
        # Core's same lookups, the floor of the same run.
        assert row["core_ops"] > 0 and row["core_ratio"] > 0
    assert rows["1"]["ratio"] == rows["1"]["core_ratio"] == 1.0
    assert isinstance(summary["misses"]["sqlite"], list)
