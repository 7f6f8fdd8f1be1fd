"""The reqspec object base class."""

from hypothesis import given
from hypothesis import settings
from oslo_versionedobjects import base as ovo_base

from reqspec import objects
from tests import strategies
from tests.fixtures import document_format
from tests.fixtures import generic_document
from tests.fixtures import specs

FORMAT = document_format.FORMAT


def _changes(obj: ovo_base.VersionedObject) -> list[tuple[str, set[str]]]:
    """Every object's own change set, nested ones included, by path."""
    found = [("", set(obj._changed_fields))]
    for name in obj.fields:
        value = obj.__dict__.get("_obj_" + name)
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            if isinstance(item, ovo_base.VersionedObject):
                found += [
                    (f"{name}.{i}{path}", changed)
                    for path, changed in _changes(item)
                ]
    return found


def _oslo_reset(obj: ovo_base.VersionedObject) -> None:
    ovo_base.VersionedObject.obj_reset_changes(obj, recursive=True)


def test_recursive_reset_clears_every_nested_change() -> None:
    spec = specs.realistic_spec()
    spec.flavor.extra_specs = {"hw:cpu_policy": "dedicated"}
    spec.security_groups[0].name = "renamed"
    spec.image.properties.hw_architecture = "aarch64"
    assert any(changed for _, changed in _changes(spec))
    spec.obj_reset_changes(recursive=True)
    assert all(not changed for _, changed in _changes(spec))
    assert not spec.obj_what_changed()


@settings(max_examples=200, deadline=None)
@given(strategies.request_specs())
def test_recursive_reset_matches_oslo(spec: objects.RequestSpec) -> None:
    ours, theirs = spec.obj_clone(), spec.obj_clone()
    ours.obj_reset_changes(recursive=True)
    _oslo_reset(theirs)
    assert _changes(ours) == _changes(theirs)


def test_partial_and_shallow_resets_are_oslos() -> None:
    spec = specs.realistic_spec()
    spec.obj_reset_changes(recursive=True)
    spec.availability_zone = "az-2"
    spec.user_id = "someone-else"
    spec.flavor.vcpus = 16
    spec.obj_reset_changes(["availability_zone"])
    assert spec._changed_fields == {"user_id"}
    spec.obj_reset_changes()
    assert not spec._changed_fields
    # Shallow: the flavor keeps its own change.
    assert spec.flavor.obj_what_changed() == {"vcpus"}


def test_a_loaded_object_gets_its_own_change_set_on_first_use() -> None:
    text = FORMAT.encode(specs.realistic_spec())
    first, second = FORMAT.decode(text), FORMAT.decode(text)
    # No set is made for an object that never changes...
    assert "_changed_fields" not in first.flavor.__dict__
    assert not first.obj_what_changed()
    assert first._context is None
    # ...and each object that does change gets one of its own.
    first.flavor.vcpus = 64
    second.flavor.name = "other"
    assert first.flavor.obj_what_changed() == {"vcpus"}
    assert second.flavor.obj_what_changed() == {"name"}
    assert "vcpus" not in objects.Flavor().obj_what_changed()
    first.obj_reset_changes(recursive=True)
    assert not first.flavor.obj_what_changed()
    assert second.flavor.obj_what_changed() == {"name"}


# -- fields filled in by a read ----------------------------------------------


def _sparse_spec() -> objects.RequestSpec:
    """A spec leaving defaulted and nullable fields unset, nested ones
    included, as a caller building one by hand may."""
    return objects.RequestSpec(
        instance_uuid=specs.UUIDS[0],
        flavor=objects.Flavor(
            name="m1.small",
            flavorid="2",
            vcpus=1,
            memory_mb=2048,
            root_gb=20,
        ),
        image=objects.ImageMeta(properties=objects.ImageMetaProps()),
    )


def _read_unset_fields(spec: objects.RequestSpec) -> None:
    assert spec.num_instances == 1  # defaulted
    assert spec.availability_zone is None  # nullable
    assert spec.scheduler_hints == {}  # a mutable default
    assert spec.flavor.swap == 0
    assert spec.flavor.extra_specs == {}
    assert spec.image.name is None
    assert spec.image.min_ram == 0


def test_reading_unset_fields_does_not_change_the_document() -> None:
    spec = _sparse_spec()
    before = spec.to_document()
    _read_unset_fields(spec)
    assert spec.to_document() == before
    # The generic path and a copy leave them out too.
    assert generic_document.encode_via_primitive(spec) == before
    assert spec.obj_clone().to_document() == before
    # And they do not look set to equality either.
    assert spec == _sparse_spec()
    assert repr(spec) == repr(_sparse_spec())


def test_a_filled_field_that_is_then_changed_is_stored() -> None:
    spec = _sparse_spec()
    _read_unset_fields(spec)
    spec.flavor.extra_specs["hw:cpu_policy"] = "dedicated"  # in place
    spec.num_instances = 3
    spec.image.name = "cirros"
    loaded = FORMAT.decode(spec.to_document())
    assert loaded.flavor.extra_specs == {"hw:cpu_policy": "dedicated"}
    assert loaded.num_instances == 3
    assert loaded.image.name == "cirros"
    assert generic_document.encode_via_primitive(spec) == spec.to_document()


def test_an_unset_field_equals_its_default() -> None:
    assert objects.Flavor(vcpus=1) == objects.Flavor(vcpus=1, swap=0)
    assert objects.Flavor(vcpus=1) != objects.Flavor(vcpus=1, swap=512)
    assert objects.Flavor(vcpus=1) == objects.Flavor(vcpus=1, description=None)
    # A required field that is unset equals nothing but unset.
    assert objects.Flavor(vcpus=1) != objects.Flavor()


def test_a_filled_field_is_not_set_for_rpc_or_copies() -> None:
    spec = _sparse_spec()
    _read_unset_fields(spec)
    assert not spec.obj_attr_is_set("num_instances")
    assert not spec.flavor.obj_attr_is_set("swap")
    data = spec.obj_to_primitive()["reqspec_object.data"]
    assert "num_instances" not in data
    assert "swap" not in data["flavor"]["reqspec_object.data"]
    copy = spec.obj_clone()
    assert not copy.obj_attr_is_set("num_instances")
    assert copy.num_instances == 1  # and reads as before
    spec.num_instances = 4
    assert spec.obj_attr_is_set("num_instances")


def test_assigning_a_field_after_reading_it_sets_it() -> None:
    spec = _sparse_spec()
    assert spec.is_bfv is False
    spec.is_bfv = False  # the default, but now asked for
    assert spec.obj_attr_is_set("is_bfv")
    assert "is_bfv" in spec.obj_what_changed()
    assert spec.obj_to_primitive()["reqspec_object.data"]["is_bfv"] is False
    assert spec.num_instances == 1
    spec.obj_set_defaults("num_instances")
    assert spec.obj_attr_is_set("num_instances")
