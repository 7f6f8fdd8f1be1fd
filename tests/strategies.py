"""Hypothesis strategies that build valid reqspec objects from their fields.

The strategies are derived from each class's ``fields`` and the strict field
types, so a field added to any object is generated (and therefore tested)
without touching this module.
"""

import copy
from typing import Any

from hypothesis import strategies as st
from oslo_versionedobjects import base as ovo_base

from reqspec.objects import codec
from reqspec.objects import fields
from reqspec.objects import RequestSpec
from tests.fixtures import document_format

FORMAT = document_format.FORMAT

# Small sizes keep examples fast; variety comes from the number of examples.
text = st.text(max_size=12)
keys = st.text(min_size=1, max_size=8)


def type_strategy(field_type: Any) -> st.SearchStrategy[Any]:
    """Values a strict field type accepts."""
    if isinstance(field_type, fields.Enum):
        return st.sampled_from(field_type.valid_values)
    if isinstance(field_type, fields.List):
        return st.lists(type_strategy(field_type.element), max_size=3)
    if isinstance(field_type, fields.Set):
        return st.sets(type_strategy(field_type.element), max_size=3)
    if isinstance(field_type, fields.Dict):
        return st.dictionaries(
            keys, type_strategy(field_type.element), max_size=3
        )
    simple: dict[type, st.SearchStrategy[Any]] = {
        fields.String: text,
        fields.Integer: st.integers(-(2**40), 2**40),
        fields.NonNegativeInteger: st.integers(0, 2**40),
        fields.NonNegativeFloat: st.floats(
            min_value=0, allow_nan=False, allow_infinity=False
        ),
        fields.Boolean: st.booleans(),
        fields.UUID: st.uuids().map(str),
        fields.IPAddress: st.ip_addresses().map(str),
    }
    return simple[type(field_type)]


def field_strategy(field: Any) -> st.SearchStrategy[Any]:
    if fields.is_object_field(field):
        base = object_strategy(fields.object_class(field))
    elif fields.is_object_list_field(field):
        base = st.lists(
            object_strategy(fields.object_class(field)), max_size=2
        )
    else:
        base = type_strategy(field._type)
    return st.none() | base if field.nullable else base


def object_strategy(
    cls: type[ovo_base.VersionedObject],
    names: tuple[str, ...] | None = None,
    required: tuple[str, ...] | None = None,
) -> st.SearchStrategy[Any]:
    """Instances of ``cls`` with the required fields set and any others
    set or not."""

    names = names if names is not None else tuple(cls.fields)
    must = required if required is not None else codec.required_fields(cls)
    strategies = {name: field_strategy(cls.fields[name]) for name in names}
    return st.fixed_dictionaries(
        {n: s for n, s in strategies.items() if n in must},
        optional={n: s for n, s in strategies.items() if n not in must},
    ).map(lambda kwargs: cls(**kwargs))


def request_specs(per_move: bool = False) -> st.SearchStrategy[RequestSpec]:
    """Valid RequestSpecs; with ``per_move`` the per-move and row fields may
    be set too (they must never reach a document)."""
    names = RequestSpec.PERSISTENT_FIELDS
    if per_move:
        names = names + RequestSpec.PER_MOVE_FIELDS + RequestSpec.ROW_FIELDS
    return object_strategy(RequestSpec, names)  # type: ignore[return-value]


def full_objects(
    cls: type[ovo_base.VersionedObject], names: tuple[str, ...] | None = None
) -> st.SearchStrategy[Any]:
    """Instances of ``cls`` with every field (or every one of ``names``)
    set, recursively, object lists holding at least one element."""
    strategies = {}
    for name in names or tuple(cls.fields):
        field = cls.fields[name]
        if fields.is_object_field(field):
            strategies[name] = full_objects(fields.object_class(field))
        elif fields.is_object_list_field(field):
            strategies[name] = st.lists(
                full_objects(fields.object_class(field)),
                min_size=1,
                max_size=2,
            )
        else:
            strategies[name] = type_strategy(field._type)
    return st.fixed_dictionaries(strategies).map(lambda kwargs: cls(**kwargs))


def full_request_specs() -> st.SearchStrategy[RequestSpec]:
    """Specs with every persistent field set, nested objects included."""
    return full_objects(RequestSpec, RequestSpec.PERSISTENT_FIELDS)


def stored_view(spec: RequestSpec) -> RequestSpec:
    """What a spec should look like after a trip through storage: no row
    or per-move fields, and a server group reduced to its stored fields."""
    view = copy.deepcopy(spec)
    view.clear_per_move()
    _unset(view, RequestSpec.ROW_FIELDS)
    for name, subset in RequestSpec.STORED_SUBSETS.items():
        nested = view.__dict__.get("_obj_" + name)
        if nested is not None:
            _unset(nested, [f for f in nested.fields if f not in subset])
    view.obj_reset_changes(recursive=True)
    return view


def _unset(obj: Any, names: Any) -> None:
    for name in names:
        if obj.obj_attr_is_set(name):
            delattr(obj, name)
        # ovo keeps deleted fields in its change set; reading them back
        # (as obj_reset_changes does) would then fail.
        obj._changed_fields.discard(name)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def _slots(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) inside a parsed JSON document."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((node, key))
            found.extend(_slots(value))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.append((node, index))
            found.extend(_slots(value))
    return found


@st.composite
def mutated_documents(draw: st.DrawFn) -> str:
    """A valid stored document with one hand edit: a value replaced, a key
    removed or a key added, anywhere in the tree (envelope included)."""
    import json

    doc = json.loads(FORMAT.encode(draw(request_specs())))
    container, key = draw(st.sampled_from(_slots(doc)))
    action = draw(st.sampled_from(("replace", "delete", "add")))
    if action == "replace":
        container[key] = draw(json_values)
    elif action == "delete":
        del container[key]
    elif isinstance(container, dict):
        container[draw(st.text(min_size=1, max_size=6))] = draw(json_values)
    else:
        container.insert(key, draw(json_values))
    return json.dumps(doc)
