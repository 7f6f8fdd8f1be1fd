"""Cold migration and evacuation: the same server, somewhere else."""

from reqspec import context
from reqspec import exception
from reqspec.conductor import common
from reqspec.conductor.request import destination
from reqspec.conductor.request import per_move_request
from reqspec.objects import ComputeNode
from reqspec.objects.instance import ACTIVE
from reqspec.scheduler.selection import Selection


def _move(
    ctx: context.RequestContext,
    located: common.Located,
    action: str,
    host: str | None,
    allow_cross_cell: bool,
    scheduler: common.Selector | None,
) -> common.MoveResult:
    request = per_move_request(located.spec)
    current = located.instance.host
    assert current is not None
    request.ignore_hosts = [current]
    request.requested_destination = destination(
        located.cell, host=host, allow_cross_cell=allow_cross_cell
    )

    def claim(selection: Selection) -> None:
        common.relocate(ctx, located, selection)

    selection = common.schedule_and_claim(
        ctx, request, claim, scheduler, located.instance.uuid
    )
    return common.MoveResult(
        located.instance.uuid,
        action,
        selection.cell,
        selection.host,
        selection.node,
        selection,
    )


def migrate(
    ctx: context.RequestContext,
    instance_uuid: str,
    host: str | None = None,
    allow_cross_cell: bool = False,
    scheduler: common.Selector | None = None,
) -> common.MoveResult:
    """Cold-migrate a server to another host under its original spec.

    The current host is ignored; forced hosts from the boot are dropped
    (they pinned the first placement only), and ``host`` is an admin's
    target, expressed as the request's requested destination. The move
    stays in the server's cell unless ``allow_cross_cell``; a move to
    another cell carries the spec along with the crash-safe transfer.
    Nothing in the stored spec changes.

    Unlike Nova, the migration completes at once: there is no
    VERIFY_RESIZE state to confirm for a migration without a new flavor.
    """
    located = common.locate(ctx, instance_uuid, "migrate")
    common.require_status(located, "migrate", ACTIVE)
    return _move(ctx, located, "migrate", host, allow_cross_cell, scheduler)


def evacuate(
    ctx: context.RequestContext,
    instance_uuid: str,
    host: str | None = None,
    allow_cross_cell: bool = False,
    scheduler: common.Selector | None = None,
) -> common.MoveResult:
    """Rebuild a server of a down host on another host, under its
    original spec.

    Only for a server whose host is forced down (``InvalidInstanceState``
    otherwise: a server on a running host is migrated, not evacuated).
    Forced hosts are dropped and ``host`` is an admin's target, as for
    ``migrate``. The down host's resources are released at once (Nova
    keeps them until the host comes back and cleans up).
    """
    located = common.locate(ctx, instance_uuid, "evacuate")
    common.require_status(located, "evacuate", ACTIVE)
    instance = located.instance
    assert instance.host is not None and instance.node is not None
    node = ComputeNode.get_by_host_and_node(
        located.ctx, instance.host, instance.node
    )
    if not node.forced_down:
        raise exception.InvalidInstanceState(
            action="evacuate",
            instance_uuid=instance_uuid,
            state=f"on {instance.host}, which is up (migrate it instead)",
        )
    return _move(ctx, located, "evacuate", host, allow_cross_cell, scheduler)
