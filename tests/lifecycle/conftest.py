"""Crash injection for the transfer's steps."""

from collections.abc import Iterator

import pytest

from reqspec.lifecycle import transfer
from tests.fixtures.down_cells import flaky_cell  # noqa: F401 (fixture)


class Crash(Exception):
    """Raised by a hook: the process "dies" right after a step."""


@pytest.fixture
def crash_after() -> Iterator[object]:
    """``crash_after(step)`` makes the next transfer raise ``Crash``
    right after ``step``; hooks are removed when the test ends."""

    def install(step: str) -> None:
        assert step in transfer.STEPS

        def hook(uuid: str, done: str) -> None:
            if done == step:
                transfer.AFTER_STEP.clear()
                raise Crash(step)

        transfer.AFTER_STEP.append(hook)

    yield install
    transfer.AFTER_STEP.clear()
