"""The reqspec object base class."""

from hypothesis import given
from hypothesis import settings
from oslo_versionedobjects import base as ovo_base

from reqspec import objects
from tests import strategies
from tests.fixtures import specs


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
