"""RequestSpec.iter_all: every stored spec, batch by batch, on every
backend."""

import pytest

from reqspec import context
from reqspec import objects
from reqspec.db import request_specs as spec_db
from tests.conftest import Env
from tests.fixtures import specs


def _store(ctx: context.RequestContext, n: int, project: str) -> list[str]:
    uuids = []
    for _ in range(n):
        spec = specs.make_spec(ctx, group=False)
        spec.project_id = project
        spec.create()
        uuids.append(spec.instance_uuid)
    return uuids


def _user(project: str) -> context.RequestContext:
    return context.RequestContext(
        project_id=project, user_id="user-1", is_admin=False, overwrite=False
    )


@pytest.mark.parametrize("batch_size", [1, 2, 5, 500])
def test_every_spec_once_in_storage_order(db: Env, batch_size: int) -> None:
    stored = _store(db.ctx, 5, "project-a")
    found = list(objects.RequestSpec.iter_all(db.ctx, batch_size))
    assert [s.instance_uuid for s in found] == stored
    # Fully loaded, with their row identity, like a get.
    for spec in found:
        assert spec == objects.RequestSpec.get_by_instance_uuid(
            db.ctx, spec.instance_uuid
        )
        assert spec.generation == 1
        assert not spec.obj_what_changed()


def test_reads_in_batches_of_the_given_size(
    db: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store(db.ctx, 5, "project-a")
    sizes: list[int] = []
    real = spec_db.iter_batches

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        for batch in real(*args, **kwargs):
            sizes.append(len(batch))
            yield batch

    monkeypatch.setattr(spec_db, "iter_batches", counting)
    assert len(list(objects.RequestSpec.iter_all(db.ctx, 2))) == 5
    assert sizes == [2, 2, 1]


def test_only_the_targeted_database(db: Env) -> None:
    in_api = _store(db.ctx, 2, "project-a")
    cell = db.cell_context(0)
    in_cell = _store(cell, 3, "project-a")
    assert [s.instance_uuid for s in objects.RequestSpec.iter_all(cell)] == (
        in_cell
    )
    assert [
        s.instance_uuid for s in objects.RequestSpec.iter_all(db.ctx)
    ] == in_api
    assert list(objects.RequestSpec.iter_all(db.cell_context(1))) == []


def test_a_user_iterates_only_their_project(db: Env) -> None:
    mine = _store(db.ctx, 2, "project-a")
    theirs = _store(db.ctx, 2, "project-b")
    found = objects.RequestSpec.iter_all(_user("project-a"), batch_size=1)
    assert [s.instance_uuid for s in found] == mine
    everything = [
        s.instance_uuid for s in objects.RequestSpec.iter_all(db.ctx)
    ]
    assert everything == mine + theirs


def test_rows_deleted_meanwhile_are_not_a_problem(db: Env) -> None:
    stored = _store(db.ctx, 4, "project-a")
    seen = []
    for spec in objects.RequestSpec.iter_all(db.ctx, batch_size=2):
        seen.append(spec.instance_uuid)
        if len(seen) == 1:
            # Deleting a row of the next batch while iterating.
            objects.RequestSpec.get_by_instance_uuid(
                db.ctx, stored[2]
            ).destroy()
    assert seen == [stored[0], stored[1], stored[3]]


def test_a_batch_size_below_one_is_refused() -> None:
    ctx = context.get_admin_context()
    with pytest.raises(ValueError, match="batch_size"):
        next(objects.RequestSpec.iter_all(ctx, 0))


def test_nothing_stored_yields_nothing(db: Env) -> None:
    assert list(objects.RequestSpec.iter_all(db.ctx)) == []
