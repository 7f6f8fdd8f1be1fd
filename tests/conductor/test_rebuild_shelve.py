"""Rebuild keeps the host and stores a new image; unshelve reschedules."""

import pytest

from reqspec import compute_api
from reqspec import exception
from reqspec.conductor import rebuild
from reqspec.conductor import shelve
from reqspec.objects import RequestSpec
from tests.fixtures import cloud


def test_rebuild_stores_a_new_image_that_the_host_runs(db):
    cloud.add_host(db, 0, "h1")
    cloud.add_host(db, 0, "h2")
    uuid = cloud.boot(db, availability_zone="az-1:h1")
    new_image = {"name": "x86-v2", "properties": {"hw_architecture": "x86_64"}}
    result = rebuild.rebuild(db.ctx, uuid, image=new_image)
    assert result.host == "h1"
    spec = RequestSpec.get_by_instance_uuid(db.cell_context(0), uuid)
    assert spec.image.name == "x86-v2"
    assert spec.generation == 2


def test_rebuild_on_a_full_host_does_not_compete_with_itself(db):
    cloud.add_host(db, 0, "h1", vcpus=1, memory_mb=1024, local_gb=10)
    uuid = cloud.boot(db, flavor=cloud.flavor("fills", 1, 1024, 10))
    assert rebuild.rebuild(db.ctx, uuid).host == "h1"


def test_rebuild_refuses_an_image_its_host_cannot_run(db):
    cloud.add_host(db, 0, "h1")
    cloud.add_host(db, 0, "arm", arch="aarch64")
    uuid = cloud.boot(db, availability_zone="az-1:h1")
    with pytest.raises(exception.NoValidHost, match="image needs aarch64"):
        rebuild.rebuild(db.ctx, uuid, image=cloud.ARM)
    spec = RequestSpec.get_by_instance_uuid(db.cell_context(0), uuid)
    assert spec.image.name == "x86" and spec.generation == 1


def test_unshelve_drops_forced_hosts_and_keeps_the_zone(db):
    cloud.add_host(db, 0, "h1", zone="az-1")
    cloud.add_host(db, 0, "h2", zone="az-1")
    cloud.add_host(db, 0, "h3", zone="az-2")
    uuid = cloud.boot(db, availability_zone="az-1:h1")
    shelve.shelve_offload(db.ctx, uuid)
    view = compute_api.show_server(db.ctx, uuid)
    assert (view.status, view.host) == ("SHELVED_OFFLOADED", None)
    cloud.set_host(db, 0, "h1", disabled=True)
    result = shelve.unshelve(db.ctx, uuid)
    assert result.host == "h2"
    with pytest.raises(exception.InvalidInstanceState):
        shelve.unshelve(db.ctx, uuid)


def test_unshelve_into_another_cell_carries_the_spec(db):
    cloud.add_host(db, 0, "a1")
    cloud.add_host(db, 1, "b1")
    uuid = cloud.boot(db, availability_zone="az-1:a1")
    shelve.shelve_offload(db.ctx, uuid)
    cloud.set_host(db, 0, "a1", disabled=True)
    with pytest.raises(exception.NoValidHost, match="not in cell cell1"):
        shelve.unshelve(db.ctx, uuid)

    result = shelve.unshelve(db.ctx, uuid, allow_cross_cell=True)
    assert (result.cell.name, result.host) == ("cell2", "b1")
    view = compute_api.show_server(db.ctx, uuid)
    assert (view.location, view.status, view.host) == ("cell2", "ACTIVE", "b1")
    cloud.assert_settled(db, [uuid])
