"""One scheduling pass for a batch gives what a full pass per server
would, and places the servers of the batch around each other."""

import copy

import pytest

from reqspec import exception
from reqspec.objects.compute_node import Resources
from reqspec.scheduler import batch
from reqspec.scheduler import weighers
from reqspec.scheduler.filters.resources import requested
from reqspec.scheduler.scheduler import DEFAULT_FILTERS
from reqspec.scheduler.scheduler import run_filters
from reqspec.scheduler.selection import explain_refusal
from tests.fixtures import cloud
from tests.scheduler.helpers import CELL2
from tests.scheduler.helpers import host
from tests.scheduler.helpers import request
from tests.scheduler.helpers import SCHEDULER

UUIDS = [f"7b9e1d2f-0000-4000-8000-{i:012d}" for i in range(40)]


def _hosts():
    """Uneven hosts over two cells: some small, one down, one in
    another zone, two nodes of one host."""
    return [
        host("h1", free=Resources(4, 4096, 100)),
        host("h2", free=Resources(8, 16384, 100)),
        host("h3", free=Resources(2, 2048, 20), cell=CELL2),
        host("h4", free=Resources(8, 8192, 100), up=False),
        host("h5", free=Resources(8, 8192, 100), availability_zone="az-2"),
        host("h6", node="h6a", free=Resources(4, 6144, 100), cell=CELL2),
        host("h6", node="h6b", free=Resources(4, 6144, 100), cell=CELL2),
    ]


def _full_passes(hosts, req, uuids):
    """The reference: filter and weigh every host before every pick,
    then consume the pick."""
    picks = []
    for uuid in uuids:
        passed, steps = run_filters(hosts, req)
        if not passed:
            raise exception.NoValidHost(
                instance_uuid=uuid, reason=explain_refusal(steps)
            )
        best = weighers.weigh(passed, req, SCHEDULER)[0]
        picks.append((best.host.host, best.host.node, best.weight, steps))
        best.host.free = best.host.free - requested(req)
        best.host.running_instances += 1
        group = req.instance_group
        if group is not None:
            group.members.append(uuid)
            group.hosts.append(best.host.host)
    return picks


@pytest.mark.parametrize(
    "policy", [None, "anti-affinity", "affinity", "soft-anti-affinity"]
)
def test_one_pass_equals_a_full_pass_per_server(policy):
    def make():
        req = request(availability_zone="az-1")
        if policy is not None:
            group = cloud.group(policy, max_server_per_host="2")
            group.members, group.hosts = (
                ["7b9e1d2f-0000-4000-8000-0000000f0000"],
                ["h2"],
            )
            req.instance_group = group
        return req

    count = 6 if policy == "anti-affinity" else 9
    if policy == "affinity":
        count = 4  # what h2 holds besides its existing member
    expected = _full_passes(_hosts(), make(), UUIDS[:count])
    got = batch.select_many(
        _hosts(),
        make(),
        UUIDS[:count],
        DEFAULT_FILTERS,
        weighers.DEFAULT_WEIGHERS,
        SCHEDULER,
    )
    assert [(s.host, s.node, s.weight, list(s.steps)) for s in got] == expected


def test_anti_affinity_holds_within_the_batch_and_with_members():
    req = request()
    group = cloud.group("anti-affinity")
    group.members, group.hosts = [UUIDS[39]], ["h2"]
    req.instance_group = group
    hosts = [host(f"h{i}") for i in range(1, 5)]
    got = batch.select_many(
        hosts,
        req,
        UUIDS[:3],
        DEFAULT_FILTERS,
        weighers.DEFAULT_WEIGHERS,
        SCHEDULER,
    )
    assert sorted(s.host for s in got) == ["h1", "h3", "h4"]
    assert group.members == [UUIDS[39], *UUIDS[:3]]

    # A fourth server has nowhere to go: the whole batch fails.
    req = request()
    group = cloud.group("anti-affinity")
    group.members, group.hosts = [UUIDS[39]], ["h2"]
    req.instance_group = group
    with pytest.raises(exception.NoValidHost) as err:
        batch.select_many(
            [host(f"h{i}") for i in range(1, 5)],
            req,
            UUIDS[:4],
            DEFAULT_FILTERS,
            weighers.DEFAULT_WEIGHERS,
            SCHEDULER,
        )
    assert "3 of the request's 4 servers found a host" in str(err.value)
    assert "ServerGroupAntiAffinityFilter" in str(err.value)
    assert UUIDS[3] in str(err.value)


def test_each_pick_consumes_the_hosts_capacity():
    hosts = [
        host("h1", free=Resources(4, 4096, 100)),
        host("h2", free=Resources(4, 3072, 100)),
    ]
    got = batch.select_many(
        hosts,
        request(),
        UUIDS[:7],
        DEFAULT_FILTERS,
        weighers.DEFAULT_WEIGHERS,
        SCHEDULER,
    )
    # Spread by free RAM (1 GiB each), until both are full.
    assert [s.host for s in got] == ["h1", "h1", "h2", "h1", "h2", "h1", "h2"]
    assert [h.free.memory_mb for h in hosts] == [0, 0]
    assert [h.running_instances for h in hosts] == [4, 3]
    with pytest.raises(exception.NoValidHost, match="ComputeResourcesFilter"):
        batch.select_many(
            copy.deepcopy(hosts),
            request(),
            UUIDS[:1],
            DEFAULT_FILTERS,
            weighers.DEFAULT_WEIGHERS,
            SCHEDULER,
        )


def test_no_hosts_at_all():
    with pytest.raises(exception.NoValidHost, match="no compute nodes"):
        batch.select_many(
            [],
            request(),
            UUIDS[:2],
            DEFAULT_FILTERS,
            weighers.DEFAULT_WEIGHERS,
            SCHEDULER,
        )
