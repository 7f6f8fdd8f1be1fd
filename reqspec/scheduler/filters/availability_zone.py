"""The availability zone the user asked for."""

from reqspec.objects import RequestSpec
from reqspec.scheduler.filters import BaseHostFilter
from reqspec.scheduler.host_state import HostState


class AvailabilityZoneFilter(BaseHostFilter):
    """Refuse hosts outside the spec's availability zone (if it has one).

    The zone is part of the stored spec, so every move of the server
    stays in the zone it was booted into.
    """

    static = True

    def enabled_for(self, request: RequestSpec) -> bool:
        return request.availability_zone is not None

    def refusal(self, host: HostState, request: RequestSpec) -> str | None:
        if host.availability_zone != request.availability_zone:
            return f"in zone {host.availability_zone}"
        return None
