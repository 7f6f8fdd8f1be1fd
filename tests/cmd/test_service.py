"""A service process: configuration errors are one line, and SIGTERM on
an idle service exits 0 at once."""

import os
import signal
import subprocess
import sys

import pytest

from reqspec.cmd import launcher
from tests.fixtures import services


def test_a_bad_option_is_one_line_and_exit_1(tmp_path) -> None:
    config = launcher.write_config(
        str(tmp_path / "x.conf"), {"conductor": {"workers": "many"}}
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "reqspec.cmd.conductor",
            "--config-file",
            config,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("error: ")
    assert "workers" in done.stderr


@pytest.mark.backends("sqlite")
def test_sigterm_stops_an_idle_service_at_once(db, broker, tmp_path) -> None:
    with services.start(db, str(tmp_path), conductors=0) as deployment:
        scheduler = deployment.started[0]
        os.kill(scheduler.pid, signal.SIGTERM)
        assert scheduler.process.wait(timeout=15) == 0
    assert "stopped (drained)" in scheduler.log_tail()
