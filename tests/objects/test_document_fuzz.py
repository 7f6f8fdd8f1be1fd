"""Fuzzing the stored document: only InvalidRequestSpec or a valid spec.

Valid specs are generated from the objects' own field definitions
(``tests.strategies``), encoded, then damaged the ways stored documents
get damaged: hand edits (a value of the wrong type, a key deleted or
added, a newer or garbage version, deep nesting, huge numbers, a JSON
value that is not an object) and byte-level accidents (truncation,
flipped and inserted bytes, invalid UTF-8). Whatever comes out, the
decoder either refuses it with ``InvalidRequestSpec`` and a bounded message
saying what is wrong, or returns a spec that is valid: it encodes again
and reloads equal. No other exception type may escape, from
``RequestSpec.FORMAT.decode`` or from reading a row that holds the document.

12,550 damaged documents in all (each example of the two big tests
damages four copies of its document), derandomized so that CI checks the
same ones every time.
"""

import json
from typing import Any

from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
import pytest
import sqlalchemy as sa

from reqspec import context
from reqspec import exception
from reqspec import objects
from reqspec.db import engines
from reqspec.db import request_specs as db_specs
from reqspec.objects import base
from reqspec.objects import codec
from tests import strategies
from tests.conftest import Env
from tests.fixtures import document_format

FORMAT = document_format.FORMAT

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)


def fuzz(examples: int) -> settings:
    return settings(FUZZ, max_examples=examples)


# A refusal names the problem; it must not echo a megabyte of document.
MAX_MESSAGE = 1024
UUID = "c0ffee00-0000-4000-8000-00000000f422"

specs_to_damage = st.one_of(
    strategies.request_specs(), strategies.full_request_specs()
)


def _of_the_row(spec: objects.RequestSpec) -> objects.RequestSpec:
    spec.instance_uuid = UUID
    spec.project_id = "p"
    return spec


# Specs matching the row they are stored in, so that the document is what
# decides (not the instance or project check of the loader).
row_specs = specs_to_damage.map(_of_the_row)


def _slots(node: Any, found: list | None = None) -> list[tuple[Any, Any]]:
    """Every (container, key) in a parsed document, the envelope too."""
    found = [] if found is None else found
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, value in items:
        found.append((node, key))
        _slots(value, found)
    return found


def _swapped(value: Any) -> st.SearchStrategy[Any]:
    """Values of another JSON type than ``value``'s."""
    if isinstance(value, bool):
        return st.sampled_from([0, 1, "true", None, [True]])
    if isinstance(value, int):
        return st.sampled_from([str(value), float(value), True, [value]])
    if isinstance(value, float):
        return st.sampled_from([str(value), True, [value], None])
    if isinstance(value, str):
        return st.sampled_from([[value], {value: value}, 0, True, None])
    if isinstance(value, list):
        return st.sampled_from([{}, "", 0, None, [None], [[]], [{}]])
    if isinstance(value, dict):
        return st.sampled_from([[], "", 0, None, [value]])
    return strategies.json_values


versions = st.one_of(
    st.sampled_from(
        ["1.3", "1.10", "2.0", "99.99", "0.9", "1.-1", "01.2", "1.2.0"]
    ),
    st.sampled_from(["", "1", "1.x", " 1.2", "1.2 ", "v1.2", "1,2"]),
    st.sampled_from([1.2, 1, None, [], {}, True]),
    st.text(max_size=8),
)
huge_numbers = st.one_of(
    st.integers(min_value=2**63, max_value=10**300),
    st.integers(min_value=-(10**300), max_value=-(2**63)),
    st.sampled_from([float("inf"), float("-inf"), float("nan"), 1e308]),
)


NEST = "\x00nest\x00"


EDIT_KINDS = (
    "swap type",
    "replace",
    "delete",
    "add key",
    "version",
    "nest",
    "huge number",
)


def _hand_edit(draw: st.DrawFn, doc: dict) -> str:
    """``doc`` (parsed) with one to three hand edits, as text."""
    nest: tuple[int, str] | None = None
    for _ in range(draw(st.integers(1, 3))):
        slots = _slots(doc)
        kind = draw(st.sampled_from(EDIT_KINDS))
        if kind == "version" or not slots:
            doc["version"] = draw(versions)
            continue
        container, key = draw(st.sampled_from(slots))
        if kind == "swap type":
            container[key] = draw(_swapped(container[key]))
        elif kind == "replace":
            container[key] = draw(strategies.json_values)
        elif kind == "delete":
            del container[key]
        elif kind == "add key":
            target = container if isinstance(container, dict) else doc
            target[draw(st.text(max_size=6))] = draw(strategies.json_values)
        elif kind == "nest" and nest is None:
            # Spliced in as text after dumping: Python's json would need
            # as deep a recursion to write it as the decoder to read it.
            depth = draw(st.sampled_from([2, 10, 50, 500, 5000, 100_000]))
            nest = (depth, json.dumps(container[key]))
            container[key] = NEST
        else:
            container[key] = draw(huge_numbers)
    text = json.dumps(doc)
    if nest is not None:
        depth, inner = nest
        opener = draw(st.sampled_from(["[", '{"k":', "[{}, "]))
        closer = {"[": "]", '{"k":': "}", "[{}, ": "]"}[opener]
        text = text.replace(
            json.dumps(NEST), opener * depth + inner + closer * depth, 1
        )
    return text


def _damage_bytes(draw: st.DrawFn, data: bytearray) -> bytes:
    """``data`` damaged below the JSON level, one to three times."""
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(["truncate", "flip", "insert", "delete", "utf8"])
        )
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "truncate":
            del data[at:]
        elif kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        else:
            bad = draw(
                st.sampled_from(
                    [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf0\x28\x8c"]
                )
            )
            data[at:at] = bad
    return bytes(data)


# Building a valid spec costs far more than damaging its document, so each
# example damages COPIES independent copies of one generated document.
COPIES = 4


@st.composite
def hand_edited(
    draw: st.DrawFn,
    copies: int = 1,
    specs: st.SearchStrategy[objects.RequestSpec] = specs_to_damage,
) -> list[str]:
    """``copies`` independently hand-edited copies of one document."""
    text = FORMAT.encode(draw(specs))
    return [_hand_edit(draw, json.loads(text)) for _ in range(copies)]


@st.composite
def damaged_bytes(
    draw: st.DrawFn,
    copies: int = 1,
    specs: st.SearchStrategy[objects.RequestSpec] = specs_to_damage,
) -> list[bytes]:
    """``copies`` independently damaged copies of one document."""
    data = FORMAT.encode(draw(specs)).encode()
    return [_damage_bytes(draw, bytearray(data)) for _ in range(copies)]


not_objects = st.one_of(
    strategies.json_values.map(json.dumps),
    st.sampled_from(
        [
            "",
            " ",
            "null",
            "[]",
            '"spec"',
            "1e999",
            "NaN",
            '{"spec": {}, "spec": [], "version": "1.2"}',
            '{"version": "1.2"}',
            '{"spec": null, "version": "1.2"}',
            "[" * 200_000,
            '{"spec": {"flavor": ' + "[" * 100_000 + "]" * 100_000 + "}}",
            "9" * 5000,
        ]
    ),
)


def _check(text: str | bytes) -> objects.RequestSpec | None:
    """The one allowed outcome: refused with a useful message, or valid."""
    try:
        spec = FORMAT.decode(text)
    except exception.InvalidRequestSpec as err:
        message = str(err)
        assert message.startswith("Invalid request spec: ")
        assert len(message) > len("Invalid request spec: ") + 5
        assert len(message) <= MAX_MESSAGE, message[:200]
        return None
    # Accepted: then it is a spec reqspec can write and read back as is.
    again = FORMAT.encode(spec)
    assert FORMAT.decode(again) == spec
    assert FORMAT.encode(FORMAT.decode(again)) == again
    return spec


class TestDecode:
    @pytest.mark.slow
    @fuzz(1200)
    @given(hand_edited(COPIES))
    def test_hand_edited_documents(self, texts: list[str]) -> None:
        for text in texts:
            _check(text)

    @pytest.mark.slow
    @fuzz(1000)
    @given(damaged_bytes(COPIES))
    def test_damaged_bytes(self, damaged: list[bytes]) -> None:
        for data in damaged:
            _check(data)
            # As text, the way a driver would hand it over (bad bytes
            # become lone surrogates).
            _check(data.decode("utf-8", "surrogateescape"))

    @fuzz(1500)
    @given(not_objects)
    def test_json_that_is_not_a_document(self, text: str) -> None:
        assert _check(text) is None

    @fuzz(600)
    @given(
        st.one_of(
            hand_edited(specs=row_specs), damaged_bytes(specs=row_specs)
        ).map(lambda b: b[0])
    )
    def test_a_row_holding_it(self, text: str | bytes) -> None:
        # The loader adds the row checks (instance and project columns).
        ctx = context.get_admin_context()
        row = db_specs.SpecRow(1, UUID, "p", 1, text)  # type: ignore[arg-type]
        try:
            spec = objects.RequestSpec.from_db_row(ctx, row)
        except exception.InvalidRequestSpec as err:
            assert len(str(err)) <= MAX_MESSAGE + 200
            return
        assert (spec.instance_uuid, spec.project_id) == (UUID, "p")
        _check(spec.to_document())


def _table_rows(url: str) -> int:
    with engines.database(url).engine.connect() as conn:
        return int(
            conn.execute(
                sa.text("SELECT count(*) FROM request_specs")
            ).scalar_one()
        )


def _store_raw(url: str, text: str) -> None:
    with engines.database(url).engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM request_specs"))
        conn.execute(
            sa.text(
                "INSERT INTO request_specs "
                "(instance_uuid, project_id, generation, spec) "
                "VALUES (:u, :p, 1, :s)"
            ),
            {"u": UUID, "p": "p", "s": text},
        )


@fuzz(300)
@given(text=hand_edited(specs=row_specs).map(lambda b: b[0]))
def test_rows_holding_edited_documents(db: Env, text: str) -> None:
    _store_raw(db.api_url, text)
    try:
        one = objects.RequestSpec.get_by_instance_uuid(db.ctx, UUID)
    except exception.InvalidRequestSpec:
        with pytest.raises(exception.InvalidRequestSpec):
            objects.RequestSpec.get_by_instance_uuids(db.ctx, [UUID])
        return
    [many] = objects.RequestSpec.get_by_instance_uuids(db.ctx, [UUID])
    assert one == many
    _check(one.to_document())
    assert (one.instance_uuid, one.project_id, one.generation) == (
        UUID,
        "p",
        1,
    )


@fuzz(250)
@given(spec=specs_to_damage, damage=st.data())
def test_invalid_specs_are_never_written(
    db: Env, spec: objects.RequestSpec, damage: st.DataObject
) -> None:
    """A spec broken in memory (the way in-place edits break one) is
    refused by create, and nothing reaches the table."""
    with engines.database(db.api_url).engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM request_specs"))
    spec._context = db.ctx
    spec.instance_uuid = UUID
    spec.project_id = "p"
    broken = _break(spec, damage)
    if broken:
        with pytest.raises(exception.InvalidRequestSpec):
            spec.create()
        assert _table_rows(db.api_url) == 0
    else:
        spec.create()
        loaded = objects.RequestSpec.get_by_instance_uuid(db.ctx, UUID)
        assert loaded.to_document() == spec.to_document()


def _break(spec: objects.RequestSpec, data: st.DataObject) -> bool:
    """Damage ``spec`` in place, where no setter checks; True if done."""
    holders: list[tuple[Any, Any]] = []
    _containers(spec, holders)
    if not holders:
        return False
    container, key = data.draw(st.sampled_from(holders))
    if isinstance(container, base.ReqspecObject):
        # An object: drop a field it must carry, behind its back.
        required = codec.required_fields(type(container))
        if key not in required:
            return False
        container.__dict__.pop("_obj_" + key, None)
        return True
    bad = data.draw(st.sampled_from([None, 1.5, b"x", ("x",), ["x"]]))
    try:
        if isinstance(container, set):
            container.add(bad if not isinstance(bad, list) else None)
        elif isinstance(container, list):
            container.append(bad)
        else:
            container[key] = bad
    except ValueError:
        # Object lists check what is added to them: no damage done.
        return False
    # A list of lists of strings takes ["x"]: that is no damage either.
    return not _accepted(spec)


def _accepted(spec: objects.RequestSpec) -> bool:
    try:
        spec.to_document()
    except exception.InvalidRequestSpec:
        return False
    return True


def _containers(node: Any, found: list[tuple[Any, Any]]) -> None:
    """Mutable places inside a spec: (object, field) for required fields,
    (list, None), (set, None) and (dict, key)."""
    if isinstance(node, base.ReqspecObject):
        for name in codec.required_fields(type(node)):
            if name in node.fields and node.obj_attr_is_set(name):
                found.append((node, name))
        for name in node.fields:
            value = node.__dict__.get("_obj_" + name)
            if value is not None and name not in ("id", "generation"):
                _containers(value, found)
    elif isinstance(node, list):
        found.append((node, None))
        for value in node:
            _containers(value, found)
    elif isinstance(node, set):
        found.append((node, None))
    elif isinstance(node, dict):
        for key, value in node.items():
            found.append((node, key))
            _containers(value, found)
