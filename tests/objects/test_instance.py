"""Instance: claims against capacity, conditional changes, resizes."""

import threading

import pytest

from reqspec import exception
from reqspec.objects import ComputeNode
from reqspec.objects import Instance
from reqspec.objects import RequestSpec
from reqspec.objects.compute_node import Resources
from tests.fixtures import cloud

A = "2d4b5e1f-0000-4000-8000-00000000000a"
B = "2d4b5e1f-0000-4000-8000-00000000000b"


def _new(ctx, uuid, host="h1", vcpus=2, memory_mb=4096, disk_gb=50):
    return Instance(
        ctx,
        uuid=uuid,
        status="ACTIVE",
        host=host,
        node=host,
        vcpus=vcpus,
        memory_mb=memory_mb,
        disk_gb=disk_gb,
    )


def _used(ctx, host):
    nodes = ComputeNode.get_all(ctx, with_usage=True)
    return {n.host: n.used for n in nodes}[host]


def test_a_claim_that_does_not_fit_writes_nothing(db):
    ctx = db.cell_context(0)
    cloud.add_host(db, 0, "h1", vcpus=4, memory_mb=8192, local_gb=100)
    _new(ctx, A, memory_mb=6144).create()
    with pytest.raises(exception.ComputeResourcesUnavailable) as err:
        _new(ctx, B, memory_mb=4096).create()
    assert "needs 4096 MiB of RAM, 2048 free" in err.value.message
    assert [i.uuid for i in Instance.get_all(ctx)] == [A]
    with pytest.raises(exception.InstanceExists):
        _new(ctx, A, memory_mb=1).create()


def test_a_claim_needs_a_known_node(db):
    with pytest.raises(exception.ComputeHostNotFound):
        _new(db.cell_context(0), A, host="nowhere").create()


def test_changes_are_conditional_on_what_the_caller_saw(db):
    ctx = db.cell_context(0)
    for host in ("h1", "h2", "h3"):
        cloud.add_host(db, 0, host)
    _new(ctx, A).create()
    first = Instance.get_by_uuid(ctx, A)
    second = Instance.get_by_uuid(ctx, A)
    first.move_to("h2", "h2")
    with pytest.raises(exception.InstanceConflict):
        second.move_to("h3", "h3")
    assert Instance.get_by_uuid(ctx, A).host == "h2"
    assert _used(ctx, "h1") == Resources(0, 0, 0)
    assert _used(ctx, "h3") == Resources(0, 0, 0)


def test_resize_holds_both_hosts_until_confirmed(db):
    ctx = db.cell_context(0)
    cloud.add_host(db, 0, "h1")
    cloud.add_host(db, 0, "h2")
    _new(ctx, A, vcpus=1, memory_mb=1024, disk_gb=10).create()
    old = cloud.flavor("small", 1, 1024, 10)
    new = cloud.flavor("big", 2, 2048, 20)
    request = _request(db, A, new)

    instance = Instance.get_by_uuid(ctx, A)
    instance.start_resize("h2", "h2", request, old)
    assert instance.status == "VERIFY_RESIZE"
    assert _used(ctx, "h1") == Resources(1, 1024, 10)
    assert _used(ctx, "h2") == Resources(2, 2048, 20)
    assert Instance.get_by_uuid(ctx, A).new_flavor == new

    Instance.get_by_uuid(ctx, A).confirm_resize()
    assert _used(ctx, "h1") == Resources(0, 0, 0)
    assert _used(ctx, "h2") == Resources(2, 2048, 20)
    loaded = Instance.get_by_uuid(ctx, A)
    assert loaded.old_flavor is None and loaded.old_host is None


def test_revert_returns_to_the_source(db):
    ctx = db.cell_context(0)
    cloud.add_host(db, 0, "h1")
    cloud.add_host(db, 0, "h2")
    _new(ctx, A, vcpus=1, memory_mb=1024, disk_gb=10).create()
    old = cloud.flavor("small", 1, 1024, 10)
    new = cloud.flavor("big", 2, 2048, 20)
    Instance.get_by_uuid(ctx, A).start_resize(
        "h2", "h2", _request(db, A, new), old
    )
    instance = Instance.get_by_uuid(ctx, A)
    instance.revert_resize()
    assert (instance.host, instance.status, instance.vcpus) == (
        "h1",
        "ACTIVE",
        1,
    )
    assert _used(ctx, "h2") == Resources(0, 0, 0)
    with pytest.raises(exception.InvalidInstanceState):
        instance.confirm_resize()


def test_shelve_offload_releases_the_host(db):
    ctx = db.cell_context(0)
    cloud.add_host(db, 0, "h1")
    _new(ctx, A).create()
    instance = Instance.get_by_uuid(ctx, A)
    instance.shelve_offload()
    assert (instance.host, instance.status) == (None, "SHELVED_OFFLOADED")
    assert _used(ctx, "h1") == Resources(0, 0, 0)
    instance.move_to("h1", "h1")
    assert (instance.host, instance.status) == ("h1", "ACTIVE")


def test_concurrent_claims_never_overfill_a_node(db):
    """Ten claims race for a node that takes four: exactly four win."""
    cloud.add_host(db, 0, "h1", vcpus=4, memory_mb=4096, local_gb=40)
    results = []

    def claim(i):
        uuid = f"3e5c6f20-0000-4000-8000-{i:012d}"
        try:
            _new(
                db.cell_context(0), uuid, vcpus=1, memory_mb=1024, disk_gb=10
            ).create()
            results.append("ok")
        except exception.ComputeResourcesUnavailable:
            results.append("full")

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive()
    assert sorted(results) == ["full"] * 6 + ["ok"] * 4
    assert _used(db.cell_context(0), "h1") == Resources(4, 4096, 40)


def _request(env, uuid, flavor):
    return RequestSpec.from_components(
        env.ctx, instance_uuid=uuid, flavor=flavor
    )


def test_concurrent_moves_never_overfill_a_node(db):
    """Ten servers move at once onto a node that takes four."""
    cloud.add_host(db, 0, "src", vcpus=16, memory_mb=16384, local_gb=200)
    cloud.add_host(db, 0, "dst", vcpus=4, memory_mb=4096, local_gb=40)
    uuids = [f"4f6d7a31-0000-4000-8000-{i:012d}" for i in range(10)]
    for uuid in uuids:
        _new(db.cell_context(0), uuid, "src", 1, 1024, 10).create()
    results = []

    def move(uuid):
        instance = Instance.get_by_uuid(db.cell_context(0), uuid)
        try:
            instance.move_to("dst", "dst")
            results.append("ok")
        except exception.ComputeResourcesUnavailable:
            results.append("full")
        except Exception as err:
            results.append(repr(err))

    threads = [threading.Thread(target=move, args=(u,)) for u in uuids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive()
    assert sorted(results) == ["full"] * 6 + ["ok"] * 4
    assert _used(db.cell_context(0), "dst") == Resources(4, 4096, 40)


def test_get_by_uuids_reads_what_the_cell_holds(db):
    ctx = db.cell_context(0)
    cloud.add_host(db, 0, "h1")
    _new(ctx, A).create()
    missing = "2d4b5e1f-0000-4000-8000-0000000000ff"
    found = Instance.get_by_uuids(ctx, [A, missing, "not-a-uuid"])
    assert list(found) == [A]
    assert found[A].host == "h1" and found[A].obj_what_changed() == set()
    assert Instance.get_by_uuids(db.cell_context(1), [A]) == {}
    assert Instance.get_by_uuids(ctx, []) == {}
