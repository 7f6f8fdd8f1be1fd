"""Every move type honours the spec stored at boot, or changes nothing.

The server was booted into zone az-1, with an x86_64 image, in an
anti-affinity group whose other member runs on a1 (see conftest.py).
"""

from collections.abc import Callable
from typing import Any

import pytest

from reqspec import exception
from reqspec.conductor import migrate
from reqspec.conductor import rebuild
from reqspec.conductor import resize
from reqspec.conductor import shelve
from tests.conductor.conftest import Placed
from tests.fixtures import cloud


def _resize(p: Placed) -> Any:
    return resize.resize(p.env.ctx, p.server, cloud.flavor("big", 2, 2048))


def _migrate(p: Placed) -> Any:
    return migrate.migrate(p.env.ctx, p.server)


def _evacuate(p: Placed) -> Any:
    cloud.set_host(p.env, 0, "a2", forced_down=True)
    return migrate.evacuate(p.env.ctx, p.server)


def _unshelve(p: Placed) -> Any:
    shelve.shelve_offload(p.env.ctx, p.server)
    return shelve.unshelve(p.env.ctx, p.server)


def _rebuild(p: Placed) -> Any:
    return rebuild.rebuild(p.env.ctx, p.server, image=cloud.X86)


MOVES: dict[str, Callable[[Placed], Any]] = {
    "resize": _resize,
    "migrate": _migrate,
    "evacuate": _evacuate,
    "unshelve": _unshelve,
    "rebuild": _rebuild,
}
#: Where each move must land in the fixture's cloud.
EXPECTED = {
    "resize": {"a5"},
    "migrate": {"a5"},
    "evacuate": {"a5"},
    "unshelve": {"a2", "a5"},
    "rebuild": {"a2"},
}


@pytest.mark.parametrize("move", sorted(MOVES))
def test_the_destination_honours_the_original_spec(placed, move):
    result = MOVES[move](placed)
    placed.assert_constraints_hold()
    view = placed.view()
    assert view.host in EXPECTED[move]
    assert result.host == view.host
    # Every move stayed in the cell; the spec is there and only there.
    assert view.location == "cell1"
    cloud.assert_settled(placed.env, [placed.member, placed.server])


def _break(p: Placed, move: str) -> None:
    """Take away the one destination the move could use."""
    cloud.set_host(p.env, 0, "a5", disabled=True)
    if move == "unshelve":
        cloud.set_host(p.env, 0, "a2", disabled=True)


#: The same moves, made impossible; rebuild gets an image no host of its
#: own runs.
IMPOSSIBLE = {
    **MOVES,
    "rebuild": lambda p: rebuild.rebuild(p.env.ctx, p.server, image=cloud.ARM),
}


@pytest.mark.parametrize("move", sorted(MOVES))
def test_an_impossible_move_changes_nothing(placed, move):
    if move == "unshelve":
        shelve.shelve_offload(placed.env.ctx, placed.server)
        before = placed.state()
        _break(placed, move)
        with pytest.raises(exception.NoValidHost):
            shelve.unshelve(placed.env.ctx, placed.server)
    else:
        before = placed.state()
        _break(placed, move)
        with pytest.raises(exception.NoValidHost) as err:
            IMPOSSIBLE[move](placed)
        assert "refused" in err.value.message
    assert placed.state() == before
    cloud.assert_settled(placed.env, [placed.member, placed.server])
