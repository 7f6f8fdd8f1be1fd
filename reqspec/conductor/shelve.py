"""Shelving (offloaded) and unshelving: leaving every host, and coming
back to one chosen under the original spec."""

from reqspec import context
from reqspec.conductor import common
from reqspec.conductor.request import destination
from reqspec.conductor.request import per_move_request
from reqspec.objects.instance import ACTIVE
from reqspec.objects.instance import SHELVED_OFFLOADED
from reqspec.scheduler.selection import Selection


def shelve_offload(
    ctx: context.RequestContext, instance_uuid: str
) -> common.MoveResult:
    """Release the server's host; its spec stays in its cell."""
    located = common.locate(ctx, instance_uuid, "shelve")
    common.require_status(located, "shelve", ACTIVE)
    located.instance.shelve_offload()
    return common.result(located, "shelve", note="offloaded")


def unshelve(
    ctx: context.RequestContext,
    instance_uuid: str,
    allow_cross_cell: bool = False,
    scheduler: common.Selector | None = None,
) -> common.MoveResult:
    """Schedule an offloaded server again, under its original spec.

    Forced hosts from the boot are dropped, as for every move after the
    first placement. The server stays in its cell unless
    ``allow_cross_cell``.
    """
    located = common.locate(ctx, instance_uuid, "unshelve")
    common.require_status(located, "unshelve", SHELVED_OFFLOADED)
    request = per_move_request(located.spec)
    request.requested_destination = destination(
        located.cell, allow_cross_cell=allow_cross_cell
    )

    def claim(selection: Selection) -> None:
        common.relocate(ctx, located, selection)

    selection = common.schedule_and_claim(
        ctx, request, claim, scheduler, instance_uuid
    )
    return common.MoveResult(
        instance_uuid,
        "unshelve",
        selection.cell,
        selection.host,
        selection.node,
        selection,
    )
