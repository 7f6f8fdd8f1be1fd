"""Many mappings at once: each row changes only from the state expected,
and what another process changed meanwhile is reported, not touched."""

import pytest

from reqspec import exception
from reqspec.objects import InstanceMapping
from reqspec.objects import mapping_batches
from reqspec.objects import RequestSpec
from tests.fixtures import cloud

UUIDS = [f"6b1f2f8e-5a0e-4a4f-9d44-3a4d55b2a{i:03d}" for i in range(6)]


def _request(env, uuids):
    spec = RequestSpec.from_components(
        env.ctx,
        instance_uuid=uuids[0],
        flavor=cloud.flavor(),
        project_id="p1",
        num_instances=len(uuids),
    )
    mapping_batches.create_for_request(env.ctx, spec, uuids)


def _state(env, uuid):
    mapping = InstanceMapping.get_by_instance_uuid(env.ctx, uuid)
    cell = mapping.cell_mapping
    return (None if cell is None else cell.name, mapping.move_step)


def test_create_for_request_is_all_or_nothing(db):
    _request(db, UUIDS[:3])
    assert dict(cloud.spec_counts(db)) == dict.fromkeys(UUIDS[:3], 1)
    with pytest.raises(exception.InstanceExists):
        _request(db, [UUIDS[3], UUIDS[2]])
    assert dict(cloud.spec_counts(db)) == dict.fromkeys(UUIDS[:3], 1)
    with pytest.raises(exception.ObjectActionError):
        mapping_batches.create_for_request(
            db.cell_context(0),
            RequestSpec.get_by_instance_uuid(db.ctx, UUIDS[0]),
            [UUIDS[4]],
        )


def test_unscheduled_among(db):
    _request(db, UUIDS[:3])
    cloud.add_host(db, 0, "h1")
    InstanceMapping.get_by_instance_uuid(db.ctx, UUIDS[1]).start_move(
        None, db.cells[0], "h1", "h1"
    )
    found, waiting = mapping_batches.unscheduled_among(
        db.ctx, [*UUIDS[:3], UUIDS[5]]
    )
    assert found == set(UUIDS[:3])
    assert waiting == {UUIDS[0], UUIDS[2]}
    with pytest.raises(exception.InstanceNotFound):
        mapping_batches.unscheduled_among(db.ctx, ["nope"])


def test_record_and_finish_builds_leave_others_alone(db):
    _request(db, UUIDS[:4])
    cell1, cell2 = db.cells
    # Someone else recorded UUIDS[1] elsewhere first.
    InstanceMapping.get_by_instance_uuid(db.ctx, UUIDS[1]).start_move(
        None, cell2, "b9", "b9"
    )
    recorded = mapping_batches.record_builds(
        db.ctx,
        [
            (cell1, "a1", "a1", UUIDS[:2]),
            (cell2, "b1", "b1", UUIDS[2:4]),
        ],
    )
    assert recorded == {UUIDS[0], UUIDS[2], UUIDS[3]}
    mapping = InstanceMapping.get_by_instance_uuid(db.ctx, UUIDS[2])
    assert (mapping.move_target.name, mapping.move_host) == ("cell2", "b1")

    # Finishing towards cell1 touches only what was recorded towards it.
    done = mapping_batches.finish_builds(db.ctx, cell1, UUIDS[:3])
    assert done == {UUIDS[0]}
    assert _state(db, UUIDS[0]) == ("cell1", None)
    assert _state(db, UUIDS[1]) == (None, "recorded")
    assert _state(db, UUIDS[2]) == (None, "recorded")
    # The API copy goes with the finish, and only then.
    assert set(cloud.spec_counts(db)) == set(UUIDS[1:4])

    # One finished by another process meanwhile is reported as built.
    InstanceMapping.get_by_instance_uuid(db.ctx, UUIDS[3]).finish_build()
    assert mapping_batches.finish_builds(db.ctx, cell2, UUIDS[2:4]) == set(
        UUIDS[2:4]
    )
    assert set(cloud.spec_counts(db)) == {UUIDS[1]}


def test_set_faults_only_on_servers_still_waiting(db):
    _request(db, UUIDS[:3])
    cloud.add_host(db, 0, "h1")
    InstanceMapping.get_by_instance_uuid(db.ctx, UUIDS[0]).start_move(
        None, db.cells[0], "h1", "h1"
    )
    assert mapping_batches.set_faults(db.ctx, UUIDS[:3], "no room") == 2
    faults = [
        InstanceMapping.get_by_instance_uuid(db.ctx, u).fault
        for u in UUIDS[:3]
    ]
    assert faults == [None, "no room", "no room"]
