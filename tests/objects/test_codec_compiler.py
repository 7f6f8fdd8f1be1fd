"""The generated encoders and decoders agree with the codec's interpreter.

The generated functions may leave any input to the interpreter (by
raising), but whatever they accept they must turn into exactly what the
interpreter makes of it, and whatever the interpreter refuses they must
refuse too. They must also actually take the common case: a fast path
that always falls back would pass the first two properties and help
nobody.
"""

import concurrent.futures
import json
import linecache
import sys
import traceback
from typing import Any

from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
import orjson
import pytest

from reqspec import exception
from reqspec import objects
from reqspec.objects import base
from reqspec.objects import codec
from reqspec.objects import codec_compiler
from tests import strategies
from tests.fixtures import document_format
from tests.fixtures import specs

FORMAT = document_format.FORMAT

SETTINGS = settings(
    max_examples=300, suppress_health_check=[HealthCheck.too_slow]
)

REFUSED = object()


def _spec_codec() -> codec.Codec:
    return codec.codec_for(
        objects.RequestSpec, objects.RequestSpec.PERSISTENT_FIELDS
    )


def _outcome(fn: Any, value: Any) -> Any:
    try:
        return fn(value)
    except (codec_compiler.Refused, codec.Invalid, ValueError, TypeError):
        return REFUSED


def _body(text: str) -> dict[str, Any]:
    version, body = document_format.parse(text)
    return FORMAT.upgrade(version, body)


def _assert_same_object(fast: Any, checked: Any) -> None:
    assert fast == checked
    assert type(fast) is type(checked)
    assert not fast.obj_what_changed()
    assert fast._context is None
    # The same storage attributes set, and nothing else (oslo's own
    # bookkeeping has class defaults the fast path relies on).
    bookkeeping = {"_changed_fields", "_context"}
    assert fast.__dict__.keys() - bookkeeping == (
        checked.__dict__.keys() - bookkeeping
    )


# -- decoding ----------------------------------------------------------------


def test_the_fast_decoder_takes_a_realistic_document() -> None:
    body = _body(FORMAT.encode(specs.realistic_spec()))
    loaded = _spec_codec().fast_decoder()(body)
    _assert_same_object(loaded, _spec_codec().decode_checked(body))


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.full_request_specs())
def test_the_fast_decoder_takes_every_field(spec: objects.RequestSpec) -> None:
    body = _body(FORMAT.encode(spec))
    loaded = _spec_codec().fast_decoder()(body)
    _assert_same_object(loaded, _spec_codec().decode_checked(body))


@SETTINGS
@given(strategies.mutated_documents())
def test_hand_edited_documents_get_the_interpreters_verdict(
    text: str,
) -> None:
    try:
        body = _body(text)
    except exception.InvalidRequestSpec:
        return  # refused before any codec runs
    checked = _outcome(_spec_codec().decode_checked, body)
    fast = _outcome(_spec_codec().fast_decoder(), body)
    if checked is REFUSED:
        assert fast is REFUSED, text
    elif fast is not REFUSED:
        _assert_same_object(fast, checked)


def test_a_refused_document_is_reported_by_the_interpreter() -> None:
    body = _body(FORMAT.encode(specs.realistic_spec()))
    body["flavor"]["vcpus"] = -1
    with pytest.raises(codec.Invalid) as caught:
        _spec_codec().decode(body)
    assert caught.value.path == ["flavor", "vcpus"]
    assert "non-negative integer" in caught.value.reason


# -- encoding ----------------------------------------------------------------


def _json(encoded: dict[str, Any]) -> bytes:
    # Floats come out as orjson fragments, which do not compare by value.
    return orjson.dumps(encoded, option=orjson.OPT_SORT_KEYS)


@SETTINGS
@given(strategies.request_specs(per_move=True))
def test_the_fast_encoder_writes_what_the_interpreter_writes(
    spec: objects.RequestSpec,
) -> None:
    fast = _spec_codec().fast_encoder()(spec)
    assert _json(fast) == _json(_spec_codec().encode_checked(spec))


BAD_VALUES = [None, -1, 1.5, float("nan"), True, "x", "\ud800", b"x", [], {}]


def _stored_objects(obj: Any, found: list[Any]) -> list[Any]:
    if isinstance(obj, base.ReqspecObject):
        found.append(obj)
        for value in list(obj.__dict__.values()):
            _stored_objects(value, found)
    elif isinstance(obj, list):
        for value in obj:
            _stored_objects(value, found)
    return found


@SETTINGS
@given(strategies.request_specs(per_move=True), st.data())
def test_damaged_specs_are_refused_by_both(
    spec: objects.RequestSpec, data: st.DataObject
) -> None:
    # Write a value of the wrong kind straight into storage, where no
    # setter checks it: the encoders are the last line of defence.
    target = data.draw(st.sampled_from(_stored_objects(spec, [])))
    name = data.draw(st.sampled_from(sorted(target.fields)))
    target.__dict__["_obj_" + name] = data.draw(st.sampled_from(BAD_VALUES))
    checked = _outcome(_spec_codec().encode_checked, spec)
    fast = _outcome(_spec_codec().fast_encoder(), spec)
    if checked is REFUSED:
        assert fast is REFUSED
    elif fast is not REFUSED:
        assert _json(fast) == _json(checked)


def test_generated_source_is_kept_for_reading() -> None:
    decoder = _spec_codec().fast_decoder()
    assert decoder.__qualname__ == "RequestSpec.decode"
    source = decoder.source  # type: ignore[attr-defined]
    assert "if 'flavor' in data:" in source
    # Lists and dicts of strings are tested in place by a generated loop.
    assert "def ok13(v):" in source and "ok13(v)" in source


def test_a_traceback_through_generated_code_shows_its_lines() -> None:
    decoder = _spec_codec().fast_decoder()
    with pytest.raises(codec_compiler.Refused) as caught:
        decoder(["not", "a", "dict"])
    linecache.checkcache()  # as traceback printing does; must keep them
    printed = "".join(traceback.format_exception(caught.value))
    lines = decoder.source.splitlines()  # type: ignore[attr-defined]
    line = lines.index("def decode(data):") + 3
    where = (
        f'reqspec.objects.request_spec.RequestSpec>", line {line}, in decode'
    )
    assert f"{where}\n    raise Refused\n" in printed


@pytest.mark.parametrize(
    "hints, taken",
    [
        ({"a": ["x", "y"]}, True),
        # Not ASCII: the field's own check decides (and accepts).
        ({"a": ["caf\u00e9"]}, True),
        ({"a": "x"}, False),
        ({"a": ["x", 1]}, False),
        ({"a": [None]}, False),
    ],
)
def test_containers_are_tested_in_place(hints: dict, taken: bool) -> None:
    spec = specs.realistic_spec()
    body = json.loads(spec.to_document())["spec"]
    body["scheduler_hints"] = hints
    decoder = _spec_codec().fast_decoder()
    if taken:
        assert decoder(body).scheduler_hints == hints
    else:
        with pytest.raises((codec_compiler.Refused, ValueError)):
            decoder(body)
        with pytest.raises(
            exception.InvalidRequestSpec, match=r"spec\.scheduler_hints: "
        ):
            FORMAT.decode(json.dumps({"spec": body, "version": "1.3"}))


@pytest.mark.parametrize(
    "uuid, stored",
    [
        (specs.UUIDS[0], specs.UUIDS[0]),
        # Taken by the field's own check, which stores the canonical form.
        (specs.UUIDS[0].upper(), specs.UUIDS[0]),
        (specs.UUIDS[0] + "\n", None),
        (specs.UUIDS[0].replace("-", ""), None),
    ],
)
def test_uuids_are_tested_in_place(uuid: str, stored: str | None) -> None:
    body = json.loads(specs.realistic_spec().to_document())["spec"]
    body["instance_group"]["uuid"] = uuid
    decoder = _spec_codec().fast_decoder()
    if stored is not None:
        assert decoder(body).instance_group.uuid == stored
    else:
        with pytest.raises((codec_compiler.Refused, ValueError)):
            decoder(body)


def _reordered(value: Any, order: Any) -> Any:
    """``value`` with every object's keys put in ``order``."""
    if isinstance(value, dict):
        return {k: _reordered(value[k], order) for k in order(list(value))}
    if isinstance(value, list):
        return [_reordered(v, order) for v in value]
    return value


@pytest.mark.parametrize(
    "order",
    [
        reversed,
        # One key out of place: the walk finds a required field missing.
        lambda keys: keys[1:] + keys[:1],
        # The last key first: the walk ends with a key left over.
        lambda keys: keys[-1:] + keys[:-1],
    ],
)
def test_keys_in_any_order_decode_the_same(order: Any) -> None:
    decoder = _spec_codec().fast_decoder()
    body = json.loads(specs.realistic_spec().to_document())["spec"]
    assert list(body) == sorted(body)
    assert decoder(_reordered(body, order)) == decoder(body)


@pytest.mark.parametrize("key", ["aaa", "flavor_", "zzz"])
def test_an_unknown_key_anywhere_is_refused(key: str) -> None:
    decoder = _spec_codec().fast_decoder()
    body = json.loads(specs.realistic_spec().to_document())["spec"]
    for where in (body, body["flavor"]):
        where[key] = "x"
        with pytest.raises(codec_compiler.Refused):
            decoder(_reordered(body, sorted))
        del where[key]


def test_a_damaged_spec_is_reported_by_the_interpreter() -> None:
    spec = specs.realistic_spec()
    spec.flavor.__dict__["_obj_vcpus"] = -1
    with pytest.raises(ValueError):
        _spec_codec().fast_encoder()(spec)
    with pytest.raises(codec.Invalid) as caught:
        _spec_codec().encode(spec)
    assert caught.value.path == ["flavor", "vcpus"]


# -- compiling, once and safely ---------------------------------------------


def _fresh_spec_codec() -> codec.Codec:
    # Not the cached one: these tests watch a compile happen.
    return codec.Codec(
        objects.RequestSpec, objects.RequestSpec.PERSISTENT_FIELDS
    )


def test_a_call_during_the_compile_goes_to_the_interpreter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fresh = _fresh_spec_codec()
    body = _body(FORMAT.encode(specs.realistic_spec()))
    real, seen = codec_compiler.compile_decoder, []

    def compile_with_a_reentrant_call(target: codec.Codec) -> Any:
        if target is fresh and not seen:
            # As a class nesting itself reaches its own decoder.
            seen.append(fresh.decode(body))
        return real(target)

    monkeypatch.setattr(
        codec_compiler, "compile_decoder", compile_with_a_reentrant_call
    )
    loaded = fresh.decode(body)
    _assert_same_object(seen[0], loaded)


def test_a_failed_compile_is_tried_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fresh = _fresh_spec_codec()
    body = _body(FORMAT.encode(specs.realistic_spec()))

    def broken(target: codec.Codec) -> Any:
        raise KeyError("not registered yet")

    monkeypatch.setattr(codec_compiler, "compile_decoder", broken)
    with pytest.raises(KeyError):
        fresh.decode(body)
    monkeypatch.undo()
    _assert_same_object(fresh.decode(body), fresh.decode_checked(body))


def test_threads_racing_the_first_compile_all_succeed() -> None:
    body = _body(FORMAT.encode(specs.realistic_spec()))
    spec = specs.realistic_spec()
    expected = _spec_codec().decode_checked(body)
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        for _ in range(5):
            fresh = _fresh_spec_codec()
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                decoded = list(
                    pool.map(lambda _, c=fresh: c.decode(body), range(40))
                )
                encoded = list(
                    pool.map(lambda _, c=fresh: c.encode(spec), range(40))
                )
            assert all(d == expected for d in decoded)
            assert len({_json(e) for e in encoded}) == 1
    finally:
        sys.setswitchinterval(previous)
