"""The online data migrations, on real databases."""

import json
import logging
from typing import Any

import pytest
import sqlalchemy as sa

from reqspec.db import engines
from reqspec.db import request_spec_migrations as migration_db
from reqspec.db import request_specs as spec_db
from reqspec.objects import online_migrations as odm
from reqspec.objects import RequestSpec
from tests.conftest import Env
from tests.fixtures.specs import make_spec
from tests.fixtures.specs import store_old_row

# Every backend: the candidate queries are plain column filters, but
# NULL and index behaviour are the database's own.
pytestmark = pytest.mark.backends("sqlite", "postgresql", "mysql")

CURRENT = RequestSpec.VERSION


def _stored(env: Env, instance_uuid: str, cell: int | None = None) -> Any:
    ctx = env.ctx if cell is None else env.cell_context(cell)
    return spec_db.get_by_instance_uuid(ctx, instance_uuid)


def _columns(env: Env, instance_uuid: str) -> tuple[str | None, str | None]:
    """(instance_group_uuid, spec_version) as the API database holds them."""
    with engines.database(env.api_url).engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT instance_group_uuid, spec_version FROM request_specs "
                "WHERE instance_uuid = :u"
            ),
            {"u": instance_uuid},
        ).one()
    return row[0], row[1]


def test_old_documents_are_rewritten_in_batches(db: Env) -> None:
    specs = [make_spec(db.ctx) for _ in range(3)]
    old_texts = {
        spec.instance_uuid: store_old_row(
            db.ctx, spec, "1.0", stated=True
        ).spec
        for spec in specs
    }
    current = make_spec(db.ctx)
    current.create()

    assert odm.count_old_documents(db.ctx) == 3
    assert odm.count_unversioned(db.ctx) == 0
    assert odm.rewrite_old_documents(db.ctx, 2) == (2, 2)
    assert odm.count_old_documents(db.ctx) == 1
    assert odm.rewrite_old_documents(db.ctx, 2) == (1, 1)
    assert odm.rewrite_old_documents(db.ctx, 2) == (0, 0)

    for spec in specs:
        row = _stored(db, spec.instance_uuid)
        assert json.loads(row.spec)["version"] == CURRENT
        assert row.spec_version == CURRENT
        # Exactly what reading the old document has always meant.
        old = RequestSpec.from_document(None, old_texts[spec.instance_uuid])
        assert row.spec == old.to_document()
        assert row.generation == 2
        assert row.instance_group_uuid == spec.instance_group.uuid
        loaded = RequestSpec.get_by_instance_uuid(db.ctx, spec.instance_uuid)
        assert loaded.flavor == spec.flavor
        assert loaded.instance_group == spec.instance_group
        assert loaded.security_groups == []  # 1.0 had none
    # The current row was never selected, let alone touched.
    assert _stored(db, current.instance_uuid).generation == 1


def test_rows_older_than_the_version_column_are_upgraded_and_stamped(
    db: Env,
) -> None:
    """Rows of a release before ``spec_version``: NULL there and in
    ``instance_group_uuid``, documents old or already current."""
    old = make_spec(db.ctx)
    store_old_row(db.ctx, old, "1.0")
    grouped = make_spec(db.ctx)
    store_old_row(db.ctx, grouped, CURRENT)
    lone = make_spec(db.ctx, group=False)
    lone_text = store_old_row(db.ctx, lone, CURRENT).spec
    current = make_spec(db.ctx)
    current.create()
    assert _columns(db, current.instance_uuid) == (
        current.instance_group.uuid,
        CURRENT,
    )

    # Two of them have a server group and no group uuid: fixtures, as at
    # the head the block revisions have waited for those.
    assert odm.pending(db.ctx) == {
        "backfill_instance_group_uuid": 2,
        "backfill_spec_version": 3,
        "rewrite_old_documents": 0,
    }
    # Resumable: a cursor carries a run across calls of one row each.
    cursor = odm.Cursor()
    assert odm.backfill_spec_version(db.ctx, 1, cursor) == (1, 1)
    assert odm.count_unversioned(db.ctx) == 2
    assert odm.backfill_spec_version(db.ctx, 2, cursor) == (2, 2)
    assert odm.backfill_spec_version(db.ctx, 2, cursor) == (0, 0)
    # Idempotent: a new run finds nothing left.
    assert odm.backfill_spec_version(db.ctx, 50) == (0, 0)
    assert odm.pending(db.ctx) == {
        "backfill_instance_group_uuid": 0,
        "backfill_spec_version": 0,
        "rewrite_old_documents": 0,
    }

    # The old document was rewritten at the current version...
    row = _stored(db, old.instance_uuid)
    assert (row.generation, json.loads(row.spec)["version"]) == (2, CURRENT)
    assert _columns(db, old.instance_uuid) == (
        old.instance_group.uuid,
        CURRENT,
    )
    # ...the current ones only got their columns: same text, same
    # generation, so a writer holding them can still save.
    assert _columns(db, grouped.instance_uuid) == (
        grouped.instance_group.uuid,
        CURRENT,
    )
    assert _stored(db, grouped.instance_uuid).generation == 1
    assert _columns(db, lone.instance_uuid) == (None, CURRENT)
    row = _stored(db, lone.instance_uuid)
    assert (row.generation, row.spec) == (1, lone_text)
    # The row written with the column was never selected.
    assert _stored(db, current.instance_uuid).generation == 1


def test_group_backfill_candidates_are_old_rows_until_stamped(
    db: Env,
) -> None:
    """At the head: the group backfill's candidates are the rows of older
    releases (no group uuid, no version), never a current row; a row
    without a group stops being one once ``backfill_spec_version`` has
    stated its version."""
    lone = make_spec(db.ctx, group=False)
    store_old_row(db.ctx, lone, CURRENT)
    grouped = make_spec(db.ctx)
    store_old_row(db.ctx, grouped, CURRENT)
    for group in (False, True):
        make_spec(db.ctx, group=group).create()

    def candidates() -> list[str]:
        rows = migration_db.get_missing_group_uuid(db.ctx, 0, 50, True)
        return [row.instance_uuid for row in rows]

    assert candidates() == [lone.instance_uuid, grouped.instance_uuid]
    assert odm.count_missing_instance_group_uuid(db.ctx) == 1
    cursor = odm.Cursor()
    # Looked at, nothing to do; the cursor moves on and the run goes on.
    assert odm.backfill_instance_group_uuid(db.ctx, 1, cursor) == (0, 0)
    assert not cursor.at_end
    assert odm.backfill_instance_group_uuid(db.ctx, 1, cursor) == (1, 1)
    assert odm.backfill_instance_group_uuid(db.ctx, 1, cursor) == (0, 0)
    assert cursor.at_end
    # Only the column: same document, same generation, no version yet.
    assert _columns(db, grouped.instance_uuid) == (
        grouped.instance_group.uuid,
        None,
    )
    assert _stored(db, grouped.instance_uuid).generation == 1
    assert candidates() == [lone.instance_uuid]
    assert odm.count_missing_instance_group_uuid(db.ctx) == 0

    assert odm.backfill_spec_version(db.ctx, 50) == (2, 2)
    assert candidates() == []
    assert odm.pending(db.ctx)["backfill_instance_group_uuid"] == 0
    assert odm.backfill_instance_group_uuid(db.ctx, 50) == (0, 0)


def _a_writer_saves_after_each_load(
    db: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone else saves each row (a new zone) between a migration's read
    of it and its write."""
    real_load = RequestSpec.from_db_row

    def load_then_race(ctx: Any, row: spec_db.SpecRow) -> RequestSpec:
        loaded = real_load(ctx, row)
        other = real_load(
            db.ctx, spec_db.get_by_instance_uuid(db.ctx, row.instance_uuid)
        )
        other.availability_zone = "az-moved"
        other.save()
        return loaded

    monkeypatch.setattr(
        odm.RequestSpec, "from_db_row", staticmethod(load_then_race)
    )


def test_the_group_backfill_leaves_a_row_a_writer_changed(
    db: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = make_spec(db.ctx)
    store_old_row(db.ctx, spec, CURRENT)
    _a_writer_saves_after_each_load(db, monkeypatch)
    assert odm.backfill_instance_group_uuid(db.ctx, 10) == (1, 0)
    monkeypatch.undo()
    # The writer's save filled in both columns itself.
    assert _columns(db, spec.instance_uuid) == (
        spec.instance_group.uuid,
        CURRENT,
    )
    assert odm.pending(db.ctx)["backfill_instance_group_uuid"] == 0


def test_a_cell_database_is_migrated_on_its_own(db: Env) -> None:
    cctx = db.cell_context(0)
    spec = make_spec(cctx)
    store_old_row(cctx, spec, "1.1", stated=True)
    store_old_row(db.ctx, make_spec(db.ctx), "1.0", stated=True)

    assert odm.count_old_documents(cctx) == 1
    assert odm.rewrite_old_documents(cctx, 50) == (1, 1)
    assert odm.count_old_documents(cctx) == 0
    # The API database and the other cell are left for their own runs.
    assert odm.count_old_documents(db.ctx) == 1
    assert odm.count_old_documents(db.cell_context(1)) == 0


@pytest.mark.parametrize("stated", [True, False])
def test_broken_rows_are_reported_and_do_not_stall_a_run(
    db: Env, caplog: pytest.LogCaptureFixture, stated: bool
) -> None:
    run = odm.rewrite_old_documents if stated else odm.backfill_spec_version
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
        stated=stated,
    )
    good = [make_spec(db.ctx) for _ in range(2)]
    for spec in good:
        store_old_row(db.ctx, spec, "1.0", stated=stated)

    cursor = odm.Cursor()
    with caplog.at_level(logging.WARNING):
        assert run(db.ctx, 1, cursor) == (1, 0)
    assert broken.instance_uuid in caplog.text
    assert broken.instance_uuid in cursor.damaged[0]
    # The cursor moves past the broken row; the good ones get done.
    assert run(db.ctx, 1, cursor) == (1, 1)
    assert run(db.ctx, 1, cursor) == (1, 1)
    assert run(db.ctx, 1, cursor) == (0, 0)
    # The broken row is left exactly as it was, for a human to fix.
    assert sum(odm.pending(db.ctx).values()) == 1
    assert _stored(db, broken.instance_uuid).generation == 1
    assert list(odm.undecodable(db.ctx)) == [broken.instance_uuid]


@pytest.mark.parametrize("version", ["1.0", CURRENT])
def test_a_live_writer_wins_and_the_row_is_not_counted_done(
    db: Env, monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    spec = make_spec(db.ctx)
    store_old_row(db.ctx, spec, version)
    _a_writer_saves_after_each_load(db, monkeypatch)
    assert odm.backfill_spec_version(db.ctx, 10) == (1, 0)
    monkeypatch.undo()

    loaded = RequestSpec.get_by_instance_uuid(db.ctx, spec.instance_uuid)
    # The writer's change survived; its save wrote the current format and
    # stated it.
    assert loaded.availability_zone == "az-moved"
    assert _columns(db, spec.instance_uuid) == (
        spec.instance_group.uuid,
        CURRENT,
    )
    assert odm.pending(db.ctx) == {
        "backfill_instance_group_uuid": 0,
        "backfill_spec_version": 0,
        "rewrite_old_documents": 0,
    }


def test_create_and_save_keep_the_columns_in_step(db: Env) -> None:
    spec = make_spec(db.ctx)
    spec.create()
    assert _columns(db, spec.instance_uuid) == (
        spec.instance_group.uuid,
        CURRENT,
    )
    spec.instance_group = None
    spec.save()
    assert _columns(db, spec.instance_uuid) == (None, CURRENT)
    copies = make_spec(db.ctx)
    uuids = [make_spec().instance_uuid for _ in range(2)]
    copies.create_copies(uuids)
    for uuid in uuids:
        assert _columns(db, uuid) == (copies.instance_group.uuid, CURRENT)
    assert odm.pending(db.ctx) == {
        "backfill_instance_group_uuid": 0,
        "backfill_spec_version": 0,
        "rewrite_old_documents": 0,
    }


def test_saving_an_unversioned_row_states_its_version(db: Env) -> None:
    spec = make_spec(db.ctx)
    store_old_row(db.ctx, spec, CURRENT)
    loaded = RequestSpec.get_by_instance_uuid(db.ctx, spec.instance_uuid)
    loaded.availability_zone = "elsewhere"
    loaded.save()
    assert _columns(db, spec.instance_uuid) == (
        spec.instance_group.uuid,
        CURRENT,
    )
    assert odm.count_unversioned(db.ctx) == 0


def test_the_document_bytes_decide_nothing(db: Env) -> None:
    # Text that looks like an old version's ending or a server group, in
    # a current row: the candidates are chosen by the column alone.
    spec = make_spec(db.ctx, group=False)
    spec.scheduler_hints = {
        "note": [',"version":"1.0"}', '"instance_group":{']
    }
    spec.create()
    assert odm.pending(db.ctx) == {
        "backfill_instance_group_uuid": 0,
        "backfill_spec_version": 0,
        "rewrite_old_documents": 0,
    }


def test_max_count_must_be_positive(db: Env) -> None:
    with pytest.raises(ValueError):
        odm.MIGRATIONS[0](db.ctx, 0)
