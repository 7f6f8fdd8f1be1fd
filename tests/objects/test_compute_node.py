"""ComputeNode: hosts of a cell, with usage added up from its servers."""

import pytest

from reqspec import exception
from reqspec.objects import ComputeNode
from reqspec.objects import Instance
from reqspec.objects.compute_node import Resources
from tests.fixtures import cloud

A = "1c3a4d0e-0000-4000-8000-00000000000a"
B = "1c3a4d0e-0000-4000-8000-00000000000b"


def _instance(ctx, uuid, host, vcpus=1, memory_mb=1024, disk_gb=10):
    instance = Instance(
        ctx,
        uuid=uuid,
        status="ACTIVE",
        host=host,
        node=host,
        vcpus=vcpus,
        memory_mb=memory_mb,
        disk_gb=disk_gb,
    )
    instance.create()
    return instance


@pytest.mark.backends("sqlite", "postgresql")
def test_capacity_uses_allocation_ratios(db):
    node = cloud.add_host(
        db,
        0,
        "h1",
        vcpus=4,
        memory_mb=1000,
        cpu_allocation_ratio=4.0,
        ram_allocation_ratio=1.5,
    )
    assert node.capacity == Resources(16, 1500, 100)


def test_usage_is_added_up_from_the_cells_servers(db):
    ctx = db.cell_context(0)
    cloud.add_host(db, 0, "h1")
    cloud.add_host(db, 0, "h2", aggregates=["ssd", "gpu"])
    _instance(ctx, A, "h1", vcpus=2, memory_mb=2048, disk_gb=20)
    _instance(ctx, B, "h1", vcpus=1, memory_mb=512, disk_gb=5)

    nodes = {n.host: n for n in ComputeNode.get_all(ctx, with_usage=True)}
    assert nodes["h1"].used == Resources(3, 2560, 25)
    assert nodes["h1"].running_instances == 2
    assert nodes["h1"].free == Resources(1, 8192 - 2560, 75)
    assert nodes["h2"].used == Resources(0, 0, 0)
    assert nodes["h2"].aggregates == ["gpu", "ssd"]

    without_a = ComputeNode.get_all(
        ctx, with_usage=True, exclude_instance_uuid=A
    )
    assert {n.host: n.used for n in without_a}["h1"] == Resources(1, 512, 5)
    # Another cell sees none of it.
    assert ComputeNode.get_all(db.cell_context(1)) == []


def test_duplicate_node(db):
    cloud.add_host(db, 0, "h1")
    with pytest.raises(exception.ComputeNodeExists):
        cloud.add_host(db, 0, "h1")
    # The same name in another cell is another node.
    cloud.add_host(db, 1, "h1")


def test_save_changes_the_state(db):
    cloud.add_host(db, 0, "h1")
    cloud.set_host(db, 0, "h1", forced_down=True, availability_zone="az-9")
    node = ComputeNode.get_by_host_and_node(db.cell_context(0), "h1", "h1")
    assert node.forced_down and not node.up
    # Disabled is not down: the node still serves what it holds.
    cloud.add_host(db, 0, "h2")
    cloud.set_host(db, 0, "h2", disabled=True)
    other = ComputeNode.get_by_host_and_node(db.cell_context(0), "h2", "h2")
    assert other.disabled and other.up
    assert node.availability_zone == "az-9"
    with pytest.raises(exception.ComputeHostNotFound):
        ComputeNode.get_by_host_and_node(db.cell_context(0), "h9", "h9")
