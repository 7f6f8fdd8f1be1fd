"""Hosts that are down or disabled take no servers."""

from reqspec.objects import RequestSpec
from reqspec.scheduler.filters import BaseHostFilter
from reqspec.scheduler.host_state import HostState


class ComputeFilter(BaseHostFilter):
    """Refuse hosts that are forced down or disabled by an operator."""

    static = True

    def refusal(self, host: HostState, request: RequestSpec) -> str | None:
        if not host.up:
            return "host is down"
        if host.disabled:
            return "host is disabled"
        return None
