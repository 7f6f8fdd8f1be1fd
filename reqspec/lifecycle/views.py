"""What the API shows of a server, read from wherever its spec is.

``show`` answers from the API database before scheduling, the server's
cell afterwards, and during a move between databases whichever copy
exists. A cell whose database does not answer within ``cell_timeout``
seconds does not make it fail: the server is shown from its API-database
record (the instance mapping) with status ``UNKNOWN``, as Nova's API does
since microversion 2.69.
"""

import dataclasses
import functools
from typing import Any

from reqspec import context
from reqspec import exception
from reqspec.lifecycle import scatter
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
    failed: see ``fault``), the server's status in its cell, or UNKNOWN
    when its cell's database did not answer: then only ``uuid``,
    ``location``, ``task`` and ``fault`` (the API database's record) are
    known and the rest is None. ``task`` names a move between databases
    in progress.
    """

    uuid: str
    status: str
    location: str
    host: str | None
    node: str | None
    flavor: Flavor | None
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
            "flavor": None if self.flavor is None else self.flavor.name,
            "image": None if self.image is None else self.image.name,
            "availability_zone": self.availability_zone,
            "group": self.group_uuid,
            "policy": self.group_policy,
            "task": self.task,
            "fault": self.fault,
        }


UNKNOWN = "UNKNOWN"


def cell_timeout_or_default(
    ctx: context.RequestContext, cell_timeout: float | None
) -> float:
    """``cell_timeout``, or the context's ``[database] cell_timeout``
    when None."""
    if cell_timeout is None:
        return ctx.settings.database.cell_timeout
    if cell_timeout < 0:
        raise exception.Invalid(reason="cell_timeout must not be negative")
    return float(cell_timeout)


def show(
    ctx: context.RequestContext,
    instance_uuid: str,
    cell_timeout: float | None = None,
) -> ServerView:
    """The server as the API shows it, from wherever its spec is now.

    ``InstanceNotFound`` for an unknown server or one of another project.
    If the database holding it does not answer within ``cell_timeout``
    seconds (None: ``[database] cell_timeout``), an ``UNKNOWN`` view.
    """
    transfer.require_api_context(ctx)
    timeout = cell_timeout_or_default(ctx, cell_timeout)
    mapping = InstanceMapping.get_by_instance_uuid(ctx, instance_uuid)
    if not ctx.is_admin and mapping.project_id != ctx.project_id:
        raise exception.InstanceNotFound(instance_uuid=instance_uuid)
    # A move may complete between reading the mapping and reading a
    # copy; reading the mapping again then finds the new home.
    for _ in range(3):
        for cell in _candidates(mapping):
            answer = scatter.scatter(
                {_key(cell): functools.partial(_read, ctx, mapping, cell)},
                timeout,
            )[_key(cell)]
            if isinstance(answer, scatter.CellDown):
                return unknown(mapping, cell)
            if answer is not None:
                return answer
        mapping = InstanceMapping.get_by_instance_uuid(ctx, instance_uuid)
    raise exception.InstanceNotFound(instance_uuid=instance_uuid)


def unknown(mapping: InstanceMapping, cell: CellMapping | None) -> ServerView:
    """What the API database alone says of a server whose database is
    down."""
    return ServerView(
        uuid=mapping.instance_uuid,
        status=UNKNOWN,
        location=location_of(cell),
        host=None,
        node=None,
        flavor=None,
        image=None,
        availability_zone=None,
        group_uuid=None,
        group_policy=None,
        task=_task(mapping),
        fault=mapping.fault,
    )


def location_of(cell: CellMapping | None) -> str:
    return "API" if cell is None else cell.name


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
    return build(mapping, cell, spec, instance)


def _task(mapping: InstanceMapping) -> str | None:
    if not mapping.moving:
        return None
    target = mapping.move_target
    name = target.name if target else "?"
    return f"moving to {name} (step {mapping.move_step})"


def build(
    mapping: InstanceMapping,
    cell: CellMapping | None,
    spec: RequestSpec,
    instance: Instance | None,
) -> ServerView:
    """The view of a server whose spec (and server row, once it is in a
    cell) was read from ``cell`` (None: the API database)."""
    if instance is not None:
        status = instance.status
    else:
        status = "ERROR" if mapping.fault else "BUILD"
    group = spec.instance_group
    return ServerView(
        uuid=mapping.instance_uuid,
        status=status,
        location=location_of(cell),
        host=None if instance is None else instance.host,
        node=None if instance is None else instance.node,
        flavor=spec.flavor,
        image=spec.image,
        availability_zone=spec.availability_zone,
        group_uuid=None if group is None else group.uuid,
        group_policy=None if group is None else group.policy,
        task=_task(mapping),
        fault=mapping.fault,
    )
