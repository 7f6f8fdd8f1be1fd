"""Rebuilding a server on its own host, possibly with a new image."""

from typing import Any

from reqspec import context
from reqspec.conductor import common
from reqspec.conductor.request import destination
from reqspec.conductor.request import per_move_request
from reqspec.objects import ImageMeta
from reqspec.objects.instance import ACTIVE
from reqspec.scheduler.scheduler import Scheduler


def rebuild(
    ctx: context.RequestContext,
    instance_uuid: str,
    image: ImageMeta | dict[str, Any] | None = None,
    scheduler: common.Selector | None = None,
) -> common.MoveResult:
    """Rebuild a server where it is, checking its host still fits.

    The request is the stored spec (new image, if any), pinned to the
    server's own host and node through the requested destination, with
    forced hosts dropped. The scheduler runs every filter against that
    one host, not counting the server's own usage: a new image the host
    cannot run (another architecture, say) fails with ``NoValidHost`` and
    changes nothing. On success the new image is saved in the spec.
    """
    located = common.locate(ctx, instance_uuid, "rebuild")
    common.require_status(located, "rebuild", ACTIVE)
    if isinstance(image, dict):
        image = ImageMeta.from_dict(image)
    instance = located.instance
    request = per_move_request(located.spec)
    if image is not None:
        request.image = image
    request.requested_destination = destination(
        located.cell, host=instance.host, node=instance.node
    )
    selection = (scheduler or Scheduler()).select_destination(
        ctx, request, exclude_instance_uuid=instance_uuid
    )
    if image is not None:
        located.spec.image = image
        located.spec.save()
    return common.result(located, "rebuild", selection)
