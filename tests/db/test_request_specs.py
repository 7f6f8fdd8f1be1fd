"""SQL for ``request_specs``, called directly, checked against the table."""

from typing import Any
from typing import cast

from oslo_utils import uuidutils
import pytest
import sqlalchemy as sa

from reqspec import exception
from reqspec.db import api_models
from reqspec.db import engines
from reqspec.db import request_specs
from tests.conftest import Env

TABLE = cast(sa.Table, api_models.RequestSpec.__table__)


def stored(env: Env) -> dict[str, tuple[Any, ...]]:
    """instance uuid -> (project_id, generation, spec, group) as the table
    holds them, read outside the module under test."""
    c = TABLE.c
    with engines.database(env.api_url).engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                c.instance_uuid,
                c.project_id,
                c.generation,
                c.spec,
                c.instance_group_uuid,
            )
        )
        return {r[0]: tuple(r[1:]) for r in rows}


def new_row(project: str = "p1", spec: str = "{}") -> request_specs.SpecRow:
    return request_specs.SpecRow(
        0, uuidutils.generate_uuid(), project, 0, spec
    )


def test_create_writes_generation_one(db: Env) -> None:
    uuid = uuidutils.generate_uuid()
    row = request_specs.create(db.ctx, uuid, "p1", '{"a":1}', "g1")
    assert stored(db) == {uuid: ("p1", 1, '{"a":1}', "g1")}
    assert row.id > 0 and row.generation == 1
    with pytest.raises(exception.RequestSpecExists):
        request_specs.create(db.ctx, uuid, "p1", "{}")
    assert stored(db)[uuid][2] == '{"a":1}'


def test_create_many_is_all_or_nothing(db: Env) -> None:
    rows = [new_row(spec=f'{{"n":{i}}}') for i in range(3)]
    request_specs.create_many(db.ctx, rows)
    assert stored(db) == {
        r.instance_uuid: ("p1", 1, r.spec, None) for r in rows
    }
    with pytest.raises(exception.RequestSpecExists):
        request_specs.create_many(db.ctx, [new_row(), rows[0]])
    assert len(stored(db)) == 3


def test_update_checks_generation_and_project(db: Env) -> None:
    uuid = request_specs.create(db.ctx, uuidutils.generate_uuid(), "p1", "{}")
    uuid_ = uuid.instance_uuid
    assert request_specs.update(db.ctx, uuid_, 1, "p1", "v2", "p1", "g") == 2
    assert stored(db)[uuid_] == ("p1", 2, "v2", "g")
    with pytest.raises(exception.RequestSpecConflict):
        request_specs.update(db.ctx, uuid_, 1, "p1", "stale")
    with pytest.raises(exception.RequestSpecNotFound):
        request_specs.update(db.ctx, uuid_, 2, "p1", "other", "p2")
    # Same columns as stored: only the document and generation change.
    request_specs.update(
        db.ctx,
        uuid_,
        2,
        "p1",
        "v3",
        instance_group_uuid="g",
        stored_columns=("p1", "g"),
    )
    assert stored(db)[uuid_] == ("p1", 3, "v3", "g")


def test_get_by_instance_uuid_respects_the_project(db: Env) -> None:
    row = request_specs.create(db.ctx, uuidutils.generate_uuid(), "p1", "{}")
    uuid = row.instance_uuid
    assert request_specs.get_by_instance_uuid(db.ctx, uuid) == row
    assert request_specs.get_by_instance_uuid(db.ctx, uuid, "p1") == row
    assert request_specs.get_by_instance_uuid(db.ctx, uuid, "p2") is None


def test_get_by_instance_uuids_over_many_in_lists(db: Env) -> None:
    rows = [new_row("p1" if i % 2 else "p2") for i in range(7)]
    request_specs.create_many(db.ctx, rows)
    stored_uuids = [r.instance_uuid for r in rows]
    # More uuids than one IN list, stored ones in both lists.
    missing = [
        uuidutils.generate_uuid() for _ in range(request_specs.IN_CHUNK)
    ]
    wanted = [*stored_uuids[:3], *missing, *stored_uuids[3:]]
    assert request_specs.IN_CHUNK < len(wanted) <= 2 * request_specs.IN_CHUNK
    got = request_specs.get_by_instance_uuids(db.ctx, wanted)
    # Every stored one exactly once, with its row; the missing skipped.
    assert sorted(got) == sorted(
        request_specs.get_by_instance_uuid(db.ctx, u) for u in stored_uuids
    )
    in_p1 = request_specs.get_by_instance_uuids(db.ctx, wanted, "p1")
    assert sorted(r.instance_uuid for r in in_p1) == sorted(
        r.instance_uuid for r in rows if r.project_id == "p1"
    )
    assert request_specs.timestamps(db.ctx, wanted).keys() == set(stored_uuids)
    assert request_specs.destroy_many(db.ctx, wanted[:-2]) == 5
    assert stored(db).keys() == set(stored_uuids[5:])


def test_destroy_respects_the_project(db: Env) -> None:
    uuid = request_specs.create(
        db.ctx, uuidutils.generate_uuid(), "p1", "{}"
    ).instance_uuid
    with pytest.raises(exception.RequestSpecNotFound):
        request_specs.destroy(db.ctx, uuid, "p2")
    assert uuid in stored(db)
    request_specs.destroy(db.ctx, uuid, "p1")
    assert stored(db) == {}
    with pytest.raises(exception.RequestSpecNotFound):
        request_specs.destroy(db.ctx, uuid)


def test_iter_batches_walks_every_row_in_id_order(db: Env) -> None:
    rows = [new_row("p1" if i < 4 else "p2") for i in range(5)]
    request_specs.create_many(db.ctx, rows)
    batches = list(request_specs.iter_batches(db.ctx, 2))
    assert [len(b) for b in batches] == [2, 2, 1]
    ids = [r.id for b in batches for r in b]
    assert ids == sorted(ids)
    assert {r.instance_uuid for b in batches for r in b} == {
        r.instance_uuid for r in rows
    }
    in_p2 = [r for b in request_specs.iter_batches(db.ctx, 2, "p2") for r in b]
    assert [r.instance_uuid for r in in_p2] == [rows[4].instance_uuid]
