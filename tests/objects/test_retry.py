"""update_with_retry: load, change, save; again from a fresh load on a
conflict, a bounded number of times. On every backend."""

import pytest

from reqspec import context
from reqspec import exception
from reqspec import objects
from reqspec.objects import retry
from tests.conftest import Env
from tests.fixtures.spec_worker import new_spec

UUID = "8d5a3b7e-1f0c-4c2b-9a4e-2b7f3c1d0e01"


def _hints(ctx: context.RequestContext) -> dict[str, list[str]]:
    spec = objects.RequestSpec.get_by_instance_uuid(ctx, UUID)
    return spec.scheduler_hints


def _add(marker: str):  # type: ignore[no-untyped-def]
    def change(spec: objects.RequestSpec) -> None:
        spec.scheduler_hints.setdefault("markers", []).append(marker)

    return change


def _competitor(ctx: context.RequestContext, saves: int | None):  # type: ignore[no-untyped-def]
    """A change that, while it runs, lets another conductor save first
    (``saves`` times, or always)."""
    done: list[str] = []

    def change(spec: objects.RequestSpec) -> None:
        if saves is None or len(done) < saves:
            marker = f"other-{len(done)}"
            other = objects.RequestSpec.get_by_instance_uuid(ctx, UUID)
            _add(marker)(other)
            other.save()
            done.append(marker)
        _add("mine")(spec)

    return change, done


def test_uncontended_update_takes_one_attempt(db: Env) -> None:
    for ctx in (db.ctx, db.cell_context(0)):
        new_spec(ctx, UUID).create()
        result = retry.update_with_retry(ctx, UUID, _add("a"))
        assert (result.attempts, result.conflicts) == (1, 0)
        assert result.spec.generation == 2
        assert _hints(ctx) == {"markers": ["a"]}


def test_a_conflict_is_retried_on_a_fresh_load(db: Env) -> None:
    new_spec(db.ctx, UUID).create()
    change, competitors = _competitor(db.ctx, saves=2)
    result = retry.update_with_retry(db.ctx, UUID, change)
    assert result.attempts == 3
    assert result.conflicts == 2
    # Both competitors' saves and ours: nothing lost, nothing doubled.
    assert _hints(db.ctx) == {"markers": [*competitors, "mine"]}
    assert result.spec.generation == 1 + 2 + 1


def test_giving_up_raises_a_conflict_and_writes_nothing(db: Env) -> None:
    new_spec(db.ctx, UUID).create()
    change, competitors = _competitor(db.ctx, saves=None)
    with pytest.raises(exception.RequestSpecConflict) as info:
        retry.update_with_retry(db.ctx, UUID, change, max_attempts=3)
    assert info.value.kwargs["attempts"] == 3
    assert "each of 3 attempts" in str(info.value)
    assert _hints(db.ctx) == {"markers": competitors}
    assert len(competitors) == 3


def test_an_error_in_the_change_writes_nothing(db: Env) -> None:
    new_spec(db.ctx, UUID).create()

    def change(spec: objects.RequestSpec) -> None:
        spec.availability_zone = "az1"
        raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        retry.update_with_retry(db.ctx, UUID, change)
    spec = objects.RequestSpec.get_by_instance_uuid(db.ctx, UUID)
    assert (spec.generation, spec.availability_zone) == (1, None)


def test_an_invalid_change_is_refused_and_not_retried(db: Env) -> None:
    new_spec(db.ctx, UUID).create()
    calls = []

    def change(spec: objects.RequestSpec) -> None:
        calls.append(1)
        spec.scheduler_hints["markers"] = [1]  # type: ignore[list-item]

    with pytest.raises(exception.InvalidRequestSpec, match="scheduler_hints"):
        retry.update_with_retry(db.ctx, UUID, change)
    assert len(calls) == 1
    assert (
        objects.RequestSpec.get_by_instance_uuid(db.ctx, UUID).generation == 1
    )


def test_missing_spec_is_not_found(db: Env) -> None:
    with pytest.raises(exception.RequestSpecNotFound):
        retry.update_with_retry(db.ctx, UUID, _add("a"))


def test_at_least_one_attempt(db: Env) -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        retry.update_with_retry(db.ctx, UUID, _add("a"), max_attempts=0)
