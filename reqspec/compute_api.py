"""A compute-API facade: create a server, and show it at any time.

``create_server`` is what a REST API's POST /servers does with the spec:
it stores the spec and an unscheduled instance mapping in the API
database, in one transaction, and returns at once; a conductor builds
the server later (``reqspec.conductor.build.build_server``).
``show_server`` answers from wherever the spec is at that moment: the API
database before scheduling, the server's cell afterwards, and during a
move between databases whichever copy exists.
"""

import dataclasses
from typing import Any

from oslo_utils import uuidutils

from reqspec import context
from reqspec import exception
from reqspec.lifecycle import transfer
from reqspec.objects import CellMapping
from reqspec.objects import Flavor
from reqspec.objects import ImageMeta
from reqspec.objects import Instance
from reqspec.objects import InstanceGroup
from reqspec.objects import InstanceMapping
from reqspec.objects import RequestSpec


def parse_availability_zone(
    value: str | None,
) -> tuple[str | None, str | None, str | None]:
    """Split Nova's ``zone[:host[:node]]`` into zone, forced host, node."""
    if not value:
        return None, None, None
    parts = value.split(":")
    if len(parts) > 3:
        raise exception.InvalidRequestSpec(
            reason=f"availability zone {value!r} is not zone[:host[:node]]"
        )
    zone, host, node = [*parts, "", ""][:3]
    # An empty zone (":host") means no zone constraint, as in Nova.
    return zone or None, host or None, node or None


def create_server(
    ctx: context.RequestContext,
    *,
    flavor: Flavor,
    image: ImageMeta | dict[str, Any] | None = None,
    availability_zone: str | None = None,
    group: InstanceGroup | None = None,
    scheduler_hints: dict[str, Any] | None = None,
    security_groups: list[str] | None = None,
    is_bfv: bool = False,
    instance_uuid: str | None = None,
) -> str:
    """Record a server request; return its uuid without scheduling.

    The spec and the instance mapping (cell NULL) are written to the API
    database together. ``availability_zone`` may be ``zone:host[:node]``
    to force the first placement onto a host, which only an admin may
    do (``Forbidden`` otherwise). ``group`` is the server group (its uuid
    and policy are stored; members are found when scheduling).
    """
    uuids = [instance_uuid or uuidutils.generate_uuid()]
    _record_request(
        ctx,
        uuids,
        flavor=flavor,
        image=image,
        availability_zone=availability_zone,
        group=group,
        scheduler_hints=scheduler_hints,
        security_groups=security_groups,
        is_bfv=is_bfv,
    )
    return uuids[0]


def create_servers(
    ctx: context.RequestContext,
    count: int,
    *,
    flavor: Flavor,
    image: ImageMeta | dict[str, Any] | None = None,
    availability_zone: str | None = None,
    group: InstanceGroup | None = None,
    scheduler_hints: dict[str, Any] | None = None,
    security_groups: list[str] | None = None,
    is_bfv: bool = False,
    instance_uuids: list[str] | None = None,
) -> list[str]:
    """Record ``count`` servers of one request (Nova's multi-create,
    ``min_count = max_count = count``); return their uuids, unscheduled.

    As ``create_server``, for all of them in one API-database transaction
    (all or none); each spec says ``num_instances = count``. Build them
    together with ``reqspec.conductor.build.build_servers``.
    ``instance_uuids``, if given, names them (``count`` of them).
    """
    if count < 1:
        raise exception.InvalidRequestSpec(
            reason=f"a request creates at least one server, not {count}"
        )
    if instance_uuids is None:
        uuids = [uuidutils.generate_uuid() for _ in range(count)]
    elif len(set(instance_uuids)) != count:
        raise exception.InvalidRequestSpec(
            reason=f"{count} servers need {count} distinct uuids"
        )
    else:
        uuids = list(instance_uuids)
    _record_request(
        ctx,
        uuids,
        flavor=flavor,
        image=image,
        availability_zone=availability_zone,
        group=group,
        scheduler_hints=scheduler_hints,
        security_groups=security_groups,
        is_bfv=is_bfv,
    )
    return uuids


def _record_request(
    ctx: context.RequestContext,
    uuids: list[str],
    *,
    flavor: Flavor,
    image: ImageMeta | dict[str, Any] | None,
    availability_zone: str | None,
    group: InstanceGroup | None,
    scheduler_hints: dict[str, Any] | None,
    security_groups: list[str] | None,
    is_bfv: bool,
) -> None:
    """The specs and unscheduled mappings of one request's servers, in
    one API-database transaction."""
    transfer.require_api_context(ctx)
    zone, host, node = parse_availability_zone(availability_zone)
    if (host or node) and not ctx.is_admin:
        raise exception.Forbidden(
            reason="only an admin may force a host with zone:host"
        )
    spec = RequestSpec.from_components(
        ctx,
        instance_uuid=uuids[0],
        flavor=flavor,
        image=image,
        availability_zone=zone,
        num_instances=len(uuids),
        instance_group=group,
        scheduler_hints=scheduler_hints,
        security_groups=security_groups,
        force_hosts=[host] if host else None,
        force_nodes=[node] if node else None,
        is_bfv=is_bfv,
    )
    InstanceMapping.create_for_request(ctx, spec, uuids)


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


def show_server(ctx: context.RequestContext, instance_uuid: str) -> ServerView:
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
