"""Strict field types: one accepted shape per field, no quiet coercion."""

import math

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import pytest

from reqspec.objects import fields


@pytest.mark.parametrize(
    "field_type, good, bad",
    [
        (fields.String(), ["", "x", "é"], [1, None, b"x", 1.0]),
        (fields.Integer(), [0, -5, 2**62], ["1", 1.0, True, None]),
        (fields.NonNegativeInteger(), [0, 7], [-1, "3", False]),
        (
            fields.NonNegativeFloat(),
            [0.0, 3, 1.5],
            [-0.1, "1.5", math.inf, math.nan, True],
        ),
        (fields.Boolean(), [True, False], [0, 1, "true", None]),
        (fields.Enum(("a", "b")), ["a", "b"], ["c", "A", 1]),
        (fields.IPAddress(), ["10.0.0.1", "::1"], ["10.0.0.256", "x", 1]),
        (
            fields.UUID(),
            ["d4897d09-af0e-4263-bf4d-b73ff33848b7"],
            [
                "d4897d09af0e4263bf4db73ff33848b7",
                "{d4897d09-af0e-4263-bf4d-b73ff33848b7}",
                "d4897d09-af0e-4263-bf4d-b73ff33848b",
                "d4897d09-af0e-4263-bf4d-b73ff33848b7\n",
                "d4897d09-af0e-4263-bf4d-b73ff33848b7 ",
                "urn:uuid:d4897d09-af0e-4263-bf4d-b73ff33848b7",
                "not-a-uuid",
                7,
            ],
        ),
    ],
)
def test_scalars(field_type: fields.StrictType, good: list, bad: list) -> None:
    for value in good:
        field_type.check(value)
    for value in bad:
        with pytest.raises(ValueError, match=r"expected|must not be null"):
            field_type.check(value)


def test_uuid_is_canonicalised_to_lower_case() -> None:
    upper = "D4897D09-AF0E-4263-BF4D-B73FF33848B7"
    assert fields.UUID().check(upper) == upper.lower()


def test_ip_address_is_canonicalised() -> None:
    assert fields.IPAddress().check("2001:db8:0:0::1") == "2001:db8::1"


def test_float_field_stores_floats() -> None:
    value = fields.NonNegativeFloat().check(3)
    assert value == 3.0 and type(value) is float


def test_containers_check_every_element() -> None:
    assert fields.List(fields.String()).check(("a", "b")) == ["a", "b"]
    with pytest.raises(ValueError):
        fields.List(fields.String()).check(["a", 1])
    with pytest.raises(ValueError):
        fields.List(fields.String()).check("ab")  # a string is not a list
    assert fields.Set(fields.Integer()).check([3, 1, 3]) == {1, 3}
    with pytest.raises(ValueError):
        fields.Set(fields.Integer()).check({"1"})
    assert fields.Dict(fields.Integer()).check({"VCPU": 2}) == {"VCPU": 2}
    with pytest.raises(ValueError):
        fields.Dict(fields.Integer()).check({"VCPU": "2"})
    with pytest.raises(ValueError):
        fields.Dict(fields.Integer()).check([("VCPU", 2)])


def test_sets_become_sorted_lists_in_primitives() -> None:
    field_type = fields.Set(fields.String())
    assert field_type.to_primitive(None, "x", {"b", "a", "c"}) == [
        "a",
        "b",
        "c",
    ]


def test_containers_are_plain_copies() -> None:
    original = {"a": "1"}
    checked = fields.Dict(fields.String()).check(original)
    assert type(checked) is dict and checked is not original


def test_field_repr_shows_the_whole_type_for_fingerprints() -> None:
    strings = repr(fields.ListOfStringsField())
    uuids = repr(fields.ListOfUUIDField())
    assert strings != uuids
    assert "List(UUID)" in uuids
    assert repr(fields.EnumField(("a", "b"))) != repr(
        fields.EnumField(("a", "c"))
    )


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text()
    | st.sampled_from(["x86_64", "aarch64", "anti-affinity", "\ud800"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=5,
)

INLINED = [
    fields.String(),
    fields.Integer(),
    fields.NonNegativeInteger(),
    fields.Boolean(),
    fields.Enum(("x86_64", "aarch64")),
]


@pytest.mark.parametrize("field_type", INLINED, ids=repr)
@settings(max_examples=300)
@given(value=JSON_VALUES)
def test_inline_tests_pass_only_what_the_check_keeps(
    field_type: fields.StrictType, value: object
) -> None:
    # The generated codecs skip the check when the inline test holds.
    if eval(field_type.inline_test, {}, {"v": value}):
        assert field_type.check(value) is value


@pytest.mark.parametrize("field_type", INLINED, ids=repr)
def test_inline_tests_pass_typical_values(
    field_type: fields.StrictType,
) -> None:
    typical = {"String": "x", "Enum": "x86_64", "Boolean": False}
    value = typical.get(type(field_type).__name__, 7)
    assert eval(field_type.inline_test, {}, {"v": value})
