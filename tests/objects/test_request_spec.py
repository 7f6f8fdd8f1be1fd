"""RequestSpec as an object: construction, conveniences, field groups."""

import pytest

from reqspec import context
from reqspec import exception
from reqspec import objects
from tests.fixtures import specs


def test_field_groups_partition_the_fields() -> None:
    groups = (
        objects.RequestSpec.ROW_FIELDS,
        objects.RequestSpec.PERSISTENT_FIELDS,
        objects.RequestSpec.PER_MOVE_FIELDS,
    )
    names = [name for group in groups for name in group]
    assert sorted(names) == sorted(objects.RequestSpec.fields)
    assert len(names) == len(set(names))


def test_per_move_fields_are_the_documented_ones() -> None:
    assert set(objects.RequestSpec.PER_MOVE_FIELDS) == {
        "retry",
        "ignore_hosts",
        "requested_destination",
        "requested_resources",
        "request_level_params",
        "requested_networks",
        "network_metadata",
    }


def test_from_components_builds_a_complete_spec() -> None:
    spec = specs.realistic_spec()
    assert spec.instance_uuid == specs.UUIDS[0]
    assert spec.image.properties.hw_architecture == "x86_64"
    assert spec.image.properties.hw_qemu_guest_agent is True
    assert spec.image.properties.traits_required == ["CUSTOM_TRUSTED"]
    assert spec.scheduler_hints["group"] == [specs.UUIDS[1]]
    assert [g.name for g in spec.security_groups] == ["default", "web"]
    assert spec.num_instances == 1
    assert spec.force_hosts is None


def test_from_components_takes_project_and_user_from_the_context() -> None:
    ctx = context.RequestContext(project_id="p9", user_id="u9")
    spec = objects.RequestSpec.from_components(
        ctx, instance_uuid=specs.UUIDS[5], flavor=specs.flavor()
    )
    assert (spec.project_id, spec.user_id) == ("p9", "u9")


def test_unknown_image_properties_are_dropped() -> None:
    spec = specs.realistic_spec()
    assert "not_a_known_property" not in spec.image.properties.fields


@pytest.mark.parametrize(
    "kwargs, reason",
    [
        ({"instance_uuid": "nope"}, "UUID"),
        ({"scheduler_hints": {"group": 5}}, "scheduler hint 'group'"),
        ({"num_instances": -1}, "non-negative"),
        (
            {"image": {"properties": {"hw_cpu_cores": "many"}}},
            "hw_cpu_cores",
        ),
        (
            {"image": {"properties": {"hw_architecture": "vax"}}},
            "hw_architecture",
        ),
        ({"image": {"id": "not-a-uuid"}}, "image"),
    ],
)
def test_from_components_rejects_bad_input(kwargs: dict, reason: str) -> None:
    values = {"instance_uuid": specs.UUIDS[6], "flavor": specs.flavor()}
    values.update(kwargs)
    with pytest.raises(exception.InvalidRequestSpec, match=reason):
        objects.RequestSpec.from_components(**values)


def test_flavor_conveniences() -> None:
    spec = specs.realistic_spec()
    assert (spec.vcpus, spec.memory_mb) == (4, 8192)
    assert (spec.root_gb, spec.ephemeral_gb, spec.swap) == (80, 10, 1024)
    # root + ephemeral + swap rounded up to GiB
    assert spec.disk_gb == 80 + 10 + 1
    spec.is_bfv = True
    assert spec.disk_gb == 10 + 1


def test_scheduler_hint_lookup() -> None:
    spec = specs.realistic_spec()
    assert spec.get_scheduler_hint("group") == specs.UUIDS[1]
    assert spec.get_scheduler_hint("different_host") == [
        specs.UUIDS[2],
        specs.UUIDS[3],
    ]
    assert spec.get_scheduler_hint("missing", "dflt") == "dflt"


def test_clear_per_move_forgets_every_per_move_field() -> None:
    spec = specs.realistic_spec()
    spec.ignore_hosts = ["a"]
    spec.retry = objects.SchedulerRetries(num_attempts=1)
    spec.requested_destination = objects.Destination(host="h")
    spec.clear_per_move()
    for name in objects.RequestSpec.PER_MOVE_FIELDS:
        assert not spec.obj_attr_is_set(name)
    assert not set(spec.obj_what_changed()) & set(
        objects.RequestSpec.PER_MOVE_FIELDS
    )
    # They read as their defaults afterwards, without becoming changes.
    assert spec.ignore_hosts is None
    assert spec.requested_resources == []
    assert "requested_resources" not in spec.obj_what_changed()


def test_reset_forced_destinations() -> None:
    spec = specs.realistic_spec()
    spec.force_hosts = ["compute-1"]
    spec.force_nodes = ["node-1"]
    spec.reset_forced_destinations()
    assert spec.force_hosts is None and spec.force_nodes is None


def test_equality_is_by_value() -> None:
    assert specs.realistic_spec() == specs.realistic_spec()
    other = specs.realistic_spec()
    other.availability_zone = "elsewhere"
    assert specs.realistic_spec() != other
    assert specs.realistic_spec() != "a string"


def test_unset_required_field_reads_as_a_typed_error() -> None:
    flavor = objects.Flavor(name="x")
    with pytest.raises(exception.ObjectActionError, match=r"Flavor\.vcpus"):
        flavor.vcpus  # noqa: B018
