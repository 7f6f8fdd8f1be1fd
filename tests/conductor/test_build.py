"""Building: from the API database to the chosen cell."""

import pytest

from reqspec import compute_api
from reqspec import exception
from reqspec.conductor import build
from reqspec.objects import InstanceMapping
from reqspec.objects import RequestSpec
from tests.fixtures import cloud


def test_the_spec_moves_from_the_api_database_to_the_cell(db):
    cloud.add_host(db, 1, "h1")
    uuid = cloud.create(db)
    assert cloud.where_specs_are(db, uuid) == ["API"]
    stored = RequestSpec.get_by_instance_uuid(db.ctx, uuid).to_document()

    result = build.build_server(db.ctx, uuid)

    assert (result.cell.name, result.host) == ("cell2", "h1")
    assert cloud.where_specs_are(db, uuid) == ["cell2"]
    cloud.assert_settled(db, [uuid])
    in_cell = RequestSpec.get_by_instance_uuid(db.cell_context(1), uuid)
    assert in_cell.to_document() == stored
    assert in_cell.generation == 1


def test_zone_image_and_forced_host_are_honoured(db):
    cloud.add_host(db, 0, "a1", zone="az-1")
    cloud.add_host(db, 0, "a2", zone="az-2")
    cloud.add_host(db, 1, "b1", zone="az-1")
    cloud.add_host(db, 1, "b2", zone="az-2", arch="aarch64")
    in_zone = cloud.boot(db, availability_zone="az-2")
    arm = cloud.boot(db, image=cloud.ARM)
    forced = cloud.boot(db, availability_zone="az-1:b1")
    forced_node = cloud.boot(db, availability_zone="::a1")

    show = lambda uuid: compute_api.show_server(db.ctx, uuid)  # noqa: E731
    assert (show(in_zone).location, show(in_zone).host) == ("cell1", "a2")
    assert show(arm).host == "b2"
    assert show(forced).host == "b1"
    assert show(forced_node).host == "a1"
    cloud.assert_settled(db, [in_zone, arm, forced, forced_node])


def test_anti_affinity_spreads_and_then_refuses(db):
    for cell, host in ((0, "a1"), (0, "a2"), (1, "b1")):
        cloud.add_host(db, cell, host)
    members = [cloud.boot(db, group=cloud.group()) for _ in range(3)]
    hosts = {compute_api.show_server(db.ctx, m).host for m in members}
    assert hosts == {"a1", "a2", "b1"}

    fourth = cloud.create(db, group=cloud.group())
    with pytest.raises(exception.NoValidHost, match="AntiAffinity"):
        build.build_server(db.ctx, fourth)
    cloud.assert_settled(db, [*members, fourth])


def test_affinity_keeps_members_together(db):
    for cell, host in ((0, "a1"), (0, "a2"), (1, "b1")):
        cloud.add_host(db, cell, host)
    members = [cloud.boot(db, group=cloud.group("affinity")) for _ in range(3)]
    hosts = {compute_api.show_server(db.ctx, m).host for m in members}
    assert len(hosts) == 1


def test_a_build_that_cannot_be_placed_stays_in_the_api_database(db):
    cloud.add_host(db, 0, "a1", zone="az-1")
    # Forcing does not bypass the zone: a1 is not in az-2.
    uuid = cloud.create(db, availability_zone="az-2:a1")
    with pytest.raises(exception.NoValidHost) as err:
        build.build_server(db.ctx, uuid)
    assert "AvailabilityZoneFilter" in err.value.message
    view = compute_api.show_server(db.ctx, uuid)
    assert (view.status, view.location) == ("ERROR", "API")
    assert "in zone az-1" in view.fault
    cloud.assert_settled(db, [uuid])

    # Fix the cloud and build again: the fault goes away.
    cloud.set_host(db, 0, "a1", availability_zone="az-2")
    build.build_server(db.ctx, uuid)
    view = compute_api.show_server(db.ctx, uuid)
    assert (view.status, view.host, view.fault) == ("ACTIVE", "a1", None)


def test_building_again_changes_nothing(db):
    cloud.add_host(db, 0, "a1")
    uuid = cloud.boot(db)
    result = build.build_server(db.ctx, uuid)
    assert result.why == "already built"
    assert result.cell.name == "cell1"
    cloud.assert_settled(db, [uuid])
    mapping = InstanceMapping.get_by_instance_uuid(db.ctx, uuid)
    assert mapping.cell_mapping.name == "cell1"
