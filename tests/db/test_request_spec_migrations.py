"""SQL of the online data migrations, called directly: candidates are
chosen by ``spec_version`` alone, whatever the documents hold."""

from typing import Any
from typing import cast

from oslo_utils import uuidutils
import pytest
import sqlalchemy as sa

from reqspec.db import api_models
from reqspec.db import engines
from reqspec.db import request_spec_migrations as migrations
from reqspec.db import request_specs
from tests.conftest import Env

TABLE = cast(sa.Table, api_models.RequestSpec.__table__)

# Documents that would fool a filter on the text: a current-looking one in
# an unversioned row, an old-looking one in a current row.
LOOKS_CURRENT = '{"spec":{"instance_group":{}},"version":"1.3"}'
LOOKS_OLD = '{"spec":{"h":[",\\"version\\":\\"1.0\\"}"]},"version":"1.0"}'


def _row(env: Env, spec: str, version: str | None) -> request_specs.SpecRow:
    return request_specs.create(
        env.ctx,
        uuidutils.generate_uuid(),
        "p1",
        spec,
        spec_version=version,
    )


def _columns(env: Env, uuid: str) -> tuple[Any, ...]:
    c = TABLE.c
    with engines.database(env.api_url).engine.connect() as conn:
        return tuple(
            conn.execute(
                sa.select(
                    c.generation, c.spec, c.instance_group_uuid, c.spec_version
                ).where(c.instance_uuid == uuid)
            ).one()
        )


def test_unversioned_rows_are_the_rows_without_a_version(db: Env) -> None:
    old = [_row(db, LOOKS_CURRENT, None) for _ in range(3)]
    _row(db, LOOKS_OLD, "1.3")
    _row(db, "{}", "1.0")

    assert migrations.count_unversioned(db.ctx) == 3
    first = migrations.get_unversioned(db.ctx, 0, 2)
    assert [r.instance_uuid for r in first] == [
        r.instance_uuid for r in old[:2]
    ]
    # Keyset pagination: after the last id seen, in id order.
    rest = migrations.get_unversioned(db.ctx, first[-1].id, 2)
    assert [r.instance_uuid for r in rest] == [old[2].instance_uuid]
    assert migrations.get_unversioned(db.ctx, rest[-1].id, 2) == []
    # Whole rows, as request_specs reads them.
    assert first[0] == request_specs.get_by_instance_uuid(
        db.ctx, old[0].instance_uuid
    )


def test_rows_at_another_version_exclude_unversioned_ones(db: Env) -> None:
    _row(db, LOOKS_OLD, None)
    current = _row(db, LOOKS_OLD, "1.3")
    older = [_row(db, LOOKS_CURRENT, v) for v in ("1.0", "1.2")]
    newer = _row(db, "{}", "1.4")

    assert migrations.count_at_other_version(db.ctx, "1.3") == 3
    found = migrations.get_at_other_version(db.ctx, "1.3", 0, 10)
    assert [r.instance_uuid for r in found] == [
        *(r.instance_uuid for r in older),
        newer.instance_uuid,
    ]
    assert current.instance_uuid not in {r.instance_uuid for r in found}
    assert migrations.count_at_other_version(db.ctx, "1.0") == 3


def test_set_columns_leaves_document_and_generation(db: Env) -> None:
    row = _row(db, LOOKS_CURRENT, None)
    group = uuidutils.generate_uuid()
    assert migrations.set_columns(db.ctx, row.instance_uuid, 1, group, "1.3")
    assert _columns(db, row.instance_uuid) == (1, LOOKS_CURRENT, group, "1.3")
    assert migrations.count_unversioned(db.ctx) == 0


@pytest.mark.parametrize("generation", [0, 2])
def test_set_columns_writes_nothing_once_the_row_moved_on(
    db: Env, generation: int
) -> None:
    row = _row(db, LOOKS_CURRENT, None)
    assert not migrations.set_columns(
        db.ctx, row.instance_uuid, generation, None, "1.3"
    )
    assert _columns(db, row.instance_uuid) == (1, LOOKS_CURRENT, None, None)


def test_set_columns_on_a_missing_row_is_false(db: Env) -> None:
    assert not migrations.set_columns(
        db.ctx, uuidutils.generate_uuid(), 1, None, "1.3"
    )


def test_a_cell_database_is_asked_on_its_own(db: Env) -> None:
    cctx = db.cell_context(0)
    request_specs.create(cctx, uuidutils.generate_uuid(), "p1", "{}")
    assert migrations.count_unversioned(cctx) == 1
    assert migrations.count_unversioned(db.ctx) == 0
    assert migrations.count_unversioned(db.cell_context(1)) == 0
