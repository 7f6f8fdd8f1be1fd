"""Per-move requests: a throw-away copy of the stored spec."""

from reqspec.objects import CellMapping
from reqspec.objects import Destination
from reqspec.objects import RequestSpec


def per_move_request(
    spec: RequestSpec, keep_forced: bool = False
) -> RequestSpec:
    """A copy of ``spec`` to schedule one move with.

    The copy starts with no per-move field set (whatever a caller left on
    the stored object stays there), so nothing from an earlier move can
    reach this one, and nothing set on the copy can reach storage: only
    the stored spec is ever saved.

    Forced hosts/nodes pin the first placement only: unless
    ``keep_forced`` (the build), they are dropped from the copy, as Nova
    does for every later move. An admin who wants a particular host for
    a move gets it through ``requested_destination``.
    """
    request = spec.obj_clone()
    request.clear_per_move()
    if not keep_forced:
        request.reset_forced_destinations()
    return request


def destination(
    cell: CellMapping | None,
    host: str | None = None,
    node: str | None = None,
    allow_cross_cell: bool = False,
) -> Destination:
    """Where a move may land: ``cell`` unless ``allow_cross_cell``, and
    ``host``/``node`` when an admin names them."""
    return Destination(
        host=host,
        node=node,
        cell=None if allow_cross_cell else cell,
        allow_cross_cell_move=allow_cross_cell,
    )
