"""The stored document of a RequestSpec: format, text and upgrades.

A document is compact JSON with sorted keys (same spec, same bytes)::

    {"spec":{...persistent fields...},"version":"1.3"}

``version`` is the RequestSpec version that wrote it. ``spec`` holds the
``RequestSpec.PERSISTENT_FIELDS`` that are set; nested objects are plain
JSON objects of their set fields (no ``reqspec_object.*`` wrappers, no
change lists: the version of the whole says what every part means), sets
are sorted lists, and a server group is reduced to its stored fields.
The text is ASCII (anything else is ``\\u``-escaped, so any database
character set holds it) and floats are written as Python's ``repr``
writes them: the bytes are those of the standard library's json.

Reading checks everything: the JSON, the envelope, the version (a newer
one than this code is refused, an older one is upgraded step by step),
every field name and every value's type, and the fields each object
requires. Any problem is an ``InvalidRequestSpec`` naming the path of the
bad value; nothing else escapes.

Two paths produce and read this format, and the tests hold them to the
same bytes and objects (``tests/objects/test_document_equivalence.py``):

* the fast path (``encode``/``decode``), used for storage: the per-class
  codecs of ``reqspec.objects.codec`` and orjson for the text, several
  times cheaper than the standard library's json;
* the generic path (``encode_via_primitive``/``decode_via_primitive``):
  oslo.versionedobjects primitives and oslo.serialization, the definition
  the fast path is held to and the way to write a document for an older
  reader, since it applies each object's ``obj_make_compatible``.
"""

from collections.abc import Callable
import functools
import json
import re
from typing import Any
from typing import TYPE_CHECKING

import orjson
from oslo_serialization import jsonutils
from oslo_utils import versionutils
from oslo_versionedobjects import base as ovo_base
from oslo_versionedobjects import exception as ovo_exc

from reqspec import conf
from reqspec import exception
from reqspec.objects import codec
from reqspec.objects import fields

if TYPE_CHECKING:
    from reqspec.objects.request_spec import RequestSpec

CONF = conf.CONF


@functools.cache
def _spec_class() -> type["RequestSpec"]:
    # Imported late: request_spec imports this module. Cached because an
    # import statement costs as much as decoding a few fields.
    from reqspec.objects.request_spec import RequestSpec

    return RequestSpec


def _spec_codec() -> codec.Codec:
    spec_class = _spec_class()
    return codec.codec_for(spec_class, spec_class.PERSISTENT_FIELDS)


#: For callers that name it here (the generic path and the tests).
required_fields = codec.required_fields


# -- versions and upgrades -------------------------------------------------


def _upgrade_1_0(spec: dict[str, Any]) -> dict[str, Any]:
    # 1.1 added two persistent fields; a 1.0 spec had neither, which means
    # exactly their defaults.
    spec.setdefault("security_groups", [])
    spec.setdefault("is_bfv", False)
    return spec


def _upgrade_1_1(spec: dict[str, Any]) -> dict[str, Any]:
    # 1.2 added only per-move fields, which are never stored.
    return spec


def _upgrade_1_2(spec: dict[str, Any]) -> dict[str, Any]:
    # 1.3 let a NUMA cell ask for a page size policy; a 1.2 cell has none,
    # which is what a missing nullable field means.
    return spec


#: Upgrade steps from each older version to the next one.
UPGRADES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "1.0": _upgrade_1_0,
    "1.1": _upgrade_1_1,
    "1.2": _upgrade_1_2,
}


def current_version() -> str:
    return _spec_class().VERSION


def _parse_version(version: Any) -> tuple[int, int]:
    if type(version) is not str:
        raise exception.InvalidRequestSpec(
            reason=f"version: expected a string, got {codec.kind(version)}"
        )
    try:
        parsed = versionutils.convert_version_to_tuple(version)
    except (ValueError, AttributeError):
        parsed = ()
    if len(parsed) != 2 or version != "{}.{}".format(*parsed):
        raise exception.InvalidRequestSpec(
            reason=f"version: {fields.short_repr(version)} is not of the "
            "form MAJOR.MINOR"
        )
    return parsed[0], parsed[1]


def upgrade(version: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Bring a document's ``spec`` from ``version`` to the current one.

    Raises ``InvalidRequestSpec`` for a version this code cannot read: one
    newer than it (written by a later release) or one it never knew.
    """
    current = current_version()
    if version == current:
        return spec
    parsed = _parse_version(version)
    if parsed > versionutils.convert_version_to_tuple(current):
        raise exception.InvalidRequestSpec(
            reason=f"version: document version {version} is newer than "
            f"this reqspec understands ({current}); upgrade reqspec"
        )
    while version != current:
        step = UPGRADES.get(version)
        if step is None:
            raise exception.InvalidRequestSpec(
                reason=f"version: unknown document version {version}"
            )
        spec = step(spec)
        major, minor = _parse_version(version)
        version = f"{major}.{minor + 1}"
    return spec


# -- text ------------------------------------------------------------------


def _dumps(document: dict[str, Any]) -> str:
    try:
        text = orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError as err:
        # The field checks leave one thing to the JSON layer: integers
        # beyond 64 bits, which no database column would hold either.
        raise exception.InvalidRequestSpec(reason=str(err)) from None
    if text.isascii() and "\x7f" not in text:
        return text
    # orjson writes UTF-8 and a raw DEL; escape them as json's ensure_ascii
    # does. Outside strings JSON is plain ASCII, so every match is inside
    # one.
    return _UNESCAPED.sub(_escape, text)


_UNESCAPED = re.compile(r"[^\x00-\x7e]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 | code >> 10:04x}\\u{0xDC00 | code & 0x3FF:04x}"


def _dumps_generic(document: dict[str, Any]) -> str:
    return jsonutils.dumps(
        document, sort_keys=True, separators=(",", ":"), allow_nan=False
    )


def _size(text: str | bytes) -> int:
    if isinstance(text, str) and not text.isascii():
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text)


def _check_size(size: int) -> None:
    limit = CONF.request_spec.max_document_bytes
    if size > limit:
        raise exception.InvalidRequestSpec(
            reason=f"the document is {size} bytes, over the limit of {limit} "
            "([request_spec] max_document_bytes)"
        )


def encode(spec: "RequestSpec") -> str:
    """The stored document of ``spec``: only persistent fields, checked."""
    try:
        body = _spec_codec().encode(spec)
    except codec.Invalid as err:
        raise err.to_exception() from None
    text = _dumps({"spec": body, "version": current_version()})
    _check_size(len(text))
    return text


def parse(text: str | bytes) -> tuple[str, dict[str, Any]]:
    """Check a document's size, JSON and envelope; return (version, spec)."""
    if not isinstance(text, (str, bytes)):
        raise exception.InvalidRequestSpec(
            reason=f"a document is text, not {type(text).__name__}"
        )
    _check_size(_size(text))
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as err:
        # Bad JSON, bad UTF-8 and nesting too deep alike.
        raise exception.InvalidRequestSpec(
            reason=f"not a valid JSON document ({_short(err)})"
        ) from None
    if type(document) is not dict:
        raise exception.InvalidRequestSpec(
            reason=f"expected a JSON object, got {codec.kind(document)}"
        )
    _refuse_duplicate_keys(text, document)
    if set(document) != {"spec", "version"}:
        raise exception.InvalidRequestSpec(
            reason="expected exactly the keys 'spec' and 'version', got "
            + fields.short_repr(sorted(document))
        )
    version, body = document["version"], document["spec"]
    if type(body) is not dict:
        raise exception.InvalidRequestSpec(
            reason=f"spec: expected an object, got {codec.kind(body)}"
        )
    if type(version) is not str:
        _parse_version(version)
    return version, body


def _refuse_duplicate_keys(text: str | bytes, document: Any) -> None:
    """``InvalidRequestSpec`` naming the path of a key that appears twice
    in one object (orjson, like json, keeps the last one silently).

    A text that is exactly the compact encoding of what it parsed to has
    no duplicate key (a parsed object holds each key once, and so does its
    encoding). Stored documents are such texts (canonical: compact, keys
    sorted), so the check costs one orjson.dumps, in the parsed key order
    (a third cheaper than sorting again; the order is the text's own).
    Only other text is parsed again, slowly, with each object's keys kept.
    """
    try:
        canonical = orjson.dumps(document)
    except orjson.JSONEncodeError:
        canonical = b""
    data = text.encode() if type(text) is str else text
    if canonical == data:
        return
    # Stored text escapes what is not ASCII (and DEL); orjson writes it raw.
    if _UNESCAPED.sub(_escape, canonical.decode()).encode() == data:
        return
    found = _duplicate_key(text)
    if found is not None:
        path, key = found
        # Keys come from the document: a hand-edited one can be any size.
        where = ".".join(k if len(k) <= 60 else k[:57] + "..." for k in path)
        raise exception.InvalidRequestSpec(
            reason=f"{where or 'the document'}: duplicate key "
            + fields.short_repr(key)
        )


class _Object(dict[str, Any]):
    """A parsed JSON object that had a key more than once."""

    duplicate: str


def _object_of_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    flagged = _Object(obj)
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            flagged.duplicate = key
            break
        seen.add(key)
    return flagged


def _duplicate_key(text: str | bytes) -> tuple[list[str], str] | None:
    """(path, key) of the first object holding a key twice, if any."""
    try:
        parsed = json.loads(text, object_pairs_hook=_object_of_pairs)
    except (ValueError, RecursionError):
        return None  # orjson took it; nothing more to learn here
    stack: list[tuple[list[str], Any]] = [([], parsed)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, _Object):
            return path, value.duplicate
        if isinstance(value, dict):
            items = list(value.items())
        elif isinstance(value, list):
            items = [(str(i), v) for i, v in enumerate(value)]
        else:
            continue
        stack.extend(([*path, key], child) for key, child in reversed(items))
    return None


def _short(err: Exception) -> str:
    text = str(err) or type(err).__name__
    return text if len(text) < 200 else text[:200] + "..."


def decode(text: str | bytes) -> "RequestSpec":
    """Load a spec from its stored document; only ``InvalidRequestSpec``
    escapes for a bad one."""
    version, body = parse(text)
    body = upgrade(version, body)
    try:
        spec = _spec_codec().decode(body)
    except codec.Invalid as err:
        raise err.to_exception() from None
    except RecursionError:
        raise exception.InvalidRequestSpec(
            reason="the document is nested too deeply"
        ) from None
    return spec  # type: ignore[return-value]


# -- the generic path --------------------------------------------------------
#
# The same format produced and read through oslo.versionedobjects'
# primitives. It is the definition the fast codec is held to (see the
# equivalence tests), and the way to write a document for an older reader:
# ``encode_via_primitive(spec, target_version="1.0")`` applies each
# object's obj_make_compatible.


def _unwrap(primitive: Any) -> Any:
    if isinstance(primitive, dict) and "reqspec_object.data" in primitive:
        return {
            k: _unwrap(v) for k, v in primitive["reqspec_object.data"].items()
        }
    if isinstance(primitive, (list, tuple)):
        return [_unwrap(v) for v in primitive]
    return primitive


def encode_via_primitive(
    spec: "RequestSpec", target_version: str | None = None
) -> str:
    try:
        primitive = spec.obj_to_primitive(target_version=target_version)
    except (ValueError, TypeError, ovo_exc.VersionedObjectsException) as err:
        raise exception.InvalidRequestSpec(reason=str(err)) from err
    data = _unwrap(primitive)
    body = {k: data[k] for k in spec.PERSISTENT_FIELDS if k in data}
    for name, subset in spec.STORED_SUBSETS.items():
        nested = body.get(name)
        if nested is not None:
            body[name] = {k: nested[k] for k in subset if k in nested}
    version = target_version or spec.VERSION
    try:
        text = _dumps_generic({"spec": body, "version": version})
    except (ValueError, TypeError) as err:
        raise exception.InvalidRequestSpec(reason=str(err)) from err
    # What the fast path refuses to write, the generic path must refuse too.
    decode_via_primitive(text)
    _check_size(len(text))
    return text


def _wrap(
    cls: type[ovo_base.VersionedObject],
    data: Any,
    names: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    if type(data) is not dict:
        raise codec.Invalid(
            f"expected a {cls.obj_name()} object, got {codec.kind(data)}"
        )
    allowed = names if names is not None else tuple(cls.fields)
    wrapped = {}
    for key, value in data.items():
        if key not in allowed:
            raise codec.Invalid(f"not a stored field of {cls.obj_name()}").at(
                str(key)
            )
        field = cls.fields[key]
        subset = codec.stored_subset(cls, key)
        if value is None and not field.nullable:
            # obj_from_primitive would put the default in; the encoder
            # never writes null here.
            raise codec.Invalid("must not be null").at(key)
        try:
            if value is not None and fields.is_object_field(field):
                value = _wrap(fields.object_class(field), value, subset)
            elif value is not None and fields.is_object_list_field(field):
                if type(value) is not list:
                    raise codec.Invalid(
                        f"expected a list, got {codec.kind(value)}"
                    )
                child = fields.object_class(field)
                items = []
                for i, item in enumerate(value):
                    try:
                        items.append(_wrap(child, item, subset))
                    except codec.Invalid as err:
                        raise err.at(str(i)) from None
                value = items
        except codec.Invalid as err:
            raise err.at(key) from None
        wrapped[key] = value
    for name in codec.required_fields(cls):
        if name in allowed and name not in data:
            raise codec.Invalid("required field is missing").at(name)
    return {
        "reqspec_object.name": cls.obj_name(),
        "reqspec_object.namespace": "reqspec",
        "reqspec_object.version": cls.VERSION,
        "reqspec_object.data": wrapped,
    }


def decode_via_primitive(text: str | bytes) -> "RequestSpec":
    from reqspec.objects.request_spec import RequestSpec

    version, body = parse(text)
    body = upgrade(version, body)
    try:
        primitive = _wrap(RequestSpec, body, RequestSpec.PERSISTENT_FIELDS)
    except codec.Invalid as err:
        raise err.to_exception() from None
    try:
        spec = RequestSpec.obj_from_primitive(primitive)
    except (
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        ovo_exc.VersionedObjectsException,
    ) as err:
        raise exception.InvalidRequestSpec(reason=str(err)) from err
    except RecursionError:
        raise exception.InvalidRequestSpec(
            reason="the document is nested too deeply"
        ) from None
    spec.obj_reset_changes(recursive=True)
    return spec
