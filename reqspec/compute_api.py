"""A compute-API facade: create a server, and show it at any time.

``create_server`` is what a REST API's POST /servers does with the spec:
it stores the spec and an unscheduled instance mapping in the API
database, in one transaction, and returns at once; a conductor builds
the server later (``reqspec.conductor.build.build_server``).
``show_server`` answers from wherever the spec is at that moment: the API
database before scheduling, the server's cell afterwards, and during a
move between databases whichever copy exists. ``list_servers`` pages
through the servers of every cell at once. Neither waits for a cell
database that is down: its servers are shown as ``UNKNOWN``.
"""

from typing import Any
from typing import Protocol

from oslo_utils import uuidutils

from reqspec import context
from reqspec import exception
from reqspec.lifecycle import listing
from reqspec.lifecycle import transfer
from reqspec.lifecycle import views
from reqspec.lifecycle.views import ServerView
from reqspec.objects import Flavor
from reqspec.objects import ImageMeta
from reqspec.objects import InstanceGroup
from reqspec.objects import mapping_batches
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
    # A request of one server: create_servers with count 1.
    (uuid,) = create_servers(
        ctx,
        1,
        flavor=flavor,
        image=image,
        availability_zone=availability_zone,
        group=group,
        scheduler_hints=scheduler_hints,
        security_groups=security_groups,
        is_bfv=is_bfv,
        instance_uuids=[instance_uuid] if instance_uuid else None,
    )
    return uuid


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
    mapping_batches.create_for_request(ctx, spec, uuids)


class Conductors(Protocol):
    """Where the API sends builds: ``conductor.rpcapi.ComputeTaskAPI``."""

    def build_servers(
        self,
        ctx: context.RequestContext,
        instance_uuids: list[str],
        wait: bool = False,
    ) -> Any: ...


def boot_servers(
    ctx: context.RequestContext,
    conductors: Conductors,
    count: int = 1,
    **request: Any,
) -> list[str]:
    """Record a request (``create_servers``) and cast its build to the
    conductor services; returns the uuids at once, the servers in BUILD.

    Moves are cast the same way, on ``ComputeTaskAPI`` (``migrate``,
    ``resize``...). A build that fails leaves the spec in the API
    database with the reason as its fault (``show_server``: ERROR).
    """
    uuids = create_servers(ctx, count, **request)
    conductors.build_servers(ctx, uuids)
    return uuids


def show_server(
    ctx: context.RequestContext,
    instance_uuid: str,
    *,
    cell_timeout: float | None = None,
) -> ServerView:
    """The server as the API shows it, from wherever its spec is now.

    ``InstanceNotFound`` for an unknown server or one of another project;
    status ``UNKNOWN`` (from the API database's record) if its cell's
    database does not answer within ``cell_timeout`` seconds (None:
    ``[database] cell_timeout``).
    """
    return views.show(ctx, instance_uuid, cell_timeout=cell_timeout)


def list_servers(
    ctx: context.RequestContext,
    *,
    limit: int | None = None,
    marker: str | None = None,
    cell_timeout: float | None = None,
) -> list[ServerView]:
    """A page of servers from every cell at once, newest first: see
    ``reqspec.lifecycle.listing``."""
    return listing.list_servers(
        ctx, limit=limit, marker=marker, cell_timeout=cell_timeout
    )
