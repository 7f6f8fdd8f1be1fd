"""The flavor's vCPUs, RAM and disk against each host's free capacity."""

from reqspec.objects import RequestSpec
from reqspec.objects.compute_node import Resources
from reqspec.objects.compute_node import UNITS
from reqspec.scheduler.filters import BaseHostFilter
from reqspec.scheduler.host_state import HostState


def requested(request: RequestSpec) -> Resources:
    """What the request's flavor needs on a host (no root disk for a
    boot-from-volume server)."""
    return Resources(request.vcpus, request.memory_mb, request.disk_gb)


class ComputeResourcesFilter(BaseHostFilter):
    """Refuse hosts without enough free vCPU, RAM or local disk.

    Free capacity is the node's size times its allocation ratio minus what
    the cell's servers hold there. The claim that follows a selection
    checks the same sums again under the node's lock.
    """

    def refusal(self, host: HostState, request: RequestSpec) -> str | None:
        need = requested(request)
        for field, want, free in zip(
            Resources._fields, need, host.free, strict=True
        ):
            if want > free:
                return f"needs {want} {UNITS[field]}, {max(free, 0)} free"
        return None
