"""The compute API: create returns at once; show works from anywhere."""

import pytest

from reqspec import compute_api
from reqspec import context
from reqspec import exception
from reqspec.conductor import build
from reqspec.objects import RequestSpec
from tests.fixtures import cloud


def _user(project="p1"):
    return context.RequestContext(user_id="u1", project_id=project)


def test_create_stores_the_request_and_schedules_nothing(db):
    cloud.add_host(db, 0, "h1")
    uuid = compute_api.create_server(
        _user(),
        flavor=cloud.flavor(),
        image=cloud.X86,
        availability_zone="az-1",
        group=cloud.group(),
    )
    view = compute_api.show_server(_user(), uuid)
    assert view.to_dict() == {
        "uuid": uuid,
        "status": "BUILD",
        "location": "API",
        "host": None,
        "node": None,
        "flavor": "small",
        "image": "x86",
        "availability_zone": "az-1",
        "group": cloud.GROUP_UUID,
        "policy": "anti-affinity",
        "task": None,
        "fault": None,
    }
    assert cloud.instance_counts(db) == {}

    build.build_server(db.ctx, uuid)
    view = compute_api.show_server(_user(), uuid)
    assert (view.status, view.location, view.host) == ("ACTIVE", "cell1", "h1")
    assert (view.availability_zone, view.group_policy) == (
        "az-1",
        "anti-affinity",
    )


def test_another_project_cannot_see_the_server(db):
    uuid = compute_api.create_server(_user("p1"), flavor=cloud.flavor())
    with pytest.raises(exception.InstanceNotFound):
        compute_api.show_server(_user("p2"), uuid)
    assert compute_api.show_server(db.ctx, uuid).status == "BUILD"


def test_only_an_admin_forces_a_host(db):
    with pytest.raises(exception.Forbidden):
        compute_api.create_server(
            _user(), flavor=cloud.flavor(), availability_zone="az-1:h1"
        )
    assert cloud.spec_counts(db) == {}


def test_a_duplicate_uuid_is_refused(db):
    uuid = compute_api.create_server(db.ctx, flavor=cloud.flavor())
    with pytest.raises(exception.InstanceExists):
        compute_api.create_server(
            db.ctx, flavor=cloud.flavor("other"), instance_uuid=uuid
        )
    assert compute_api.show_server(db.ctx, uuid).flavor.name == "small"


def test_create_servers_records_a_request_of_many_at_once(db):
    uuids = compute_api.create_servers(
        _user(), 3, flavor=cloud.flavor(), image=cloud.X86, group=cloud.group()
    )
    assert len(set(uuids)) == 3
    assert dict(cloud.spec_counts(db)) == dict.fromkeys(uuids, 1)
    specs = RequestSpec.get_by_instance_uuids(db.ctx, uuids)
    assert [s.instance_uuid for s in specs] == uuids
    assert {s.num_instances for s in specs} == {3}
    assert {s.project_id for s in specs} == {"p1"}
    # The specs differ in their uuid only.
    documents = {s.to_document().replace(s.instance_uuid, "") for s in specs}
    assert len(documents) == 1
    for uuid in uuids:
        view = compute_api.show_server(_user(), uuid)
        assert (view.status, view.location, view.group_uuid) == (
            "BUILD",
            "API",
            cloud.GROUP_UUID,
        )
    one = compute_api.create_server(db.ctx, flavor=cloud.flavor())
    assert RequestSpec.get_by_instance_uuid(db.ctx, one).num_instances == 1


def test_create_servers_is_all_or_nothing(db):
    taken = compute_api.create_server(db.ctx, flavor=cloud.flavor())
    new = "8c0f2e3a-0000-4000-8000-0000000000aa"
    with pytest.raises(exception.InstanceExists):
        compute_api.create_servers(
            db.ctx, 2, flavor=cloud.flavor(), instance_uuids=[new, taken]
        )
    assert dict(cloud.spec_counts(db)) == {taken: 1}
    with pytest.raises(exception.InstanceNotFound):
        compute_api.show_server(db.ctx, new)


@pytest.mark.parametrize(
    ("count", "uuids", "match"),
    [
        (0, None, "at least one"),
        (2, ["8c0f2e3a-0000-4000-8000-0000000000aa"], "2 distinct uuids"),
        (1, ["not-a-uuid"], "UUID"),
    ],
)
def test_create_servers_refuses_bad_counts_and_uuids(db, count, uuids, match):
    with pytest.raises(exception.InvalidRequestSpec, match=match):
        compute_api.create_servers(
            db.ctx, count, flavor=cloud.flavor(), instance_uuids=uuids
        )
    with pytest.raises(exception.Forbidden):
        compute_api.create_servers(
            _user(), 2, flavor=cloud.flavor(), availability_zone="az-1:h1"
        )
    assert cloud.spec_counts(db) == {}


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        (None, (None, None, None)),
        ("az-1", ("az-1", None, None)),
        ("az-1:h1", ("az-1", "h1", None)),
        ("az-1:h1:n1", ("az-1", "h1", "n1")),
        (":h1", (None, "h1", None)),
        ("::n1", (None, None, "n1")),
    ],
)
def test_parse_availability_zone(value, parsed):
    assert compute_api.parse_availability_zone(value) == parsed


def test_parse_availability_zone_refuses_too_many_parts():
    with pytest.raises(exception.InvalidRequestSpec):
        compute_api.parse_availability_zone("a:b:c:d")
