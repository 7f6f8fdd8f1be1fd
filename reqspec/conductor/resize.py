"""Resizing a server, and confirming or reverting the resize."""

from reqspec import context
from reqspec import exception
from reqspec.conductor import common
from reqspec.conductor.request import destination
from reqspec.conductor.request import per_move_request
from reqspec.objects import Flavor
from reqspec.objects.instance import ACTIVE
from reqspec.objects.instance import VERIFY_RESIZE
from reqspec.scheduler.selection import Selection


def resize(
    ctx: context.RequestContext,
    instance_uuid: str,
    flavor: Flavor,
    scheduler: common.Selector | None = None,
) -> common.MoveResult:
    """Move a server to another host of its cell with a new flavor.

    The per-move request is the stored spec with the new flavor, the
    current host ignored and forced hosts dropped; everything else (zone,
    group, image) is the user's original. The destination is claimed for
    the new flavor while the source stays held; the server waits in
    VERIFY_RESIZE. The stored spec is not touched until
    ``confirm_resize``. Resizes stay in the server's cell.
    """
    located = common.locate(ctx, instance_uuid, "resize")
    common.require_status(located, "resize", ACTIVE)
    if flavor.flavorid == located.spec.flavor.flavorid:
        raise exception.InvalidInstanceState(
            action="resize",
            instance_uuid=instance_uuid,
            state=f"already of flavor {flavor.name}",
        )
    request = per_move_request(located.spec)
    request.flavor = flavor
    current = located.instance.host
    assert current is not None
    request.ignore_hosts = [current]
    request.requested_destination = destination(located.cell)

    def claim(selection: Selection) -> None:
        located.instance.start_resize(
            selection.host, selection.node, request, located.spec.flavor
        )

    selection = common.schedule_and_claim(
        ctx, request, claim, scheduler, instance_uuid
    )
    return common.result(located, "resize", selection)


def confirm_resize(
    ctx: context.RequestContext, instance_uuid: str
) -> common.MoveResult:
    """Keep the new flavor: store it in the spec, release the source.

    The spec is saved first (generation-guarded), then the server row
    changes; a crash in between leaves VERIFY_RESIZE, and confirming
    again writes the same spec (a no-op) and finishes.
    """
    located = common.locate(ctx, instance_uuid, "confirm a resize of")
    common.require_status(located, "confirm a resize of", VERIFY_RESIZE)
    new_flavor = located.instance.new_flavor
    assert new_flavor is not None
    located.spec.flavor = new_flavor
    located.spec.save()
    located.instance.confirm_resize()
    return common.result(located, "confirm resize", note="new flavor kept")


def revert_resize(
    ctx: context.RequestContext, instance_uuid: str
) -> common.MoveResult:
    """Go back to the source host and the old flavor.

    The spec gets the old flavor back (usually a no-op: a resize only
    changes the spec when confirmed, but a confirm interrupted after its
    save may have stored the new one), then the server returns to the
    source, which it held all along.
    """
    located = common.locate(ctx, instance_uuid, "revert a resize of")
    common.require_status(located, "revert a resize of", VERIFY_RESIZE)
    old_flavor = located.instance.old_flavor
    assert old_flavor is not None
    located.spec.flavor = old_flavor
    located.spec.save()
    located.instance.revert_resize()
    return common.result(located, "revert resize", note="old flavor restored")
