"""What the API shows of a server, read from wherever its spec is.

``show`` answers from the API database before scheduling, the server's
cell afterwards, and during a move between databases whichever copy
exists.
"""

import dataclasses
from typing import Any

from reqspec import context
from reqspec import exception
from reqspec.lifecycle import transfer
from reqspec.objects import CellMapping
from reqspec.objects import Flavor
from reqspec.objects import ImageMeta
from reqspec.objects import Instance
from reqspec.objects import InstanceMapping
from reqspec.objects import RequestSpec


@dataclasses.dataclass(frozen=True)
class ServerView:
    """What the API shows of a server.

    ``location`` is where the spec was read: ``API`` or a cell name.
    ``status`` is BUILD (waiting for scheduling), ERROR (scheduling
    failed: see ``fault``) or the server's status in its cell. ``task``
    names a move between databases in progress.
    """

    uuid: str
    status: str
    location: str
    host: str | None
    node: str | None
    flavor: Flavor
    image: ImageMeta | None
    availability_zone: str | None
    group_uuid: str | None
    group_policy: str | None
    task: str | None
    fault: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "status": self.status,
            "location": self.location,
            "host": self.host,
            "node": self.node,
            "flavor": self.flavor.name,
            "image": None if self.image is None else self.image.name,
            "availability_zone": self.availability_zone,
            "group": self.group_uuid,
            "policy": self.group_policy,
            "task": self.task,
            "fault": self.fault,
        }


def show(ctx: context.RequestContext, instance_uuid: str) -> ServerView:
    """The server as the API shows it, from wherever its spec is now.

    ``InstanceNotFound`` for an unknown server or one of another project.
    """
    transfer.require_api_context(ctx)
    mapping = InstanceMapping.get_by_instance_uuid(ctx, instance_uuid)
    if not ctx.is_admin and mapping.project_id != ctx.project_id:
        raise exception.InstanceNotFound(instance_uuid=instance_uuid)
    # A move may complete between reading the mapping and reading a
    # copy; reading the mapping again then finds the new home.
    for _ in range(3):
        for cell in _candidates(mapping):
            view = _read(ctx, mapping, cell)
            if view is not None:
                return view
        mapping = InstanceMapping.get_by_instance_uuid(ctx, instance_uuid)
    raise exception.InstanceNotFound(instance_uuid=instance_uuid)


def _candidates(mapping: InstanceMapping) -> list[CellMapping | None]:
    """Where a copy may be: the mapped database first, then, during a
    move, its target and its source."""
    found: list[CellMapping | None] = [mapping.cell_mapping]
    if mapping.moving:
        found += [mapping.move_target, mapping.move_source]
    unique: list[CellMapping | None] = []
    for cell in found:
        if all(_key(cell) != _key(u) for u in unique):
            unique.append(cell)
    return unique


def _key(cell: CellMapping | None) -> str | None:
    return None if cell is None else cell.uuid


def _read(
    ctx: context.RequestContext,
    mapping: InstanceMapping,
    cell: CellMapping | None,
) -> ServerView | None:
    uuid = mapping.instance_uuid
    with transfer.database_of(ctx, cell) as dctx:
        try:
            spec = RequestSpec.get_by_instance_uuid(dctx, uuid)
        except exception.RequestSpecNotFound:
            return None
        instance = None
        if cell is not None:
            try:
                instance = Instance.get_by_uuid(dctx, uuid)
            except exception.InstanceNotFound:
                instance = None
    if instance is not None:
        status = instance.status
    else:
        status = "ERROR" if mapping.fault else "BUILD"
    task = None
    if mapping.moving:
        target = mapping.move_target
        name = target.name if target else "?"
        task = f"moving to {name} (step {mapping.move_step})"
    group = spec.instance_group
    return ServerView(
        uuid=uuid,
        status=status,
        location="API" if cell is None else cell.name,
        host=None if instance is None else instance.host,
        node=None if instance is None else instance.node,
        flavor=spec.flavor,
        image=spec.image,
        availability_zone=spec.availability_zone,
        group_uuid=None if group is None else group.uuid,
        group_policy=None if group is None else group.policy,
        task=task,
        fault=mapping.fault,
    )
