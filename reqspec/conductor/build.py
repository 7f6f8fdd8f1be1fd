"""Building a server: from the API database to a cell."""

from reqspec import context
from reqspec import exception
from reqspec.conductor import common
from reqspec.conductor.request import per_move_request
from reqspec.lifecycle import transfer
from reqspec.objects import InstanceMapping
from reqspec.objects import RequestSpec
from reqspec.scheduler.selection import Selection


def build_server(
    ctx: context.RequestContext,
    instance_uuid: str,
    scheduler: common.Selector | None = None,
) -> common.MoveResult:
    """Schedule an unscheduled server and move its spec to the cell.

    Loads the spec from the API database, schedules a per-move copy of it
    (forced hosts/nodes apply: they pin this first placement), and moves
    the spec to the chosen cell with the crash-safe transfer, whose first
    write claims the host.

    Safe to run again for the same server: a build that a crash
    interrupted after recording its move is finished (not rescheduled),
    and a server already in a cell is left alone. ``NoValidHost`` leaves
    the spec in the API database with the reason as the mapping's fault
    (``show_server`` reports ERROR); a later build may try again.
    """
    transfer.require_api_context(ctx)
    mapping = InstanceMapping.get_by_instance_uuid(ctx, instance_uuid)
    if mapping.moving:
        mapping = transfer.finish(ctx, instance_uuid)
        return _result(mapping, note="finished an interrupted build")
    if mapping.cell_mapping is not None:
        return _result(mapping, note="already built")
    spec = RequestSpec.get_by_instance_uuid(ctx, instance_uuid)
    request = per_move_request(spec, keep_forced=True)

    def claim(selection: Selection) -> None:
        transfer.move(
            ctx,
            instance_uuid,
            None,
            selection.cell,
            selection.host,
            selection.node,
        )

    try:
        selection = common.schedule_and_claim(ctx, request, claim, scheduler)
    except exception.NoValidHost as err:
        mapping.set_fault(err.message)
        raise
    return common.MoveResult(
        instance_uuid,
        "build",
        selection.cell,
        selection.host,
        selection.node,
        selection,
    )


def _result(mapping: InstanceMapping, note: str) -> common.MoveResult:
    return common.MoveResult(
        mapping.instance_uuid,
        "build",
        mapping.cell_mapping,
        None,
        None,
        note=note,
    )
