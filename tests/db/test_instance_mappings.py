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
