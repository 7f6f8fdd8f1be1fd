"""A smoke test of the services benchmark: it runs and reports every
figure. Not a timed test: see the README's figures for a full run."""

import json
import pathlib
import subprocess
import sys

from tests.fixtures import databases
from tests.fixtures import services

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "services.py"


def test_the_benchmark_runs_and_reports_everything(broker) -> None:
    databases.require("postgresql")
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--count",
            "4",
            "--rounds",
            "1",
            "--conductors",
            "1",
            "--pings",
            "10",
            "--transport-url",
            services.TRANSPORT_URL,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    (server,) = summary["servers"].values()
    figures = server["builds_per_s"]
    assert set(figures) == {"in-process", "1 conductor"}
    for figure in figures.values():
        assert 0 < figure["min"] <= figure["median"] <= figure["max"]
    assert server["pings_per_s"]["median"] > 0
