"""Weighers rank the hosts that passed; ties break the same way always."""

from reqspec.objects.compute_node import Resources
from reqspec.scheduler import weighers
from tests.fixtures import cloud
from tests.fixtures import settings
from tests.scheduler.helpers import CELL2
from tests.scheduler.helpers import host
from tests.scheduler.helpers import request


def _order(hosts, req, **scheduler):
    """The hosts' names, best first, with ``[scheduler]`` options
    ``scheduler`` set."""
    options = settings.make(scheduler=scheduler).scheduler
    return [w.host.host for w in weighers.weigh(hosts, req, options)]


def _ram(name, free_mb, **kw):
    return host(name, free=Resources(4, free_mb, 100), **kw)


def test_more_free_ram_wins_by_default():
    hosts = [_ram("a", 1000), _ram("b", 3000), _ram("c", 2000)]
    assert _order(hosts, request()) == ["b", "c", "a"]


def test_a_negative_multiplier_stacks():
    hosts = [_ram("a", 1000), _ram("b", 3000), _ram("c", 2000)]
    stacking = _order(hosts, request(), ram_weight_multiplier=-1.0)
    assert stacking == ["a", "c", "b"]


def test_ties_break_by_cell_then_host():
    hosts = [_ram("b", 1000), _ram("a", 1000, cell=CELL2), _ram("c", 1000)]
    assert _order(hosts, request()) == ["b", "c", "a"]


def test_soft_anti_affinity_prefers_hosts_without_members():
    group = cloud.group("soft-anti-affinity")
    group.members, group.hosts = [], ["b", "b", "a"]
    hosts = [_ram("a", 1000), _ram("b", 1000), _ram("c", 1000)]
    assert _order(hosts, request(instance_group=group)) == ["c", "a", "b"]


def test_soft_affinity_prefers_the_members_host():
    group = cloud.group("soft-affinity")
    group.members, group.hosts = [], ["c"]
    # Both weights are scaled to 0..1: with RAM counting half as much,
    # the member's host wins although it has less RAM free.
    hosts = [_ram("a", 3000), _ram("c", 1000)]
    order = _order(
        hosts, request(instance_group=group), ram_weight_multiplier=0.5
    )
    assert order == ["c", "a"]
