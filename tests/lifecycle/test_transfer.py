"""The API -> cell and cell -> cell moves survive a crash at every step.

A hook raises right after a step (the process "dies" there); then heal,
or simply running the operation again, finishes the move. Afterwards
there is exactly one spec per server, in the database its mapping
names, and exactly one server row, and the API could show the server at
every point in between.
"""

import threading

import pytest

from reqspec import compute_api
from reqspec import exception
from reqspec.conductor import build
from reqspec.conductor import migrate
from reqspec.conductor import resize
from reqspec.lifecycle import heal
from reqspec.lifecycle import transfer
from reqspec.objects import InstanceMapping
from tests.fixtures import cloud
from tests.lifecycle.conftest import Crash

pytestmark = [
    pytest.mark.backends("sqlite", "postgresql"),
    pytest.mark.galera,
]

BUILD_STEPS = list(transfer.BUILD_STEPS)


def _bystander(env):
    """A settled server that no crash may disturb."""
    return cloud.boot(env, availability_zone="az-1:a1")


@pytest.mark.parametrize("finisher", ["heal", "build again"])
@pytest.mark.parametrize("step", BUILD_STEPS)
def test_a_build_killed_after_any_step_converges(
    db, crash_after, step, finisher
):
    cloud.add_host(db, 0, "a1")
    cloud.add_host(db, 1, "b1", memory_mb=16384)
    other = _bystander(db)
    uuid = cloud.create(db)
    crashing = crash_after(step)
    with pytest.raises(Crash):
        build.build_server(crashing, uuid)

    # Nothing is lost at the crash point, and the API still shows it.
    assert cloud.spec_counts(db)[uuid] >= 1
    view = compute_api.show_server(db.ctx, uuid)
    assert view.flavor.name == "small"
    assert view.status in ("BUILD", "ACTIVE")

    if finisher == "heal":
        report = heal.heal(db.ctx)
        assert report.ok and not report.aborted
        moving = step != "finished"
        assert report.finished == ([uuid] if moving else [])
    else:
        build.build_server(db.ctx, uuid)
    cloud.assert_settled(db, [other, uuid])
    view = compute_api.show_server(db.ctx, uuid)
    assert (view.location, view.host, view.status) == ("cell2", "b1", "ACTIVE")


@pytest.mark.parametrize("step", transfer.STEPS)
def test_a_cross_cell_move_killed_after_any_step_converges(
    db, crash_after, step
):
    cloud.add_host(db, 0, "a1")
    cloud.add_host(db, 0, "a2")
    cloud.add_host(db, 1, "b1")
    other = _bystander(db)
    uuid = cloud.boot(db, availability_zone="az-1:a2")
    crashing = crash_after(step)
    with pytest.raises(Crash):
        migrate.migrate(crashing, uuid, host="b1", allow_cross_cell=True)

    view = compute_api.show_server(db.ctx, uuid)
    assert view.location in ("cell1", "cell2")
    if step != "finished":
        # Nothing else may start until the move is finished.
        with pytest.raises(exception.MoveInProgress, match="heal"):
            resize.resize(db.ctx, uuid, cloud.flavor("big", 2, 2048))

    heal.heal(db.ctx)
    cloud.assert_settled(db, [other, uuid])
    view = compute_api.show_server(db.ctx, uuid)
    assert (view.location, view.host) == ("cell2", "b1")


@pytest.mark.parametrize("kind", ["build", "cross-cell migrate"])
def test_the_api_shows_the_server_after_every_step(db, kind):
    cloud.add_host(db, 0, "a1")
    cloud.add_host(db, 1, "b1")
    seen = []

    def look(uuid, step):
        view = compute_api.show_server(db.ctx, uuid)
        seen.append((step, view.location, view.task is not None))

    if kind == "build":
        uuid = cloud.create(db, availability_zone="az-1:b1")
        build.build_server(db.context_with(after_step=look), uuid)
    else:
        uuid = cloud.boot(db, availability_zone="az-1:a1")
        migrate.migrate(
            db.context_with(after_step=look), uuid, allow_cross_cell=True
        )

    source = "API" if kind == "build" else "cell1"
    steps = [s for s, _, _ in seen]
    assert steps == (BUILD_STEPS if kind == "build" else list(transfer.STEPS))
    # The source copy is shown until the mapping moves, then the target's.
    for step, location, moving in seen:
        before_mapping = transfer.STEPS.index(step) < transfer.STEPS.index(
            "mapped"
        )
        assert location == (source if before_mapping else "cell2"), step
        assert moving == (step != "finished"), step


def test_a_failed_claim_aborts_the_move_and_changes_nothing(db):
    cloud.add_host(db, 1, "tiny", memory_mb=512)
    uuid = cloud.create(db)
    with pytest.raises(exception.ComputeResourcesUnavailable):
        transfer.move(db.ctx, uuid, None, db.cells[1], "tiny", "tiny")
    mapping = InstanceMapping.get_by_instance_uuid(db.ctx, uuid)
    assert (mapping.move_step, mapping.cell_mapping) == (None, None)
    cloud.assert_settled(db, [uuid])


def test_heal_aborts_a_move_whose_host_filled_up(db, crash_after):
    cloud.add_host(db, 1, "b1", memory_mb=1024)
    uuid = cloud.create(db)
    crashing = crash_after("recorded")
    with pytest.raises(Crash):
        build.build_server(crashing, uuid)
    # While the conductor was dead, someone else took the host.
    rival = cloud.boot(db)
    report = heal.heal(db.ctx)
    assert [u for u, _ in report.aborted] == [uuid]
    assert "needs 1024 MiB of RAM, 0 free" in report.aborted[0][1]
    assert report.unscheduled == [uuid]
    cloud.assert_settled(db, [rival, uuid])


@pytest.mark.parametrize(
    "step", ["recorded", "written", "mapped", "source_deleted"]
)
def test_concurrent_finishers_converge(db, crash_after, step):
    cloud.add_host(db, 0, "a1")
    cloud.add_host(db, 1, "b1")
    uuid = cloud.boot(db, availability_zone="az-1:a1")
    crashing = crash_after(step)
    with pytest.raises(Crash):
        migrate.migrate(crashing, uuid, allow_cross_cell=True)

    errors = []

    def finish():
        try:
            transfer.finish(db.ctx, uuid)
        except Exception as err:
            errors.append(err)

    threads = [threading.Thread(target=finish) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive()
    assert errors == []
    cloud.assert_settled(db, [uuid])
    assert compute_api.show_server(db.ctx, uuid).host == "b1"
