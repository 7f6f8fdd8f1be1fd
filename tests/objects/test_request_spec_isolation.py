"""Project isolation: a non-admin context reaches only its own project's
specs, and another project's spec looks exactly like a missing one.

Every access is tried on the API database and on a cell database, and
every refusal is compared with the refusal of the same call once the spec
really is gone: same type, same message, byte for byte.
"""

from collections.abc import Callable

import pytest

from reqspec import context
from reqspec import exception
from reqspec import objects
from reqspec.objects import retry
from tests.conftest import Env
from tests.fixtures import identifiers
from tests.fixtures.spec_worker import new_spec

# Also on Galera: API database and cells on the cluster.
pytestmark = pytest.mark.galera

MINE = "0a4b6c8d-1e2f-4a5b-8c7d-9e0f1a2b3c01"
THEIRS = "0a4b6c8d-1e2f-4a5b-8c7d-9e0f1a2b3c02"


def _user(project: str | None = "project-a") -> context.RequestContext:
    return context.RequestContext(
        project_id=project, user_id="user-1", is_admin=False, overwrite=False
    )


def _contexts(db: Env) -> list[tuple[context.RequestContext, ...]]:
    """(admin, user of project-a) on the API database and on a cell."""
    return [
        (db.ctx, _user()),
        (db.cell_context(0), db.cell_context(0, _user())),
    ]


def _refusal(call: Callable[[], object]) -> exception.ReqspecError:
    with pytest.raises(exception.ReqspecError) as info:
        call()
    return info.value


def _stored_row(admin: context.RequestContext) -> tuple:
    spec = objects.RequestSpec.get_by_instance_uuid(admin, THEIRS)
    return (spec.generation, spec.to_document())


def _attempts(
    admin: context.RequestContext, user: context.RequestContext
) -> dict[str, Callable[[], object]]:
    """Every way a user of project-a might reach project-b's spec."""

    def save_as_theirs() -> None:
        # An object for their row (loaded by an admin, then handed over).
        spec = new_spec(admin, THEIRS, project_id="project-b")
        spec.mark_stored(1, 1, "")
        spec._context = user
        spec.availability_zone = "stolen"
        spec.save()

    def save_claiming_mine() -> None:
        # The same, relabelled as project-a: the row still says project-b.
        spec = new_spec(user, THEIRS, project_id="project-a")
        spec.mark_stored(1, 1, "")
        spec.availability_zone = "stolen"
        spec.save()

    def destroy() -> None:
        new_spec(user, THEIRS, project_id="project-a").destroy()

    def update_with_retry() -> None:
        retry.update_with_retry(
            user, THEIRS, lambda s: setattr(s, "availability_zone", "x")
        )

    return {
        "get": lambda: objects.RequestSpec.get_by_instance_uuid(user, THEIRS),
        "save as theirs": save_as_theirs,
        "save claiming mine": save_claiming_mine,
        "destroy": destroy,
        "update_with_retry": update_with_retry,
    }


def test_own_project_is_reachable(db: Env) -> None:
    for admin, user in _contexts(db):
        new_spec(user, MINE, project_id="project-a").create()
        spec = objects.RequestSpec.get_by_instance_uuid(user, MINE)
        assert spec.availability_zone != "az1"
        spec.availability_zone = "az1"
        spec.save()
        # What the user wrote is what an admin finds, in the user's project.
        stored = objects.RequestSpec.get_by_instance_uuid(admin, MINE)
        assert stored.availability_zone == "az1"
        assert stored.project_id == "project-a"
        assert stored.generation == 2
        assert objects.RequestSpec.get_by_instance_uuids(user, [MINE]) == [
            stored
        ]
        spec.destroy()
        with pytest.raises(exception.RequestSpecNotFound):
            objects.RequestSpec.get_by_instance_uuid(admin, MINE)


def test_another_projects_spec_looks_missing(db: Env) -> None:
    for admin, user in _contexts(db):
        new_spec(admin, THEIRS, project_id="project-b").create()
        before = _stored_row(admin)
        attempts = _attempts(admin, user)
        refusals = {name: _refusal(call) for name, call in attempts.items()}
        # Nothing was read, changed or deleted.
        assert _stored_row(admin) == before
        for name in ("get", "save claiming mine", "destroy"):
            assert type(refusals[name]) is exception.RequestSpecNotFound
        assert "project-b" not in str(refusals)

        # The same calls once the spec really is gone.
        objects.RequestSpec.get_by_instance_uuid(admin, THEIRS).destroy()
        for name, call in attempts.items():
            missing = _refusal(call)
            assert type(missing) is type(refusals[name]), name
            assert str(missing) == str(refusals[name]), name
            assert missing.kwargs == refusals[name].kwargs, name


def test_get_many_skips_another_projects_specs(db: Env) -> None:
    for admin, user in _contexts(db):
        new_spec(user, MINE, project_id="project-a").create()
        new_spec(admin, THEIRS, project_id="project-b").create()
        found = objects.RequestSpec.get_by_instance_uuids(user, [THEIRS, MINE])
        assert [s.instance_uuid for s in found] == [MINE]
        assert objects.RequestSpec.get_by_instance_uuids(user, [THEIRS]) == []
        # An admin sees both.
        both = objects.RequestSpec.get_by_instance_uuids(admin, [THEIRS, MINE])
        assert [s.project_id for s in both] == ["project-b", "project-a"]


def test_creating_in_another_project_is_forbidden(db: Env) -> None:
    for admin, user in _contexts(db):
        with pytest.raises(exception.Forbidden, match="own project"):
            new_spec(user, THEIRS, project_id="project-b").create()
        assert objects.RequestSpec.get_by_instance_uuids(admin, [THEIRS]) == []


def test_moving_a_spec_to_another_project_is_forbidden(db: Env) -> None:
    for admin, user in _contexts(db):
        new_spec(user, MINE, project_id="project-a").create()
        spec = objects.RequestSpec.get_by_instance_uuid(user, MINE)
        spec.project_id = "project-b"
        with pytest.raises(exception.Forbidden):
            spec.save()
        stored = objects.RequestSpec.get_by_instance_uuid(admin, MINE)
        assert (stored.project_id, stored.generation) == ("project-a", 1)


def _rows(ctx: context.RequestContext) -> dict[str, tuple]:
    """instance uuid -> (project, generation, zone) of every spec in the
    context's database, read back as stored, without a project filter."""
    return {
        spec.instance_uuid: (
            spec.project_id,
            spec.generation,
            spec.availability_zone,
        )
        for spec in objects.RequestSpec.iter_all(ctx)
    }


def test_admin_reaches_every_project(db: Env) -> None:
    for admin, user in _contexts(db):
        new_spec(user, MINE, project_id="project-a").create()
        new_spec(admin, THEIRS, project_id="project-b").create()
        for uuid in (MINE, THEIRS):
            spec = objects.RequestSpec.get_by_instance_uuid(admin, uuid)
            spec.availability_zone = "admin-was-here"
            spec.save()
        # Both saved in their own project, nothing else changed.
        assert _rows(admin) == {
            MINE: ("project-a", 2, "admin-was-here"),
            THEIRS: ("project-b", 2, "admin-was-here"),
        }
        for uuid in (MINE, THEIRS):
            objects.RequestSpec.get_by_instance_uuid(admin, uuid).destroy()
        assert _rows(admin) == {}


def test_a_user_without_a_project_reaches_nothing(db: Env) -> None:
    calls: list[Callable[[context.RequestContext], object]] = [
        lambda c: objects.RequestSpec.get_by_instance_uuid(c, THEIRS),
        lambda c: objects.RequestSpec.get_by_instance_uuids(c, [THEIRS]),
        lambda c: new_spec(c, MINE, project_id=None).create(),
        lambda c: new_spec(c, THEIRS, project_id="").destroy(),
    ]
    for admin, _ in _contexts(db):
        # Not even specs whose project happens to be empty.
        new_spec(admin, THEIRS, project_id="").create()
        nobody = _user(project=None)
        if admin.cell is not None:
            nobody = db.cell_context(0, nobody)
        for call in calls:
            with pytest.raises(exception.Forbidden, match="without a project"):
                call(nobody)
        assert objects.RequestSpec.get_by_instance_uuid(admin, THEIRS)


def _lookalike_attempts(
    admin: context.RequestContext,
    user: context.RequestContext,
    lookalike: str,
) -> dict[str, Callable[[], object]]:
    def save_relabelled() -> None:
        # Their spec, handed over and relabelled with the user's project.
        spec = objects.RequestSpec.get_by_instance_uuid(admin, THEIRS)
        spec._context = user
        spec.project_id = lookalike
        spec.save()

    def destroy() -> None:
        new_spec(user, THEIRS, project_id=lookalike).destroy()

    def update_with_retry() -> None:
        retry.update_with_retry(
            user, THEIRS, lambda s: setattr(s, "availability_zone", "x")
        )

    return {
        "get": lambda: objects.RequestSpec.get_by_instance_uuid(user, THEIRS),
        "save": save_relabelled,
        "destroy": destroy,
        "update_with_retry": update_with_retry,
    }


@pytest.mark.parametrize("lookalike", identifiers.LOOKALIKES)
def test_a_lookalike_project_reaches_nothing(db: Env, lookalike: str) -> None:
    """Issue 13: on MariaDB's default collation ``PROJ-B``, ``proj-b `` and
    ``prój-b`` reached the specs of ``proj-b``: get, get-many, iteration,
    destroy, save, and update_with_retry answered Forbidden."""
    for admin, _ in _contexts(db):
        user = _user(project=lookalike)
        if admin.cell is not None:
            user = db.cell_context(0, user)
        new_spec(admin, THEIRS, project_id=identifiers.STORED).create()
        before = _stored_row(admin)
        attempts = _lookalike_attempts(admin, user, lookalike)
        for name, call in attempts.items():
            assert type(_refusal(call)) is exception.RequestSpecNotFound, name
        assert objects.RequestSpec.get_by_instance_uuids(user, [THEIRS]) == []
        assert list(objects.RequestSpec.iter_all(user)) == []
        assert _stored_row(admin) == before
        objects.RequestSpec.get_by_instance_uuid(admin, THEIRS).destroy()
