"""The reference scheduler: filters, then weighers, over every cell."""

from collections.abc import Sequence

from reqspec import context
from reqspec import exception
from reqspec.objects import CellMapping
from reqspec.objects import RequestSpec
from reqspec.scheduler import batch
from reqspec.scheduler import host_manager
from reqspec.scheduler import weighers
from reqspec.scheduler.filters import BaseHostFilter
from reqspec.scheduler.filters.affinity import ServerGroupAffinityFilter
from reqspec.scheduler.filters.affinity import ServerGroupAntiAffinityFilter
from reqspec.scheduler.filters.availability_zone import AvailabilityZoneFilter
from reqspec.scheduler.filters.compute import ComputeFilter
from reqspec.scheduler.filters.destination import ForcedHostsFilter
from reqspec.scheduler.filters.destination import IgnoreHostsFilter
from reqspec.scheduler.filters.destination import RequestedDestinationFilter
from reqspec.scheduler.filters.destination import RetryFilter
from reqspec.scheduler.filters.image_props import ImagePropertiesFilter
from reqspec.scheduler.filters.resources import ComputeResourcesFilter
from reqspec.scheduler.host_state import HostState
from reqspec.scheduler.selection import explain_refusal
from reqspec.scheduler.selection import FilterStep
from reqspec.scheduler.selection import Selection

#: Cheap, decisive filters first, so explanations name the real reason.
DEFAULT_FILTERS: tuple[BaseHostFilter, ...] = (
    RequestedDestinationFilter(),
    ForcedHostsFilter(),
    IgnoreHostsFilter(),
    RetryFilter(),
    ComputeFilter(),
    AvailabilityZoneFilter(),
    ImagePropertiesFilter(),
    ComputeResourcesFilter(),
    ServerGroupAntiAffinityFilter(),
    ServerGroupAffinityFilter(),
)


def run_filters(
    hosts: Sequence[HostState],
    request: RequestSpec,
    filters: Sequence[BaseHostFilter] = DEFAULT_FILTERS,
) -> tuple[list[HostState], list[FilterStep]]:
    """The hosts every enabled filter passes, and what each filter did.

    Stops at the first filter that leaves no host.
    """
    remaining = list(hosts)
    steps = []
    for host_filter in filters:
        if not host_filter.enabled_for(request):
            continue
        kept, refused = [], []
        for host in remaining:
            reason = host_filter.refusal(host, request)
            if reason is None:
                kept.append(host)
            else:
                refused.append((host.name, reason))
        steps.append(
            FilterStep(host_filter.name, len(remaining), tuple(refused))
        )
        remaining = kept
        if not remaining:
            break
    return remaining, steps


class Scheduler:
    """Picks a host for a request; never writes anything."""

    def __init__(
        self,
        filters: Sequence[BaseHostFilter] = DEFAULT_FILTERS,
        host_weighers: Sequence[weighers.BaseWeigher] = (
            weighers.DEFAULT_WEIGHERS
        ),
    ) -> None:
        self.filters = tuple(filters)
        self.weighers = tuple(host_weighers)

    def select_destination(
        self,
        ctx: context.RequestContext,
        request: RequestSpec,
        exclude_instance_uuid: str | None = None,
    ) -> Selection:
        """The best host for ``request`` in any cell.

        ``request`` is a per-move request (a copy of the stored spec):
        its server group's members and hosts are filled in here.
        ``exclude_instance_uuid`` is the server being moved or rebuilt: its
        own holdings and group membership do not count against it.
        ``NoValidHost`` says which filter refused the last hosts and why.
        """
        cells = CellMapping.get_all(ctx)
        hosts = host_manager.get_host_states(ctx, cells, exclude_instance_uuid)
        host_manager.populate_group(ctx, cells, request, exclude_instance_uuid)
        if not hosts:
            raise exception.NoValidHost(
                instance_uuid=request.instance_uuid,
                reason="there are no compute nodes in any cell",
            )
        passed, steps = run_filters(hosts, request, self.filters)
        if not passed:
            raise exception.NoValidHost(
                instance_uuid=request.instance_uuid,
                reason=explain_refusal(steps),
            )
        ranked = weighers.weigh(
            passed, request, ctx.settings.scheduler, self.weighers
        )
        best = ranked[0]
        return Selection(
            cell=best.host.cell,
            host=best.host.host,
            node=best.host.node,
            candidates=len(hosts),
            steps=tuple(steps),
            weight=best.weight,
            weighed=len(ranked),
            weight_reasons=best.reasons,
        )

    def select_destinations(
        self,
        ctx: context.RequestContext,
        request: RequestSpec,
        instance_uuids: Sequence[str],
        exclude_instance_uuid: str | None = None,
    ) -> list[Selection]:
        """The hosts for the servers of one request, in one pass.

        ``request`` is the per-move request the servers share (a
        multi-create's specs differ only in their uuids). Host states
        and group members are loaded once; each pick consumes the picked
        host's capacity and joins the group there, so the servers of the
        batch see each other (anti-affinity holds among them and with
        the existing members), as Nova's ``num_instances`` scheduling
        does. Returns one selection per uuid, in order. All or nothing,
        as in Nova: ``NoValidHost`` if any server finds no host.
        """
        if not instance_uuids:
            return []
        cells = CellMapping.get_all(ctx)
        hosts = host_manager.get_host_states(ctx, cells, exclude_instance_uuid)
        host_manager.populate_group(ctx, cells, request, exclude_instance_uuid)
        return batch.select_many(
            hosts,
            request,
            instance_uuids,
            self.filters,
            self.weighers,
            ctx.settings.scheduler,
        )
