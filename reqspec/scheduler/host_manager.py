"""Loading host states and server-group members from the cell databases."""

from reqspec import context
from reqspec.objects import CellMapping
from reqspec.objects import ComputeNode
from reqspec.objects import Instance
from reqspec.objects import RequestSpec
from reqspec.scheduler.host_state import HostState


def get_host_states(
    ctx: context.RequestContext,
    cells: list[CellMapping],
    exclude_instance_uuid: str | None = None,
) -> list[HostState]:
    """Every compute node of ``cells`` with its free capacity.

    ``exclude_instance_uuid``'s own holdings are not counted, so a server
    being rebuilt on its host does not compete with itself.
    """
    default_zone = ctx.settings.scheduler.default_availability_zone
    states = []
    for cell in cells:
        with context.target_cell(ctx, cell) as cctx:
            nodes = ComputeNode.get_all(
                cctx,
                with_usage=True,
                exclude_instance_uuid=exclude_instance_uuid,
            )
        states += [
            HostState.from_compute_node(cell, n, default_zone) for n in nodes
        ]
    return states


def populate_group(
    ctx: context.RequestContext,
    cells: list[CellMapping],
    request: RequestSpec,
    exclude_instance_uuid: str | None = None,
) -> None:
    """Fill ``request.instance_group.members``/``hosts`` from the cells.

    The stored spec keeps only the group's uuid and policy; members come
    and go with every boot, move and delete, so they are looked up here,
    by group uuid, in every cell's servers, each time a request is
    scheduled. ``hosts`` has one entry per host a member holds resources
    on (a member waiting for a resize confirmation holds two), so a
    filter can count members per host. The server being scheduled is
    left out of both.
    """
    group = request.instance_group
    if group is None:
        return
    members: list[str] = []
    hosts: list[str] = []
    for cell in cells:
        with context.target_cell(ctx, cell) as cctx:
            found = Instance.get_by_group(cctx, group.uuid)
        for instance in found:
            if instance.uuid == exclude_instance_uuid:
                continue
            members.append(instance.uuid)
            hosts += [h for h in (instance.host, instance.old_host) if h]
    group.members = members
    group.hosts = hosts
