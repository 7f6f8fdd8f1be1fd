"""Building: from the API database to the chosen cell."""

import pytest

from reqspec import compute_api
from reqspec import conf
from reqspec import exception
from reqspec.conductor import build
from reqspec.objects import ComputeNode
from reqspec.objects import InstanceMapping
from reqspec.objects import RequestSpec
from reqspec.scheduler.scheduler import Scheduler
from tests.fixtures import cloud

CONF = conf.CONF


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


# -- build_servers: a multi-create request at once ---------------------------


def _used(env):
    """host -> (servers running, MiB held), over both cells."""
    found = {}
    for i in range(len(env.cells)):
        for node in ComputeNode.get_all(env.cell_context(i), with_usage=True):
            found[node.host] = (node.running_instances, node.used_memory_mb)
    return found


def test_a_request_is_built_in_one_pass_claiming_every_server(db):
    for cell, host in ((0, "a1"), (0, "a2"), (1, "b1"), (1, "b2")):
        cloud.add_host(db, cell, host, memory_mb=3072)
    uuids = compute_api.create_servers(
        db.ctx, 10, flavor=cloud.flavor(), image=cloud.X86
    )
    results = build.build_servers(db.ctx, uuids)

    assert [r.instance_uuid for r in results] == uuids
    built = [r for r in results if r.built]
    # Three 1 GiB servers fit on each host: the first twelve would fit,
    # and the weigher spreads them.
    assert len(built) == 10
    used = _used(db)
    assert sorted(count for count, _ in used.values()) == [2, 2, 3, 3]
    assert all(mib == 1024 * count for count, mib in used.values())
    for result in results:
        view = compute_api.show_server(db.ctx, result.instance_uuid)
        assert (view.status, view.host) == ("ACTIVE", result.host)
        assert view.location == result.cell.name
    cloud.assert_settled(db, uuids)
    in_cell = RequestSpec.get_by_instance_uuid(
        db.cell_context(0 if results[0].cell.name == "cell1" else 1),
        uuids[0],
    )
    assert in_cell.num_instances == 10

    # Two more fit; a request of three does not: none of it is built.
    more = compute_api.create_servers(db.ctx, 3, flavor=cloud.flavor())
    results = build.build_servers(db.ctx, more)
    assert [r.built for r in results] == [False] * 3
    for uuid in more:
        view = compute_api.show_server(db.ctx, uuid)
        assert (view.status, view.location) == ("ERROR", "API")
        assert "2 of the request's 3 servers found a host" in view.fault
    assert all("ComputeResourcesFilter" in r.note for r in results)
    cloud.assert_settled(db, [*uuids, *more])


def test_anti_affinity_holds_within_the_batch_and_with_members(db):
    for cell, host in ((0, "a1"), (0, "a2"), (1, "b1"), (1, "b2")):
        cloud.add_host(db, cell, host)
    member = cloud.boot(db, group=cloud.group(), availability_zone="az-1:a1")
    uuids = compute_api.create_servers(
        db.ctx, 3, flavor=cloud.flavor(), group=cloud.group()
    )
    results = build.build_servers(db.ctx, uuids)
    assert sorted(r.host for r in results) == ["a2", "b1", "b2"]

    fifth = compute_api.create_servers(
        db.ctx, 1, flavor=cloud.flavor(), group=cloud.group()
    )
    (result,) = build.build_servers(db.ctx, fifth)
    assert not result.built
    assert "ServerGroupAntiAffinityFilter" in result.why
    cloud.assert_settled(db, [member, *uuids, *fifth])


class _RacedScheduler(Scheduler):
    """Chooses, then lets a rival build of ``rival_mib`` take the first
    chosen host before the batch claims it: the race a claim exists
    for."""

    def __init__(self, env, rival_mib=1024):
        super().__init__()
        self.env = env
        self.rival_mib = rival_mib
        self.rivals = []

    def select_destinations(self, ctx, request, instance_uuids, exclude=None):
        selections = super().select_destinations(ctx, request, instance_uuids)
        if not self.rivals:
            rival = cloud.create(
                self.env,
                flavor=cloud.flavor("rival", 1, self.rival_mib),
                availability_zone=f"az-1:{selections[0].host}",
            )
            build.build_server(self.env.ctx, rival)
            self.rivals.append(rival)
        return selections


def test_claims_lost_to_a_race_are_retried_elsewhere(db):
    cloud.add_host(db, 0, "a1", memory_mb=1024)
    cloud.add_host(db, 1, "b1", memory_mb=3072)
    uuids = compute_api.create_servers(db.ctx, 2, flavor=cloud.flavor())
    scheduler = _RacedScheduler(db, rival_mib=2048)
    results = build.build_servers(db.ctx, uuids, scheduler)
    # Both were chosen for b1 (the most free RAM); the rival left room
    # for one, and the other was scheduled again, without b1.
    assert sorted(r.host for r in results) == ["a1", "b1"]
    cloud.assert_settled(db, [*uuids, *scheduler.rivals])
    assert _used(db) == {"a1": (1, 1024), "b1": (2, 3072)}


@pytest.mark.parametrize("attempts", [1, 3])
def test_a_server_whose_claims_keep_failing_gets_a_fault(db, attempts):
    CONF.set_override("max_attempts", attempts, group="scheduler")
    try:
        cloud.add_host(db, 0, "a1", memory_mb=1024)
        uuids = compute_api.create_servers(db.ctx, 1, flavor=cloud.flavor())
        scheduler = _RacedScheduler(db)
        (result,) = build.build_servers(db.ctx, uuids, scheduler)
    finally:
        CONF.clear_override("max_attempts", group="scheduler")
    assert not result.built
    if attempts == 1:
        assert "1 claim(s) failed, the last one: Host a1/a1" in result.why
    else:
        # The retry left a1, the only host, out of the next pass.
        assert "RetryFilter" in result.why
    view = compute_api.show_server(db.ctx, uuids[0])
    assert (view.status, view.location) == ("ERROR", "API")
    assert view.fault == result.why
    cloud.assert_settled(db, [*uuids, *scheduler.rivals])


def test_build_servers_takes_built_unknown_and_mixed_requests(db):
    cloud.add_host(db, 0, "a1", memory_mb=16384, vcpus=16)
    built = cloud.boot(db)
    small = compute_api.create_servers(db.ctx, 2, flavor=cloud.flavor())
    big = compute_api.create_servers(
        db.ctx, 2, flavor=cloud.flavor("big", 2, 2048)
    )
    with pytest.raises(exception.InstanceNotFound):
        build.build_servers(
            db.ctx, [*small, "8c0f2e3a-0000-4000-8000-00000000dead"]
        )
    assert compute_api.show_server(db.ctx, small[0]).status == "BUILD"

    results = build.build_servers(db.ctx, [built, *small, *big])
    assert results[0].why == "already built"
    assert all(r.built for r in results)
    used = _used(db)["a1"]
    assert used == (5, 1024 * 3 + 2048 * 2)
    cloud.assert_settled(db, [built, *small, *big])


def test_identical_requests_are_built_as_separate_requests(db):
    # Room for three 1 GiB servers in all.
    cloud.add_host(db, 0, "a1", memory_mb=3072)
    singles = [cloud.create(db) for _ in range(2)]
    first = compute_api.create_servers(db.ctx, 2, flavor=cloud.flavor())
    second = compute_api.create_servers(db.ctx, 2, flavor=cloud.flavor())
    # Equal documents but for the uuid; no request id is stored, so
    # num_instances tells the requests apart.
    results = build.build_servers(db.ctx, [*first, *second])
    assert [r.built for r in results] == [True, True, False, False]
    assert all("1 of the request's 2" in r.note for r in results[2:])

    # Two single-server requests, room for one: only the second fails.
    results = build.build_servers(db.ctx, singles)
    assert [r.built for r in results] == [True, False]
    cloud.assert_settled(db, [*singles, *first, *second])
