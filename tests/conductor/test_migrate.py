"""Migrate and evacuate: admin targets, forced hosts, crossing cells."""

import pytest

from reqspec import compute_api
from reqspec import exception
from reqspec.conductor import migrate
from reqspec.objects import Instance
from tests.fixtures import cloud


def test_an_admin_target_is_honoured(db):
    for host in ("h1", "h2", "h3"):
        cloud.add_host(db, 0, host)
    uuid = cloud.boot(db)
    result = migrate.migrate(db.ctx, uuid, host="h3")
    assert result.host == "h3"
    assert "RequestedDestinationFilter" in result.why


def test_an_admin_target_cannot_break_the_zone(db):
    cloud.add_host(db, 0, "h1", zone="az-1")
    cloud.add_host(db, 0, "h2", zone="az-2")
    uuid = cloud.boot(db, availability_zone="az-1")
    with pytest.raises(exception.NoValidHost, match="in zone az-2"):
        migrate.migrate(db.ctx, uuid, host="h2")
    assert compute_api.show_server(db.ctx, uuid).host == "h1"


def test_forced_hosts_only_pin_the_first_placement(db):
    cloud.add_host(db, 0, "h1")
    cloud.add_host(db, 0, "h2")
    uuid = cloud.boot(db, availability_zone="az-1:h1")
    assert migrate.migrate(db.ctx, uuid).host == "h2"
    # The stored spec still says what the user asked for at boot.
    view = compute_api.show_server(db.ctx, uuid)
    assert view.host == "h2"


def test_crossing_cells_only_when_allowed(db):
    cloud.add_host(db, 0, "a1")
    cloud.add_host(db, 1, "b1")
    uuid = cloud.boot(db, availability_zone="az-1:a1")
    with pytest.raises(exception.NoValidHost, match="not in cell cell1"):
        migrate.migrate(db.ctx, uuid)

    result = migrate.migrate(db.ctx, uuid, allow_cross_cell=True)
    assert (result.cell.name, result.host) == ("cell2", "b1")
    view = compute_api.show_server(db.ctx, uuid)
    assert (view.location, view.host, view.status) == ("cell2", "b1", "ACTIVE")
    cloud.assert_settled(db, [uuid])


def test_evacuate_needs_a_down_host(db):
    cloud.add_host(db, 0, "h1")
    cloud.add_host(db, 0, "h2")
    uuid = cloud.boot(db)
    with pytest.raises(exception.InvalidInstanceState, match="is up"):
        migrate.evacuate(db.ctx, uuid)
    cloud.set_host(db, 0, "h1", forced_down=True)
    assert migrate.evacuate(db.ctx, uuid).host == "h2"


def test_evacuate_across_cells_keeps_anti_affinity(db):
    cloud.add_host(db, 0, "a1")
    cloud.add_host(db, 0, "a2")
    cloud.add_host(db, 1, "b1")
    cloud.add_host(db, 1, "b2")
    web = [
        cloud.boot(db, group=cloud.group(), availability_zone=f"az-1:{h}")
        for h in ("a1", "a2", "b1")
    ]
    cloud.set_host(db, 0, "a1", forced_down=True)
    # a2 runs a member: the only home left is b2, in the other cell.
    with pytest.raises(exception.NoValidHost):
        migrate.evacuate(db.ctx, web[0])
    result = migrate.evacuate(db.ctx, web[0], allow_cross_cell=True)
    assert (result.cell.name, result.host) == ("cell2", "b2")
    cloud.assert_settled(db, web)
    assert Instance.get_by_uuid(db.cell_context(1), web[0]).host == "b2"


def test_an_unknown_or_malformed_server(db):
    for uuid in ("1b2c3d4e-0000-4000-8000-000000000000", "not-a-uuid"):
        with pytest.raises(exception.InstanceNotFound):
            migrate.migrate(db.ctx, uuid)


def test_an_affinity_member_cannot_leave_its_group(db):
    cloud.add_host(db, 0, "h1")
    cloud.add_host(db, 0, "h2")
    members = [cloud.boot(db, group=cloud.group("affinity")) for _ in "ab"]
    assert {compute_api.show_server(db.ctx, m).host for m in members} == {"h1"}
    with pytest.raises(exception.NoValidHost, match="AffinityFilter"):
        migrate.migrate(db.ctx, members[0])
    assert compute_api.show_server(db.ctx, members[0]).host == "h1"
