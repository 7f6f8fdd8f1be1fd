"""Resize: the new flavor is stored only when confirmed."""

import pytest

from reqspec import exception
from reqspec.conductor import migrate
from reqspec.conductor import resize
from reqspec.objects import ComputeNode
from reqspec.objects import Instance
from reqspec.objects import RequestSpec
from reqspec.objects.compute_node import Resources
from tests.fixtures import cloud

SMALL = cloud.flavor("small", 1, 1024, 10)
BIG = cloud.flavor("big", 2, 2048, 20)


def _spec(env, uuid):
    return RequestSpec.get_by_instance_uuid(env.cell_context(0), uuid)


def _used(env):
    nodes = ComputeNode.get_all(env.cell_context(0), with_usage=True)
    return {n.host: n.used for n in nodes}


@pytest.fixture
def resized(db):
    cloud.add_host(db, 0, "h1")
    cloud.add_host(db, 0, "h2")
    uuid = cloud.boot(db, flavor=SMALL)
    resize.resize(db.ctx, uuid, BIG)
    return uuid


def test_resize_holds_both_hosts_and_leaves_the_spec_alone(db, resized):
    instance = Instance.get_by_uuid(db.cell_context(0), resized)
    assert (instance.status, instance.host, instance.old_host) == (
        "VERIFY_RESIZE",
        "h2",
        "h1",
    )
    spec = _spec(db, resized)
    assert spec.flavor == SMALL and spec.generation == 1
    assert _used(db) == {
        "h1": Resources(1, 1024, 10),
        "h2": Resources(2, 2048, 20),
    }


def test_confirm_stores_the_new_flavor(db, resized):
    resize.confirm_resize(db.ctx, resized)
    spec = _spec(db, resized)
    assert spec.flavor == BIG and spec.generation == 2
    assert _used(db)["h1"] == Resources(0, 0, 0)
    # The next move is scheduled with the new flavor: h1 is gone, and
    # h3 has room for the old flavor only.
    cloud.set_host(db, 0, "h1", disabled=True)
    cloud.add_host(db, 0, "h3", memory_mb=1500)
    with pytest.raises(exception.NoValidHost, match="needs 2048 MiB"):
        migrate.migrate(db.ctx, resized)


def test_revert_goes_back_and_keeps_the_old_flavor(db, resized):
    resize.revert_resize(db.ctx, resized)
    spec = _spec(db, resized)
    assert spec.flavor == SMALL and spec.generation == 1
    instance = Instance.get_by_uuid(db.cell_context(0), resized)
    assert (instance.status, instance.host) == ("ACTIVE", "h1")
    assert _used(db)["h2"] == Resources(0, 0, 0)


def _crash_after_spec_save(monkeypatch, method):
    def crash(self):
        raise RuntimeError("killed between the spec save and the server")

    monkeypatch.setattr(Instance, method, crash)


def test_a_confirm_interrupted_after_its_save_finishes(
    db, resized, monkeypatch
):
    _crash_after_spec_save(monkeypatch, "confirm_resize")
    with pytest.raises(RuntimeError):
        resize.confirm_resize(db.ctx, resized)
    monkeypatch.undo()
    assert _spec(db, resized).flavor == BIG
    assert _spec(db, resized).generation == 2

    resize.confirm_resize(db.ctx, resized)
    assert _spec(db, resized).generation == 2  # no second write
    instance = Instance.get_by_uuid(db.cell_context(0), resized)
    assert (instance.status, instance.old_host) == ("ACTIVE", None)


def test_a_revert_after_an_interrupted_confirm_restores_the_flavor(
    db, resized, monkeypatch
):
    _crash_after_spec_save(monkeypatch, "confirm_resize")
    with pytest.raises(RuntimeError):
        resize.confirm_resize(db.ctx, resized)
    monkeypatch.undo()
    resize.revert_resize(db.ctx, resized)
    assert _spec(db, resized).flavor == SMALL
    assert Instance.get_by_uuid(db.cell_context(0), resized).host == "h1"


def test_confirm_refuses_a_lost_update(db, resized, monkeypatch):
    # Someone saves the spec between the conductor's load and its save.
    real = RequestSpec.get_by_instance_uuid

    def load_then_race(ctx, uuid):
        spec = real(ctx, uuid)
        other = real(ctx, uuid)
        other.availability_zone = "az-9"
        other.save()
        return spec

    monkeypatch.setattr(RequestSpec, "get_by_instance_uuid", load_then_race)
    with pytest.raises(exception.RequestSpecConflict):
        resize.confirm_resize(db.ctx, resized)
    monkeypatch.undo()
    assert Instance.get_by_uuid(db.cell_context(0), resized).status == (
        "VERIFY_RESIZE"
    )


def test_resize_to_the_same_flavor(db):
    cloud.add_host(db, 0, "h1")
    uuid = cloud.boot(db, flavor=SMALL)
    with pytest.raises(exception.InvalidInstanceState, match="already"):
        resize.resize(db.ctx, uuid, SMALL)


def test_resize_stays_in_the_cell(db):
    cloud.add_host(db, 0, "h1")
    cloud.add_host(db, 1, "h2")
    uuid = cloud.boot(db, flavor=SMALL)
    with pytest.raises(exception.NoValidHost, match="not in cell cell1"):
        resize.resize(db.ctx, uuid, BIG)
