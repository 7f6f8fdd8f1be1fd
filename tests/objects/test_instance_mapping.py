"""InstanceMapping: created with its spec atomically; conditional steps."""

import ast
import pathlib

import pytest

import reqspec
from reqspec import context
from reqspec import exception
from reqspec.objects import InstanceMapping
from reqspec.objects import RequestSpec
from tests.fixtures import cloud

UUID = "6b1f2f8e-5a0e-4a4f-9d44-3a4d55b2a001"


def _spec(env, uuid=UUID):
    return RequestSpec.from_components(
        env.ctx, instance_uuid=uuid, flavor=cloud.flavor(), project_id="p1"
    )


def test_create_with_spec_writes_both_to_the_api_database(db):
    spec = _spec(db)
    InstanceMapping(db.ctx, instance_uuid=UUID, project_id="p1").create(spec)

    mapping = InstanceMapping.get_by_instance_uuid(db.ctx, UUID)
    assert mapping.cell_mapping is None
    assert mapping.move_step is None
    assert mapping.project_id == "p1"
    assert spec.generation == 1
    assert cloud.where_specs_are(db, UUID) == ["API"]


def test_a_failed_create_writes_neither(db):
    InstanceMapping(db.ctx, instance_uuid=UUID, project_id="p1").create()
    again = InstanceMapping(db.ctx, instance_uuid=UUID, project_id="p1")
    with pytest.raises(exception.InstanceExists):
        again.create(_spec(db))
    # The spec insert ran in the same transaction and was rolled back.
    assert cloud.where_specs_are(db, UUID) == []


def test_mappings_live_in_the_api_database_only(db):
    mapping = InstanceMapping(db.cell_context(0), instance_uuid=UUID)
    with pytest.raises(exception.ObjectActionError):
        mapping.create()


def test_unknown_server(db):
    with pytest.raises(exception.InstanceNotFound):
        InstanceMapping.get_by_instance_uuid(db.ctx, UUID)


def test_move_steps_are_taken_once_and_in_order(db):
    InstanceMapping(db.ctx, instance_uuid=UUID).create()
    mapping = InstanceMapping.get_by_instance_uuid(db.ctx, UUID)
    target = db.cells[1]
    # A step out of order changes nothing.
    assert not mapping.point_at_target()

    mapping.start_move(None, target, "h1", "h1")
    loaded = InstanceMapping.get_by_instance_uuid(db.ctx, UUID)
    assert (loaded.move_step, loaded.move_source, loaded.move_host) == (
        "recorded",
        None,
        "h1",
    )
    assert loaded.move_target.uuid == target.uuid
    with pytest.raises(exception.MoveInProgress):
        loaded.start_move(None, db.cells[0], "h2", "h2")

    assert mapping.mark_written()
    assert not mapping.mark_written()  # a second process loses
    assert not mapping.abort_move()  # too late: the target was written
    assert mapping.point_at_target()
    loaded = InstanceMapping.get_by_instance_uuid(db.ctx, UUID)
    assert loaded.cell_mapping.uuid == target.uuid
    assert loaded.move_step == "mapped"
    assert mapping.finish_move()
    loaded = InstanceMapping.get_by_instance_uuid(db.ctx, UUID)
    assert loaded.move_step is None and loaded.move_target is None
    assert loaded.cell_mapping.uuid == target.uuid
    assert InstanceMapping.get_all(db.ctx, moving_only=True) == []


def test_a_move_must_start_where_the_server_is(db):
    InstanceMapping(db.ctx, instance_uuid=UUID).create()
    mapping = InstanceMapping.get_by_instance_uuid(db.ctx, UUID)
    with pytest.raises(exception.InstanceConflict):
        mapping.start_move(db.cells[0], db.cells[1], "h1", "h1")


def test_record_move_returns_the_mapping_as_stored(db):
    InstanceMapping(db.ctx, instance_uuid=UUID, project_id="p1").create()
    source, target = None, db.cells[0]
    recorded = InstanceMapping.record_move(
        db.ctx, UUID, source, target, "h1", "n1"
    )
    loaded = InstanceMapping.get_by_instance_uuid(db.ctx, UUID)
    assert recorded.obj_to_primitive() == loaded.obj_to_primitive()
    assert recorded.move_step == "recorded" and recorded.id == loaded.id
    with pytest.raises(exception.MoveInProgress):
        InstanceMapping.record_move(db.ctx, UUID, source, target, "h1", "n1")
    # From a cell: the recorded mapping names it as its cell and source.
    recorded.point_at_target()
    assert recorded.finish_move()
    onward = InstanceMapping.record_move(
        db.ctx, UUID, target, db.cells[1], "h2", "n2"
    )
    loaded = InstanceMapping.get_by_instance_uuid(db.ctx, UUID)
    assert onward.obj_to_primitive() == loaded.obj_to_primitive()
    assert onward.cell_mapping.uuid == onward.move_source.uuid == target.uuid


def test_abort_only_before_anything_was_written(db):
    InstanceMapping(db.ctx, instance_uuid=UUID).create()
    mapping = InstanceMapping.get_by_instance_uuid(db.ctx, UUID)
    mapping.start_move(None, db.cells[0], "h1", "h1")
    assert mapping.abort_move()
    loaded = InstanceMapping.get_by_instance_uuid(db.ctx, UUID)
    assert loaded.move_step is None and loaded.cell_mapping is None


def test_fault_only_on_an_unscheduled_server(db):
    InstanceMapping(db.ctx, instance_uuid=UUID).create()
    mapping = InstanceMapping.get_by_instance_uuid(db.ctx, UUID)
    assert mapping.set_fault("no host")
    assert InstanceMapping.get_by_instance_uuid(db.ctx, UUID).fault == (
        "no host"
    )


def test_a_malformed_uuid_names_no_server(db):
    with pytest.raises(exception.InstanceNotFound):
        InstanceMapping.get_by_instance_uuid(db.ctx, "not-a-uuid")


def test_unscheduled_mappings(db):
    waiting = "6b1f2f8e-5a0e-4a4f-9d44-3a4d55b2a0aa"
    moving = "6b1f2f8e-5a0e-4a4f-9d44-3a4d55b2a0bb"
    for uuid in (waiting, moving):
        InstanceMapping(db.ctx, instance_uuid=uuid).create()
    InstanceMapping.get_by_instance_uuid(db.ctx, moving).start_move(
        None, db.cells[0], "h1", "h1"
    )
    found = InstanceMapping.get_unscheduled(db.ctx)
    assert [m.instance_uuid for m in found] == [waiting]
    moving_now = InstanceMapping.get_all(db.ctx, moving_only=True)
    assert [m.instance_uuid for m in moving_now] == [moving]


# -- issue 13: the spec goes through RequestSpec.create, and only it -------


def _written(env):
    """(mapping exists, where the spec is) for UUID."""
    try:
        InstanceMapping.get_by_instance_uuid(env.ctx, UUID)
        mapped = True
    except exception.InstanceNotFound:
        mapped = False
    return mapped, cloud.where_specs_are(env, UUID)


def test_a_spec_of_another_project_than_its_mapping_is_refused(db):
    """It used to be written with the mapping's project in its row and
    its own in its document: a row nobody could read back."""
    mapping = InstanceMapping(db.ctx, instance_uuid=UUID, project_id="p2")
    with pytest.raises(exception.ProjectMismatch, match=UUID):
        mapping.create(spec=_spec(db))
    assert _written(db) == (False, [])


def test_the_spec_gets_every_check_of_its_own_create(db):
    # The project-column check create() makes (the mapping's column is as
    # wide, so nothing else would catch it before the database).
    long = "p" * 256
    spec = RequestSpec.from_components(
        db.ctx, instance_uuid=UUID, flavor=cloud.flavor(), project_id=long
    )
    mapping = InstanceMapping(db.ctx, instance_uuid=UUID, project_id=long)
    with pytest.raises(exception.InvalidRequestSpec, match="longer than 255"):
        mapping.create(spec=spec)
    assert _written(db) == (False, [])
    # And its project scope: a user cannot store another project's spec.
    user = context.RequestContext(project_id="p1", is_admin=False)
    spec = RequestSpec.from_components(
        user, instance_uuid=UUID, flavor=cloud.flavor(), project_id="p2"
    )
    mapping = InstanceMapping(user, instance_uuid=UUID, project_id="p2")
    with pytest.raises(exception.Forbidden):
        mapping.create(spec=spec)
    assert _written(db) == (False, [])


def test_a_spec_that_cannot_be_stored_leaves_no_mapping(db):
    _spec(db).create()  # the spec row exists already
    mapping = InstanceMapping(db.ctx, instance_uuid=UUID, project_id="p1")
    with pytest.raises(exception.RequestSpecExists):
        mapping.create(spec=_spec(db))
    # The mapping insert ran first, in the same transaction: rolled back.
    assert _written(db) == (False, ["API"])


def test_the_created_spec_reads_back_and_saves(db):
    spec = _spec(db)
    InstanceMapping(db.ctx, instance_uuid=UUID, project_id="p1").create(spec)
    loaded = RequestSpec.get_by_instance_uuid(db.ctx, UUID)
    assert (loaded.project_id, loaded.generation) == ("p1", 1)
    spec.availability_zone = "az9"
    spec.save()
    assert RequestSpec.get_by_instance_uuid(db.ctx, UUID).generation == 2


def test_the_spec_must_share_the_mappings_context(db):
    other = context.get_admin_context()
    spec = RequestSpec.from_components(
        other, instance_uuid=UUID, flavor=cloud.flavor(), project_id="p1"
    )
    mapping = InstanceMapping(db.ctx, instance_uuid=UUID, project_id="p1")
    with pytest.raises(exception.ObjectActionError, match="context"):
        mapping.create(spec=spec)
    assert _written(db) == (False, [])


def test_only_request_spec_create_writes_a_spec_row():
    """No module but reqspec/objects/request_spec.py calls the db layer's
    request_specs.create or create_many (the composite paths used to), but
    a move, which copies a stored document as it is."""
    package = pathlib.Path(reqspec.__file__).parent
    callers = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text())
        aliases = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "reqspec.db"
            for alias in node.names
            if alias.name == "request_specs"
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("create", "create_many")
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in aliases
            ):
                where = str(path.relative_to(package))
                callers.append((where, node.func.attr))
    assert sorted(callers) == [
        # A move's copy of a stored document into its target cell.
        ("db/instances.py", "create_many"),
        ("objects/request_spec.py", "create"),
        ("objects/request_spec.py", "create_many"),
    ]


def test_pages_are_newest_first_scoped_and_disjoint(db):
    uuids = [f"6b1f2f8e-5a0e-4a4f-9d44-3a4d55b2b{i:03d}" for i in range(7)]
    for i, uuid in enumerate(uuids):
        project = "p2" if i == 3 else "p1"
        InstanceMapping(
            db.ctx, instance_uuid=uuid, project_id=project
        ).create()
    user = context.RequestContext(user_id="u", project_id="p1")
    mine = [u for i, u in enumerate(uuids) if i != 3][::-1]
    first = InstanceMapping.get_page(user, 4)
    rest = InstanceMapping.get_page(user, 4, after=first[-1])
    assert [m.instance_uuid for m in first + rest] == mine
    everyone = InstanceMapping.get_page(db.ctx, 100)
    assert [m.instance_uuid for m in everyone] == uuids[::-1]
    assert InstanceMapping.get_page(db.ctx, 2, after=everyone[-1]) == []
    with pytest.raises(exception.Forbidden):
        InstanceMapping.get_page(context.RequestContext(user_id="u"), 1)
