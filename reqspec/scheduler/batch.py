"""Scheduling a batch of servers of one request in one pass.

As Nova's ``FilterScheduler._schedule`` with ``num_instances``: the
servers are placed one after the other on the same host states, and each
pick consumes the picked host's capacity in memory and adds the server
to its group on that host, so later picks of the batch see it (capacity,
anti-affinity among the batch and with existing members).

The answer is the one that filtering and weighing every host again
before each pick would give; it is only cheaper. A pick changes the
picked host's state and the group's hosts, nothing else, so:

* static filters (``BaseHostFilter.static``) are asked once per host;
* the other filters and the weighers' raw values are asked again only
  for the hosts sharing the picked host's name (a host name may have
  several nodes), and for every host when the group gains a host (the
  affinity filter's verdict on every host depends on that);
* the weighers' scaling across the candidates is redone at every pick
  (cheap arithmetic), as the full pass would.
"""

from collections.abc import Sequence

from reqspec import exception
from reqspec.conf.settings import SchedulerSettings
from reqspec.objects import RequestSpec
from reqspec.scheduler import weighers as weighing
from reqspec.scheduler.filters import BaseHostFilter
from reqspec.scheduler.filters.resources import requested
from reqspec.scheduler.host_state import HostState
from reqspec.scheduler.selection import explain_refusal
from reqspec.scheduler.selection import FilterStep
from reqspec.scheduler.selection import Selection

#: (index of the first enabled filter that refuses the host, its reason),
#: or None for a host that passes them all.
Verdict = tuple[int, str] | None


class _Pass:
    """The host states and what the filters and weighers said of them."""

    def __init__(
        self,
        hosts: Sequence[HostState],
        request: RequestSpec,
        filters: Sequence[BaseHostFilter],
        weighers: Sequence[weighing.BaseWeigher],
        settings: SchedulerSettings,
    ) -> None:
        self.hosts = list(hosts)
        self.request = request
        self.filters = [f for f in filters if f.enabled_for(request)]
        self.weighers = [w for w in weighers if weighing.relevant(w, request)]
        self.multipliers = [w.multiplier(settings) for w in self.weighers]
        self._static: dict[tuple[int, int], str | None] = {}
        # Ties go to the first cell, host and node by name (weigh's order).
        self.order = [(h.cell.name, h.host, h.node) for h in self.hosts]
        self.verdicts: list[Verdict] = [None] * len(self.hosts)
        self.raw: list[list[float]] = [[] for _ in self.hosts]
        self.refresh(range(len(self.hosts)))

    def refresh(self, indexes: Sequence[int] | range) -> None:
        for i in indexes:
            self.verdicts[i] = self._verdict(i)
            host = self.hosts[i]
            self.raw[i] = [w.raw(host, self.request) for w in self.weighers]

    def _verdict(self, i: int) -> Verdict:
        host = self.hosts[i]
        for index, host_filter in enumerate(self.filters):
            if host_filter.static:
                key = (index, i)
                if key not in self._static:
                    self._static[key] = host_filter.refusal(host, self.request)
                reason = self._static[key]
            else:
                reason = host_filter.refusal(host, self.request)
            if reason is not None:
                return index, reason
        return None

    def steps(self) -> list[FilterStep]:
        """What each filter did, as ``run_filters`` reports it."""
        refused: list[list[tuple[str, str]]] = [[] for _ in self.filters]
        for host, verdict in zip(self.hosts, self.verdicts, strict=True):
            if verdict is not None:
                refused[verdict[0]].append((host.name, verdict[1]))
        steps = []
        remaining = len(self.hosts)
        for host_filter, out in zip(self.filters, refused, strict=True):
            steps.append(FilterStep(host_filter.name, remaining, tuple(out)))
            remaining -= len(out)
            if not remaining:
                break
        return steps

    def best(self) -> tuple[int, float, int] | None:
        """The winning host's index, its weight and how many were
        weighed, as ``weighers.weigh`` would rank them; None if no host
        passed."""
        passed = [i for i, v in enumerate(self.verdicts) if v is None]
        if not passed:
            return None
        totals = [0.0] * len(passed)
        for k, multiplier in enumerate(self.multipliers):
            values = [self.raw[i][k] for i in passed]
            low, high = min(values), max(values)
            if high == low:
                scaled = [0.0] * len(values)
            else:
                scaled = [(v - low) / (high - low) for v in values]
            for j, value in enumerate(scaled):
                totals[j] += multiplier * value

        top = max(totals)
        tied = [j for j, total in enumerate(totals) if total == top]
        winner = min(tied, key=lambda j: self.order[passed[j]])
        return passed[winner], top, len(passed)


def select_many(
    hosts: Sequence[HostState],
    request: RequestSpec,
    instance_uuids: Sequence[str],
    filters: Sequence[BaseHostFilter],
    weighers: Sequence[weighing.BaseWeigher],
    settings: SchedulerSettings,
) -> list[Selection]:
    """One selection per server, in order; all or ``NoValidHost``.

    ``hosts`` are consumed in place; ``request`` is the per-move request
    the servers share (its group's members and hosts already filled in),
    and gains each picked server as a member.
    """
    if not hosts:
        raise exception.NoValidHost(
            instance_uuid=instance_uuids[0] if instance_uuids else None,
            reason="there are no compute nodes in any cell",
        )
    state = _Pass(hosts, request, filters, weighers, settings)
    need = requested(request)
    group = request.instance_group
    selections = []
    for placed, uuid in enumerate(instance_uuids):
        found = state.best()
        if found is None:
            reason = explain_refusal(state.steps())
            if placed:
                reason = (
                    f"{placed} of the request's {len(instance_uuids)} "
                    f"servers found a host, the next one none: {reason}"
                )
            raise exception.NoValidHost(instance_uuid=uuid, reason=reason)
        index, weight, weighed = found
        host = state.hosts[index]
        selections.append(
            Selection(
                cell=host.cell,
                host=host.host,
                node=host.node,
                candidates=len(state.hosts),
                steps=tuple(state.steps()),
                weight=weight,
                weighed=weighed,
                weight_reasons=tuple(
                    w.describe(host, request) for w in state.weighers
                ),
            )
        )
        # What the server takes from the host, as its claim will.
        host.free = host.free - need
        host.running_instances += 1
        dirty = [i for i, h in enumerate(state.hosts) if h.host == host.host]
        if group is not None:
            new_host = host.host not in group.hosts
            # In place: a per-move request's lists, not stored, and
            # assigning would check every member again at every pick.
            group.members.append(uuid)
            group.hosts.append(host.host)
            if new_host:
                dirty = list(range(len(state.hosts)))
        state.refresh(dirty)
    return selections
