"""SQL for ``instance_mappings``, called directly, checked against the
tables (many rows at once: ``test_mapping_batches``)."""

from typing import Any
from typing import cast

from oslo_utils import uuidutils
import pytest
import sqlalchemy as sa

from reqspec import exception
from reqspec.db import api_models
from reqspec.db import engines
from reqspec.db import instance_mappings
from reqspec.db import request_specs
from tests.conftest import Env

MAPPINGS = cast(sa.Table, api_models.InstanceMapping.__table__)
SPECS = cast(sa.Table, api_models.RequestSpec.__table__)


def stored(env: Env) -> dict[str, tuple[Any, ...]]:
    """instance uuid -> (project_id, cell_id, has a spec row)."""
    m, s = MAPPINGS.c, SPECS.c
    with engines.database(env.api_url).engine.connect() as conn:
        specs = {r[0] for r in conn.execute(sa.select(s.instance_uuid))}
        rows = conn.execute(
            sa.select(m.instance_uuid, m.project_id, m.cell_id)
        )
        return {r[0]: (r[1], r[2], r[0] in specs) for r in rows}


def test_create_runs_then_in_the_same_transaction(db: Env) -> None:
    uuid = uuidutils.generate_uuid()
    instance_mappings.create(
        db.ctx,
        uuid,
        "p1",
        then=lambda: request_specs.create(db.ctx, uuid, "p1", "{}"),
    )
    assert stored(db) == {uuid: ("p1", None, True)}
    bare = uuidutils.generate_uuid()
    instance_mappings.create(db.ctx, bare, "p1")
    assert stored(db)[bare] == ("p1", None, False)
    with pytest.raises(exception.InstanceExists):
        instance_mappings.create(db.ctx, uuid, "p1")
    # A failing ``then`` takes the mapping with it.
    lost = uuidutils.generate_uuid()
    with pytest.raises(exception.RequestSpecExists):
        instance_mappings.create(
            db.ctx,
            lost,
            "p1",
            then=lambda: request_specs.create(db.ctx, uuid, "p1", "{}"),
        )
    assert lost not in stored(db)


def test_update_only_from_the_expected_state(db: Env) -> None:
    uuid = uuidutils.generate_uuid()
    instance_mappings.create(db.ctx, uuid, "p1")
    cell_id = db.cells[0].id
    assert not instance_mappings.update(
        db.ctx, uuid, {"cell_id": cell_id}, {"cell_id": None}
    )
    assert instance_mappings.update(
        db.ctx, uuid, {"cell_id": None}, {"cell_id": cell_id}
    )
    assert stored(db)[uuid] == ("p1", cell_id, False)
    row = instance_mappings.get_by_instance_uuid(db.ctx, uuid)
    # The mapping comes with its cell's row joined in.
    assert row is not None and row["cell"]["uuid"] == db.cells[0].uuid
    assert [r["instance_uuid"] for r in instance_mappings.get_all(db.ctx)] == [
        uuid
    ]
    assert instance_mappings.get_all(db.ctx, unscheduled_only=True) == []
    assert instance_mappings.destroy(db.ctx, uuid)
    assert stored(db) == {}
    assert not instance_mappings.destroy(db.ctx, uuid)
    assert instance_mappings.get_by_instance_uuid(db.ctx, uuid) is None


def _move_values(cell_id: int) -> dict[str, Any]:
    return {
        "move_step": "recorded",
        "move_source_cell_id": None,
        "move_target_cell_id": cell_id,
        "move_host": "host-1",
        "move_node": "node-1",
    }


def test_record_move_returns_the_recorded_row(db: Env) -> None:
    uuid = uuidutils.generate_uuid()
    mapping_id = instance_mappings.create(db.ctx, uuid, "p1")
    target = db.cells[0].id
    row = instance_mappings.record_move(
        db.ctx, uuid, None, _move_values(target)
    )
    # The mapping's own columns, as stored (UPDATE ... RETURNING where the
    # database has it, a read of the row where it does not).
    assert row == {
        "id": mapping_id,
        "instance_uuid": uuid,
        "project_id": "p1",
        "move_step": "recorded",
        "move_host": "host-1",
        "move_node": "node-1",
        "fault": None,
    }
    stored_row = instance_mappings.get_by_instance_uuid(db.ctx, uuid)
    assert stored_row is not None
    assert {name: stored_row[name] for name in row} == row
    assert stored_row["move_target"]["id"] == target
    # Only from "no move, in the source": a second record, or one from a
    # cell the server is not in, writes nothing.
    assert (
        instance_mappings.record_move(db.ctx, uuid, None, _move_values(target))
        is None
    )
    other = uuidutils.generate_uuid()
    instance_mappings.create(db.ctx, other, "p1")
    assert (
        instance_mappings.record_move(
            db.ctx, other, target, _move_values(target)
        )
        is None
    )
    assert (
        instance_mappings.get_by_instance_uuid(db.ctx, other)["move_step"]
        is None
    )


def test_record_move_runs_then_in_its_transaction(db: Env) -> None:
    uuid = uuidutils.generate_uuid()
    instance_mappings.create(
        db.ctx,
        uuid,
        "p1",
        then=lambda: request_specs.create(db.ctx, uuid, "p1", '{"a": 1}'),
    )
    target = db.cells[0].id
    seen: list[Any] = []
    refused = instance_mappings.record_move(
        db.ctx, uuid, target, _move_values(target), then=lambda: seen.append(1)
    )
    # Not recorded: ``then`` does not run.
    assert refused is None and seen == []

    def read_then_fail() -> None:
        seen.append(request_specs.get_by_instance_uuid(db.ctx, uuid, None))
        raise exception.ReqspecError("then failed")

    with pytest.raises(exception.ReqspecError, match="then failed"):
        instance_mappings.record_move(
            db.ctx, uuid, None, _move_values(target), then=read_then_fail
        )
    # ``then`` read the spec, and its failure took the record with it.
    assert len(seen) == 1 and seen[0] is not None
    row = instance_mappings.get_by_instance_uuid(db.ctx, uuid)
    assert row is not None and row["move_step"] is None
    assert instance_mappings.record_move(
        db.ctx, uuid, None, _move_values(target), then=lambda: seen.append(2)
    )
    assert seen[1:] == [2]
