"""A smoke test of the builds benchmark: it runs, builds everything and
reports every figure.

Not a timed test: the figures mean something only from a full run (see
the README's performance section).
"""

import json
import pathlib
import subprocess
import sys

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "builds.py"


def test_the_benchmark_runs_and_reports_everything() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--backend",
            "sqlite",
            "--count",
            "20",
            "--runs",
            "2",
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
    assert summary["count"] == 20
    sqlite = summary["backends"]["sqlite"]
    assert len(sqlite["runs"]) == 2
    for figure in (
        "single_ms_per_server",
        "batch_ms_per_server",
        "speedup",
        "batch_servers_per_second",
        "create_servers_per_second",
    ):
        spread = sqlite["spread"][figure]
        assert 0 < spread["min"] <= spread["median"] <= spread["max"]
    assert set(sqlite["checks"]) == {
        "speedup >= 5x",
        "build_servers >= 1000 servers/s",
    }


def test_a_missed_target_exits_non_zero() -> None:
    # With two servers the batch saves at most the second server's
    # scheduling pass: far from 5x, whatever the machine.
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--backend",
            "sqlite",
            "--count",
            "2",
            "--runs",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "MISSED" in done.stdout
