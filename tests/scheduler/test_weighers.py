"""Weighers rank the hosts that passed; ties break the same way always."""

from reqspec import conf
from reqspec.objects.compute_node import Resources
from reqspec.scheduler import weighers
from tests.fixtures import cloud
from tests.scheduler.helpers import CELL2
from tests.scheduler.helpers import host
from tests.scheduler.helpers import request

CONF = conf.CONF


def _order(hosts, req):
    return [w.host.host for w in weighers.weigh(hosts, req)]


def _ram(name, free_mb, **kw):
    return host(name, free=Resources(4, free_mb, 100), **kw)


def test_more_free_ram_wins_by_default():
    hosts = [_ram("a", 1000), _ram("b", 3000), _ram("c", 2000)]
    assert _order(hosts, request()) == ["b", "c", "a"]


def test_a_negative_multiplier_stacks():
    CONF.set_override("ram_weight_multiplier", -1.0, group="scheduler")
    hosts = [_ram("a", 1000), _ram("b", 3000), _ram("c", 2000)]
    assert _order(hosts, request()) == ["a", "c", "b"]


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
    CONF.set_override("ram_weight_multiplier", 0.5, group="scheduler")
    hosts = [_ram("a", 3000), _ram("c", 1000)]
    assert _order(hosts, request(instance_group=group)) == ["c", "a"]
