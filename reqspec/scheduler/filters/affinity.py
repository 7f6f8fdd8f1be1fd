"""Server-group policies: affinity and anti-affinity.

Both read ``request.instance_group``: its policy from the stored spec,
its members' hosts as ``reqspec.scheduler.host_manager.populate_group``
found them for this request. The soft policies are weighers, not filters.
"""

from reqspec.objects import RequestSpec
from reqspec.scheduler.filters import BaseHostFilter
from reqspec.scheduler.host_state import HostState


def _policy(request: RequestSpec) -> str | None:
    group = request.instance_group
    return None if group is None else group.policy


class ServerGroupAntiAffinityFilter(BaseHostFilter):
    """Refuse hosts that already run ``max_server_per_host`` members."""

    def enabled_for(self, request: RequestSpec) -> bool:
        return _policy(request) == "anti-affinity"

    def refusal(self, host: HostState, request: RequestSpec) -> str | None:
        group = request.instance_group
        assert group is not None
        count = group.hosts.count(host.host)
        if count >= group.max_server_per_host:
            return f"{count} group member(s) already there"
        return None


class ServerGroupAffinityFilter(BaseHostFilter):
    """Once a member runs somewhere, refuse every other host."""

    def enabled_for(self, request: RequestSpec) -> bool:
        return _policy(request) == "affinity"

    def refusal(self, host: HostState, request: RequestSpec) -> str | None:
        group = request.instance_group
        assert group is not None
        if group.hosts and host.host not in group.hosts:
            return "affinity group members run elsewhere"
        return None
