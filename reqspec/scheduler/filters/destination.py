"""Where the request says to go, or not to go.

* ``force_hosts``/``force_nodes`` (stored): the user's ``az:host:node``
  at boot. They pin the first placement only: the conductor drops them
  (``RequestSpec.reset_forced_destinations``) for every later move, as
  Nova does; an admin who wants a host for a move asks with a requested
  destination. Unlike Nova's legacy behaviour, a forced host still goes
  through every other filter, so forcing cannot break the zone or the
  group policy.
* ``requested_destination`` (per move): host, node, cell, required and
  forbidden aggregates.
* ``ignore_hosts`` (per move): the current host of a migration.
* ``retry`` (per move): hosts whose claim already failed for this request.
"""

from reqspec.objects import RequestSpec
from reqspec.scheduler.filters import BaseHostFilter
from reqspec.scheduler.host_state import HostState


class ForcedHostsFilter(BaseHostFilter):
    """Keep only the forced hosts and nodes, when there are any."""

    static = True

    def enabled_for(self, request: RequestSpec) -> bool:
        return bool(request.force_hosts or request.force_nodes)

    def refusal(self, host: HostState, request: RequestSpec) -> str | None:
        if request.force_hosts and host.host not in request.force_hosts:
            return "not a forced host"
        if request.force_nodes and host.node not in request.force_nodes:
            return "not a forced node"
        return None


class RequestedDestinationFilter(BaseHostFilter):
    """Keep only hosts matching the requested destination."""

    static = True

    def enabled_for(self, request: RequestSpec) -> bool:
        return request.requested_destination is not None

    def refusal(self, host: HostState, request: RequestSpec) -> str | None:
        dest = request.requested_destination
        assert dest is not None
        if dest.cell is not None and host.cell.uuid != dest.cell.uuid:
            return f"not in cell {dest.cell.name}"
        if dest.host is not None and host.host != dest.host:
            return "not the requested host"
        if dest.node is not None and host.node != dest.node:
            return "not the requested node"
        # Each entry is a comma-joined group: the host must be in one
        # aggregate of every group.
        for group in dest.aggregates or ():
            if not host.aggregates & set(group.split(",")):
                return f"in none of the aggregates {group}"
        forbidden = host.aggregates & set(dest.forbidden_aggregates or ())
        if forbidden:
            return f"in forbidden aggregate {sorted(forbidden)[0]}"
        return None


class IgnoreHostsFilter(BaseHostFilter):
    """Refuse the hosts this move must leave (e.g. the current one)."""

    static = True

    def enabled_for(self, request: RequestSpec) -> bool:
        return bool(request.ignore_hosts)

    def refusal(self, host: HostState, request: RequestSpec) -> str | None:
        if host.host in (request.ignore_hosts or ()):
            return "the host this move leaves"
        return None


class RetryFilter(BaseHostFilter):
    """Refuse hosts already tried for this request."""

    static = True

    def enabled_for(self, request: RequestSpec) -> bool:
        return request.retry is not None and bool(request.retry.hosts)

    def refusal(self, host: HostState, request: RequestSpec) -> str | None:
        assert request.retry is not None
        if [host.host, host.node] in request.retry.hosts:
            return "already tried for this request"
        return None
