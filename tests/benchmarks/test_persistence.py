"""A smoke test of the benchmark: it runs and reports every number.

Not a timed test: the numbers mean something only from a full run (see
the README's performance section).
"""

import json
import pathlib
import subprocess
import sys

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "persistence.py"


def test_the_benchmark_runs_and_reports_everything() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--backend",
            "sqlite",
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
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    sqlite = summary["backends"]["sqlite"]
    for impl in ("core", "reqspec"):
        numbers = sqlite[impl]
        for op in ("create", "get", "save", "move"):
            assert numbers[op]["count"] > 0
            assert numbers[op]["ops_per_second"] > 0
            assert numbers[op]["p50_us"] <= numbers[op]["p99_us"]
        assert numbers["bulk"]["bulk_seconds"] > 0
        # Every stored spec was read back, moved ones excepted.
        assert numbers["memory"]["rows"] == 100 + 30 + 300
    assert 0 < sqlite["reqspec"]["document_bytes"] < 2100
    assert set(sqlite["ratios"]) == {"create", "get", "save", "move", "bulk"}
    # One round: its range is the one ratio.
    for op, (low, high) in sqlite["ratio_spread"].items():
        assert low == high == sqlite["ratios"][op]
    assert "bulk >= 0.7x core's one query" in sqlite["checks"]
    assert all(isinstance(ok, bool) for ok in sqlite["checks"].values())
