"""Unwrapping Nova primitives (the translation's own tests use real rows:
tests/objects/test_nova_translation.py)."""

from typing import Any

import pytest

from reqspec.objects import nova_primitive


def _flavor(version: str) -> dict[str, Any]:
    return {
        "nova_object.name": "Flavor",
        "nova_object.namespace": "nova",
        "nova_object.version": version,
        "nova_object.data": {"vcpus": 2},
    }


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_known_versions_unwrap(version: str) -> None:
    assert nova_primitive.unwrap(_flavor(version), "Flavor", "spec.x") == (
        version,
        {"vcpus": 2},
    )


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (_flavor("1.3"), "spec.x: Nova Flavor 1.3 is newer than this "),
        (_flavor("9.0"), "spec.x: Nova Flavor 9.0 is newer than this "),
        (_flavor("one"), "spec.x: bad Flavor version 'one'"),
        ({"nova_object.data": {}}, "expected a Nova Flavor object, got None"),
        ([], "spec.x: expected a Nova Flavor object"),
        ({**_flavor("1.2"), "nova_object.data": []}, "is not an object"),
    ],
)
def test_what_is_refused(value: Any, reason: str) -> None:
    with pytest.raises(nova_primitive.Bad) as raised:
        nova_primitive.unwrap(value, "Flavor", "spec.x")
    assert reason in str(raised.value)


def test_a_newer_minor_is_a_note_only_where_notes_are_taken() -> None:
    props = {
        "nova_object.name": "ImageMetaProps",
        "nova_object.version": "1.45",
        "nova_object.data": {},
    }
    notes: list[str] = []
    nova_primitive.unwrap(props, "ImageMetaProps", "spec.p", notes)
    assert notes == [
        "ImageMetaProps 1.45 is newer than this importer knows (1.44): "
        "properties it does not know are dropped"
    ]
    with pytest.raises(nova_primitive.Bad):
        nova_primitive.unwrap(props, "ImageMetaProps", "spec.p")
    major = {**props, "nova_object.version": "2.0"}
    with pytest.raises(nova_primitive.Bad):
        nova_primitive.unwrap(major, "ImageMetaProps", "spec.p", notes)
