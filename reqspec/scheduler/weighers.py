"""Weighers: order the hosts that passed every filter.

As in Nova, each weigher's raw values are scaled to 0..1 across the
candidates, multiplied by the weigher's multiplier and summed; the host
with the highest total wins. Ties go to the first host by cell name,
host and node, so the same inputs always give the same choice.
"""

from collections.abc import Sequence
import dataclasses

from reqspec.conf.settings import SchedulerSettings
from reqspec.objects import RequestSpec
from reqspec.scheduler.host_state import HostState


class BaseWeigher:
    name: str = ""

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls.name = cls.name or cls.__name__

    def multiplier(self, settings: SchedulerSettings) -> float:
        """This weigher's multiplier in ``settings`` (``[scheduler]``)."""
        raise NotImplementedError

    def raw(self, host: HostState, request: RequestSpec) -> float:
        raise NotImplementedError

    def describe(self, host: HostState, request: RequestSpec) -> str:
        raise NotImplementedError


class RAMWeigher(BaseWeigher):
    """More free RAM weighs more (spreading), or less with a negative
    multiplier (stacking)."""

    def multiplier(self, settings: SchedulerSettings) -> float:
        return settings.ram_weight_multiplier

    def raw(self, host: HostState, request: RequestSpec) -> float:
        return float(host.free.memory_mb)

    def describe(self, host: HostState, request: RequestSpec) -> str:
        return f"{host.free.memory_mb} MiB RAM free"


def _members_on(host: HostState, request: RequestSpec, policy: str) -> int:
    group = request.instance_group
    if group is None or group.policy != policy:
        return 0
    return group.hosts.count(host.host)


class SoftAffinityWeigher(BaseWeigher):
    """More members of a soft-affinity group on a host weighs more."""

    def multiplier(self, settings: SchedulerSettings) -> float:
        return settings.soft_affinity_weight_multiplier

    def raw(self, host: HostState, request: RequestSpec) -> float:
        return float(_members_on(host, request, "soft-affinity"))

    def describe(self, host: HostState, request: RequestSpec) -> str:
        count = _members_on(host, request, "soft-affinity")
        return f"{count} soft-affinity member(s)"


class SoftAntiAffinityWeigher(BaseWeigher):
    """More members of a soft-anti-affinity group on a host weighs less."""

    def multiplier(self, settings: SchedulerSettings) -> float:
        return settings.soft_anti_affinity_weight_multiplier

    def raw(self, host: HostState, request: RequestSpec) -> float:
        return -float(_members_on(host, request, "soft-anti-affinity"))

    def describe(self, host: HostState, request: RequestSpec) -> str:
        count = _members_on(host, request, "soft-anti-affinity")
        return f"{count} soft-anti-affinity member(s)"


DEFAULT_WEIGHERS: tuple[BaseWeigher, ...] = (
    RAMWeigher(),
    SoftAffinityWeigher(),
    SoftAntiAffinityWeigher(),
)


@dataclasses.dataclass(frozen=True)
class WeighedHost:
    host: HostState
    weight: float
    reasons: tuple[str, ...]


def _normalize(values: list[float]) -> list[float]:
    low, high = min(values), max(values)
    if high == low:
        return [0.0 for _ in values]
    return [(v - low) / (high - low) for v in values]


def relevant(weigher: BaseWeigher, request: RequestSpec) -> bool:
    """Whether the weigher has anything to say about this request."""
    group = request.instance_group
    policy = None if group is None else group.policy
    if isinstance(weigher, SoftAffinityWeigher):
        return policy == "soft-affinity"
    if isinstance(weigher, SoftAntiAffinityWeigher):
        return policy == "soft-anti-affinity"
    return True


def weigh(
    hosts: Sequence[HostState],
    request: RequestSpec,
    settings: SchedulerSettings,
    weighers: Sequence[BaseWeigher] = DEFAULT_WEIGHERS,
) -> list[WeighedHost]:
    """The hosts, best first, with the multipliers of ``settings``."""
    totals = [0.0 for _ in hosts]
    reasons: list[list[str]] = [[] for _ in hosts]
    for weigher in weighers:
        if not relevant(weigher, request):
            continue
        scaled = _normalize([weigher.raw(h, request) for h in hosts])
        multiplier = weigher.multiplier(settings)
        for i, host in enumerate(hosts):
            totals[i] += multiplier * scaled[i]
            reasons[i].append(weigher.describe(host, request))
    weighed = [
        WeighedHost(h, totals[i], tuple(reasons[i]))
        for i, h in enumerate(hosts)
    ]
    weighed.sort(
        key=lambda w: (-w.weight, w.host.cell.name, w.host.host, w.host.node)
    )
    return weighed
