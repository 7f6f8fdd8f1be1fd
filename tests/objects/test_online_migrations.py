"""The online data migrations, on real databases."""

import json
import logging
from typing import Any

import pytest
import sqlalchemy as sa

from reqspec.db import engines
from reqspec.db import request_specs as spec_db
from reqspec.objects import document
from reqspec.objects import online_migrations as odm
from reqspec.objects import RequestSpec
from tests.conftest import Env
from tests.fixtures.specs import make_spec
from tests.fixtures.specs import store_old_row

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def _stored(env: Env, instance_uuid: str, cell: int | None = None) -> Any:
    ctx = env.ctx if cell is None else env.cell_context(cell)
    return spec_db.get_by_instance_uuid(ctx, instance_uuid)


def _group_column(env: Env, instance_uuid: str) -> str | None:
    with engines.database(env.api_url).engine.connect() as conn:
        value: str | None = conn.execute(
            sa.text(
                "SELECT instance_group_uuid FROM request_specs "
                "WHERE instance_uuid = :u"
            ),
            {"u": instance_uuid},
        ).scalar()
    return value


def test_old_documents_are_rewritten_in_batches(db: Env) -> None:
    specs = [make_spec(db.ctx) for _ in range(3)]
    old_texts = {
        spec.instance_uuid: store_old_row(db.ctx, spec, "1.0").spec
        for spec in specs
    }
    current = make_spec(db.ctx)
    current.create()

    assert odm.count_old_documents(db.ctx) == 3
    assert odm.rewrite_old_documents(db.ctx, 2) == (2, 2)
    assert odm.count_old_documents(db.ctx) == 1
    assert odm.rewrite_old_documents(db.ctx, 2) == (1, 1)
    assert odm.rewrite_old_documents(db.ctx, 2) == (0, 0)

    for spec in specs:
        row = _stored(db, spec.instance_uuid)
        assert json.loads(row.spec)["version"] == document.current_version()
        # Exactly what reading the old document has always meant.
        old = RequestSpec.from_document(None, old_texts[spec.instance_uuid])
        assert row.spec == old.to_document()
        assert row.generation == 2
        loaded = RequestSpec.get_by_instance_uuid(db.ctx, spec.instance_uuid)
        assert loaded.flavor == spec.flavor
        assert loaded.instance_group == spec.instance_group
        assert loaded.security_groups == []  # 1.0 had none
    # The current row was never touched.
    assert _stored(db, current.instance_uuid).generation == 1


def test_a_cell_database_is_migrated_on_its_own(db: Env) -> None:
    cctx = db.cell_context(0)
    spec = make_spec(cctx)
    store_old_row(cctx, spec, "1.1")
    store_old_row(db.ctx, make_spec(db.ctx), "1.0")

    assert odm.count_old_documents(cctx) == 1
    assert odm.rewrite_old_documents(cctx, 50) == (1, 1)
    assert odm.count_old_documents(cctx) == 0
    # The API database and the other cell are left for their own runs.
    assert odm.count_old_documents(db.ctx) == 1
    assert odm.count_old_documents(db.cell_context(1)) == 0


def test_broken_rows_are_reported_and_do_not_stall_a_run(
    db: Env, caplog: pytest.LogCaptureFixture
) -> None:
    broken = make_spec(db.ctx)
    store_old_row(
        db.ctx,
        broken,
        text=json.dumps(
            {
                "spec": {"instance_uuid": broken.instance_uuid, "flavor": 7},
                "version": "1.0",
            }
        ),
    )
    good = [make_spec(db.ctx) for _ in range(2)]
    for spec in good:
        store_old_row(db.ctx, spec, "1.0")

    cursor = odm.Cursor()
    with caplog.at_level(logging.WARNING):
        assert odm.rewrite_old_documents(db.ctx, 1, cursor) == (1, 0)
    assert broken.instance_uuid in caplog.text
    # The cursor moves past the broken row; the good ones get done.
    assert odm.rewrite_old_documents(db.ctx, 1, cursor) == (1, 1)
    assert odm.rewrite_old_documents(db.ctx, 1, cursor) == (1, 1)
    assert odm.rewrite_old_documents(db.ctx, 1, cursor) == (0, 0)
    # The broken row is left exactly as it was, for a human to fix.
    assert odm.count_old_documents(db.ctx) == 1
    assert _stored(db, broken.instance_uuid).generation == 1


def test_a_live_writer_wins_and_the_row_is_not_counted_done(
    db: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = make_spec(db.ctx)
    store_old_row(db.ctx, spec, "1.0")
    real_load = RequestSpec.from_db_row

    def load_then_race(ctx: Any, row: spec_db.SpecRow) -> RequestSpec:
        loaded = real_load(ctx, row)
        # Someone else saves between our read and our write.
        other = real_load(
            db.ctx, spec_db.get_by_instance_uuid(db.ctx, row.instance_uuid)
        )
        other.availability_zone = "az-moved"
        other.save()
        return loaded

    monkeypatch.setattr(
        odm.RequestSpec, "from_db_row", staticmethod(load_then_race)
    )
    assert odm.rewrite_old_documents(db.ctx, 10) == (1, 0)
    monkeypatch.undo()

    loaded = RequestSpec.get_by_instance_uuid(db.ctx, spec.instance_uuid)
    # The writer's change survived; its save wrote the current format.
    assert loaded.availability_zone == "az-moved"
    assert odm.count_old_documents(db.ctx) == 0


def test_instance_group_uuid_is_backfilled(db: Env) -> None:
    grouped = [make_spec(db.ctx) for _ in range(3)]
    for spec in grouped:
        store_old_row(db.ctx, spec, document.current_version())
    lone = make_spec(db.ctx, group=False)
    store_old_row(db.ctx, lone, document.current_version())

    assert odm.count_missing_instance_group_uuid(db.ctx) == 3
    assert odm.backfill_instance_group_uuid(db.ctx, 2) == (2, 2)
    assert odm.backfill_instance_group_uuid(db.ctx, 2) == (1, 1)
    assert odm.backfill_instance_group_uuid(db.ctx, 2) == (0, 0)
    for spec in grouped:
        assert _group_column(db, spec.instance_uuid) == (
            spec.instance_group.uuid
        )
        # The document is untouched: same generation, same text.
        assert _stored(db, spec.instance_uuid).generation == 1
    assert _group_column(db, lone.instance_uuid) is None


def test_create_and_save_keep_the_column_in_step(db: Env) -> None:
    spec = make_spec(db.ctx)
    spec.create()
    assert _group_column(db, spec.instance_uuid) == spec.instance_group.uuid
    spec.instance_group = None
    spec.save()
    assert _group_column(db, spec.instance_uuid) is None
    assert odm.pending(db.ctx) == {
        "rewrite_old_documents": 0,
        "backfill_instance_group_uuid": 0,
    }


def test_a_hint_that_looks_like_a_group_is_not_a_group(db: Env) -> None:
    spec = make_spec(db.ctx, group=False)
    # A JSON string cannot hold an unescaped quote, so this text inside a
    # hint does not look like the group field to the filter.
    spec.scheduler_hints = {"note": ['"instance_group":{']}
    store_old_row(db.ctx, spec, document.current_version())
    assert odm.count_missing_instance_group_uuid(db.ctx) == 0


def test_max_count_must_be_positive(db: Env) -> None:
    with pytest.raises(ValueError):
        odm.MIGRATIONS[0](db.ctx, 0)
