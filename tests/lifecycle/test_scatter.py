"""scatter: answers by key, typed database failures as CellDown, and a
deadline that a stuck call cannot stretch."""

import subprocess
import sys
import threading
import time

import pytest

from reqspec import exception
from reqspec.lifecycle import scatter


def test_answers_and_database_failures_by_key():
    def down():
        raise exception.DatabaseUnavailable(database="cell x", reason="gone")

    found = scatter.scatter({"a": lambda: 1, "b": down, "c": lambda: None}, 5)
    assert found["a"] == 1 and found["c"] is None
    assert isinstance(found["b"], scatter.CellDown)
    assert "Cannot reach cell x: gone" in found["b"].reason


def test_a_bug_is_raised_not_hidden():
    def bug():
        raise KeyError("oops")

    with pytest.raises(KeyError):
        scatter.scatter({"a": bug}, 5)


def test_a_stuck_call_is_abandoned_once_and_counted_until_it_returns():
    release = threading.Event()
    started = []

    def stuck():
        started.append(1)
        release.wait(30)
        return "late"

    start = time.monotonic()
    found = scatter.scatter({"slow": stuck, "fast": lambda: "ok"}, 0.2)
    assert time.monotonic() - start < 2
    assert found["fast"] == "ok"
    assert isinstance(found["slow"], scatter.CellDown)
    assert "no answer within 0.2 seconds" in found["slow"].reason
    assert scatter.late_workers() == {"slow": 1}
    # While it is still running, its key is down at once: no new thread.
    for _ in range(3):
        again = scatter.scatter({"slow": stuck}, 5)
        assert isinstance(again["slow"], scatter.CellDown)
    assert len(started) == 1
    release.set()
    deadline = time.monotonic() + 10
    while scatter.late_workers() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert scatter.late_workers() == {}
    assert scatter.scatter({"slow": stuck}, 5) == {"slow": "late"}


def test_a_stuck_call_does_not_keep_the_process_alive():
    code = (
        "import threading\n"
        "from reqspec.lifecycle import scatter\n"
        "block = threading.Event()\n"
        "print(scatter.scatter({'x': block.wait}, 0.1))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "CellDown" in result.stdout
