"""Each filter refuses exactly the hosts the request rules out."""

from reqspec.objects import Destination
from reqspec.objects import SchedulerRetries
from reqspec.objects.compute_node import Resources
from reqspec.scheduler.filters.affinity import ServerGroupAffinityFilter
from reqspec.scheduler.filters.affinity import ServerGroupAntiAffinityFilter
from reqspec.scheduler.filters.availability_zone import AvailabilityZoneFilter
from reqspec.scheduler.filters.compute import ComputeFilter
from reqspec.scheduler.filters.destination import ForcedHostsFilter
from reqspec.scheduler.filters.destination import IgnoreHostsFilter
from reqspec.scheduler.filters.destination import RequestedDestinationFilter
from reqspec.scheduler.filters.destination import RetryFilter
from reqspec.scheduler.filters.image_props import ImagePropertiesFilter
from reqspec.scheduler.filters.resources import ComputeResourcesFilter
from reqspec.scheduler.scheduler import run_filters
from tests.fixtures import cloud
from tests.scheduler.helpers import CELL1
from tests.scheduler.helpers import CELL2
from tests.scheduler.helpers import host
from tests.scheduler.helpers import request


def _passing(host_filter, hosts, req):
    assert host_filter.enabled_for(req)
    return [h.host for h in hosts if host_filter.refusal(h, req) is None]


def test_compute_filter():
    hosts = [host("up"), host("down", up=False), host("off", disabled=True)]
    assert _passing(ComputeFilter(), hosts, request()) == ["up"]


def test_resources_against_free_capacity():
    req = request(flavor=cloud.flavor(vcpus=2, memory_mb=4096, root_gb=40))
    hosts = [
        host("fits", free=Resources(2, 4096, 40)),
        host("cpu", free=Resources(1, 8192, 100)),
        host("ram", free=Resources(4, 4095, 100)),
        host("disk", free=Resources(4, 8192, 39)),
    ]
    assert _passing(ComputeResourcesFilter(), hosts, req) == ["fits"]
    reason = ComputeResourcesFilter().refusal(hosts[2], req)
    assert reason == "needs 4096 MiB of RAM, 4095 free"


def test_boot_from_volume_needs_no_root_disk():
    req = request(flavor=cloud.flavor(root_gb=40), is_bfv=True)
    small_disk = host("h", free=Resources(4, 8192, 0))
    assert ComputeResourcesFilter().refusal(small_disk, req) is None


def test_availability_zone():
    hosts = [
        host("a", availability_zone="az-1"),
        host("b", availability_zone="az-2"),
    ]
    assert not AvailabilityZoneFilter().enabled_for(request())
    req = request(availability_zone="az-2")
    assert _passing(AvailabilityZoneFilter(), hosts, req) == ["b"]


def test_anti_affinity_counts_members_per_host():
    group = cloud.group("anti-affinity")
    group.members, group.hosts = (
        ["a" * 8 + "-0000-4000-8000-000000000001"],
        ["h1"],
    )
    req = request(instance_group=group)
    hosts = [host("h1"), host("h2")]
    assert _passing(ServerGroupAntiAffinityFilter(), hosts, req) == ["h2"]
    assert not ServerGroupAffinityFilter().enabled_for(req)

    two_per_host = cloud.group("anti-affinity", max_server_per_host="2")
    two_per_host.members, two_per_host.hosts = [], ["h1"]
    req = request(instance_group=two_per_host)
    assert _passing(ServerGroupAntiAffinityFilter(), hosts, req) == [
        "h1",
        "h2",
    ]
    two_per_host.hosts = ["h1", "h1"]
    assert _passing(ServerGroupAntiAffinityFilter(), hosts, req) == ["h2"]


def test_affinity_follows_the_first_member():
    group = cloud.group("affinity")
    group.members, group.hosts = [], []
    req = request(instance_group=group)
    hosts = [host("h1"), host("h2")]
    assert _passing(ServerGroupAffinityFilter(), hosts, req) == ["h1", "h2"]
    group.hosts = ["h2"]
    assert _passing(ServerGroupAffinityFilter(), hosts, req) == ["h2"]


def test_forced_hosts_and_nodes():
    hosts = [host("h1"), host("h2"), host("h3", node="n3")]
    assert not ForcedHostsFilter().enabled_for(request())
    assert _passing(
        ForcedHostsFilter(), hosts, request(force_hosts=["h2"])
    ) == ["h2"]
    req = request(force_nodes=["n3"])
    assert _passing(ForcedHostsFilter(), hosts, req) == ["h3"]


def test_requested_destination():
    hosts = [
        host("a", aggregates=frozenset({"ssd"})),
        host("b", aggregates=frozenset({"ssd", "gpu"})),
        host("c", cell=CELL2, aggregates=frozenset({"hdd"})),
    ]
    f = RequestedDestinationFilter()
    assert _passing(
        f, hosts, request(requested_destination=Destination(cell=CELL2))
    ) == ["c"]
    assert _passing(
        f, hosts, request(requested_destination=Destination(host="b"))
    ) == ["b"]
    dest = Destination(cell=CELL1)
    dest.require_aggregates(["gpu", "hdd"])
    assert _passing(f, hosts, request(requested_destination=dest)) == ["b"]
    dest = Destination(forbidden_aggregates={"gpu"})
    assert _passing(f, hosts, request(requested_destination=dest)) == [
        "a",
        "c",
    ]


def test_ignore_hosts_and_retry():
    hosts = [host("h1"), host("h2"), host("h3")]
    assert _passing(
        IgnoreHostsFilter(), hosts, request(ignore_hosts=["h1"])
    ) == ["h2", "h3"]
    retry = SchedulerRetries(num_attempts=1, hosts=[["h2", "h2"]])
    assert _passing(RetryFilter(), hosts, request(retry=retry)) == ["h1", "h3"]
    assert not RetryFilter().enabled_for(request())


def test_image_properties():
    hosts = [
        host("x86"),
        host("arm", architecture="aarch64"),
        host("unknown", architecture=None),
        host("xen", hypervisor_type="xen"),
    ]
    assert not ImagePropertiesFilter().enabled_for(request())
    assert _passing(
        ImagePropertiesFilter(), hosts, request(image=cloud.ARM)
    ) == ["arm"]
    image = {"properties": {"img_hv_type": "xen"}}
    assert _passing(ImagePropertiesFilter(), hosts, request(image=image)) == [
        "xen"
    ]


def test_run_filters_records_each_step_and_stops_when_empty():
    hosts = [
        host("h1"),
        host("h2", availability_zone="az-2"),
        host("h3", up=False),
    ]
    passed, steps = run_filters(hosts, request(availability_zone="az-2"))
    assert [h.host for h in passed] == ["h2"]
    # Filters the request asks nothing of are skipped.
    assert [(s.name, s.before, s.after) for s in steps] == [
        ("ComputeFilter", 3, 2),
        ("AvailabilityZoneFilter", 2, 1),
        ("ComputeResourcesFilter", 1, 1),
    ]
    passed, steps = run_filters(hosts, request(availability_zone="az-3"))
    assert passed == []
    assert steps[-1].name == "AvailabilityZoneFilter"
    assert steps[-1].refused == (
        ("h1", "in zone az-1"),
        ("h2", "in zone az-2"),
    )
    # Different reasons: the summary gives only the count.
    assert steps[-1].summary() == "AvailabilityZoneFilter -2"
