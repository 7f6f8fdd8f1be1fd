"""The scheduler over real cell databases: capacity and group members
come from the cells, fresh on every request."""

import pytest

from reqspec import exception
from reqspec.conductor.request import per_move_request
from reqspec.objects import Instance
from reqspec.objects import RequestSpec
from reqspec.scheduler import host_manager
from reqspec.scheduler.scheduler import Scheduler
from tests.fixtures import cloud

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def _member(env, cell, uuid, host):
    Instance(
        env.cell_context(cell),
        uuid=uuid,
        status="ACTIVE",
        host=host,
        node=host,
        vcpus=1,
        memory_mb=512,
        disk_gb=1,
        group_uuid=cloud.GROUP_UUID,
    ).create()


def _request(env, group=None, **kwargs):
    spec = RequestSpec.from_components(
        env.ctx,
        instance_uuid="8c0f2e3a-0000-4000-8000-000000000001",
        flavor=cloud.flavor(),
        instance_group=group,
        **kwargs,
    )
    return per_move_request(spec)


def test_group_members_are_found_in_every_cell(db):
    cloud.add_host(db, 0, "h1")
    cloud.add_host(db, 1, "h2")
    a = "8c0f2e3a-0000-4000-8000-0000000000aa"
    b = "8c0f2e3a-0000-4000-8000-0000000000bb"
    _member(db, 0, a, "h1")
    _member(db, 1, b, "h2")
    request = _request(db, cloud.group())
    host_manager.populate_group(db.ctx, db.cells, request)
    assert sorted(request.instance_group.members) == [a, b]
    assert sorted(request.instance_group.hosts) == ["h1", "h2"]

    # The server being moved is not its own neighbour.
    request = _request(db, cloud.group())
    host_manager.populate_group(db.ctx, db.cells, request, a)
    assert request.instance_group.hosts == ["h2"]


def test_the_stored_spec_never_carries_members(db):
    cloud.add_host(db, 0, "h1")
    _member(db, 0, "8c0f2e3a-0000-4000-8000-0000000000aa", "h1")
    uuid = cloud.create(db, group=cloud.group("affinity"))
    spec = RequestSpec.get_by_instance_uuid(db.ctx, uuid)
    request = per_move_request(spec)
    assert Scheduler().select_destination(db.ctx, request).host == "h1"
    assert request.instance_group.hosts == ["h1"]
    # Members were set on the copy only; the stored group has none.
    assert not spec.instance_group.obj_attr_is_set("members")
    stored = RequestSpec.get_by_instance_uuid(db.ctx, uuid)
    assert not stored.instance_group.obj_attr_is_set("hosts")


def test_capacity_comes_from_the_cells(db):
    cloud.add_host(db, 0, "small", memory_mb=1024)
    cloud.add_host(db, 1, "big", memory_mb=4096)
    selection = Scheduler().select_destination(db.ctx, _request(db))
    assert (selection.cell.name, selection.host) == ("cell2", "big")
    assert "best of 2 by weight (4096 MiB RAM free)" in selection.explain()


def test_no_hosts_at_all(db):
    with pytest.raises(exception.NoValidHost, match="no compute nodes"):
        Scheduler().select_destination(db.ctx, _request(db))


def test_no_valid_host_names_the_filter_and_reasons(db):
    cloud.add_host(db, 0, "h1", zone="az-1")
    cloud.add_host(db, 1, "h2", zone="az-1")
    with pytest.raises(exception.NoValidHost) as err:
        Scheduler().select_destination(
            db.ctx, _request(db, availability_zone="az-2")
        )
    assert "AvailabilityZoneFilter refused the 2 remaining host(s)" in (
        err.value.message
    )
    assert "h1: in zone az-1" in err.value.message
