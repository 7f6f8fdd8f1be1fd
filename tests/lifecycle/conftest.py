"""Crash injection for the transfer's steps."""

from collections.abc import Callable
from typing import Any

import pytest

from reqspec import context
from reqspec.lifecycle import transfer
from tests.fixtures.down_cells import flaky_cell  # noqa: F401 (fixture)


class Crash(Exception):
    """Raised by a hook: the process "dies" right after a step."""


@pytest.fixture
def crash_after(db: Any) -> Callable[[str], context.RequestContext]:
    """``crash_after(step)``: an admin context on ``db`` with which a
    transfer raises ``Crash`` right after ``step``."""

    def crashing_after(step: str) -> context.RequestContext:
        assert step in transfer.STEPS

        def hook(uuid: str, done: str) -> None:
            if done == step:
                raise Crash(step)

        return db.context_with(after_step=hook)

    return crashing_after
