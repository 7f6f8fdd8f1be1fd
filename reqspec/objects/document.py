"""The stored document format: envelope, text, size, versions.

A document is compact JSON with sorted keys (same object, same bytes)::

    {"spec":{...persistent fields...},"version":"1.3"}

``version`` is the version of the root class that wrote it. ``spec`` holds
the root's stored fields that are set; nested objects are plain JSON
objects of their set fields (no ``reqspec_object.*`` wrappers, no change
lists: the version of the whole says what every part means), sets are
sorted lists. The text is ASCII (anything else is ``\\u``-escaped, so any
database character set holds it) and floats are written as Python's
``repr`` writes them: the bytes are those of the standard library's json.

Reading checks everything: the JSON, the envelope, the version (a newer
one than the code is refused, an older one is upgraded step by step),
every field name and every value's type, and the fields each object
requires. Any problem is an ``InvalidRequestSpec`` naming the path of the
bad value; nothing else escapes.

This module knows no particular class: ``DocumentFormat`` is configured
with a root class, the fields it stores, its version and its upgrade
steps by the module that defines that class (``RequestSpec.FORMAT``, in
``reqspec.objects.request_spec``). The values themselves are written and
read by the generated per-class codecs of ``reqspec.objects.codec``; the
text by orjson, several times cheaper than the standard library's json.
``tests/fixtures/generic_document.py`` holds the same format written and
read through oslo.versionedobjects' primitives, which the tests hold this
one to.
"""

from collections.abc import Callable
from collections.abc import Mapping
import json
import re
from typing import Any

import orjson
from oslo_utils import versionutils
from oslo_versionedobjects import base as ovo_base

from reqspec import exception
from reqspec.objects import codec
from reqspec.objects import fields

#: A step bringing a document's ``spec`` from one version to the next.
Upgrade = Callable[[dict[str, Any]], dict[str, Any]]


# -- versions ----------------------------------------------------------------


def parse_version(version: Any) -> tuple[int, int]:
    """(major, minor) of a document's version; ``InvalidRequestSpec`` if it
    is not a string of the form MAJOR.MINOR."""
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


def _size(text: str | bytes) -> int:
    if isinstance(text, str) and not text.isascii():
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text)


def _check_size(size: int, limit: int) -> None:
    if size > limit:
        raise exception.InvalidRequestSpec(
            reason=f"the document is {size} bytes, over the limit of {limit} "
            "([request_spec] max_document_bytes)"
        )


def parse(text: str | bytes, limit: int) -> tuple[str, dict[str, Any]]:
    """Check a document's size (at most ``limit`` bytes), JSON and
    envelope; return (version, spec)."""
    if not isinstance(text, (str, bytes)):
        raise exception.InvalidRequestSpec(
            reason=f"a document is text, not {type(text).__name__}"
        )
    _check_size(_size(text), limit)
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
    if (
        len(document) != 2
        or "spec" not in document
        or "version" not in document
    ):
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
        parse_version(version)
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


class DocumentFormat:
    """The stored document of one root class.

    ``names`` are the root's fields a document holds, ``version`` the
    version it writes, and ``upgrades`` the step from each older version
    to the next one (a step may be the identity: a version that changed
    only what is never stored).
    """

    def __init__(
        self,
        cls: type[ovo_base.VersionedObject],
        names: tuple[str, ...],
        version: str,
        upgrades: Mapping[str, Upgrade],
    ) -> None:
        self.cls = cls
        self.version = version
        self.upgrades = dict(upgrades)
        self._current = parse_version(version)
        self._codec = codec.codec_for(cls, names)

    def upgrade(self, version: str, body: dict[str, Any]) -> dict[str, Any]:
        """Bring a document's ``spec`` from ``version`` to the current one.

        ``InvalidRequestSpec`` for a version this code cannot read: one
        newer than it (written by a later release) or one it never knew.
        """
        if version == self.version:
            return body
        parsed = parse_version(version)
        if parsed > self._current:
            raise exception.InvalidRequestSpec(
                reason=f"version: document version {version} is newer than "
                f"this reqspec understands ({self.version}); upgrade reqspec"
            )
        while version != self.version:
            step = self.upgrades.get(version)
            if step is None:
                raise exception.InvalidRequestSpec(
                    reason=f"version: unknown document version {version}"
                )
            body = step(body)
            major, minor = parse_version(version)
            version = f"{major}.{minor + 1}"
        return body

    def encode(self, obj: ovo_base.VersionedObject, limit: int) -> str:
        """The stored document of ``obj``: only its stored fields, checked,
        at the current version."""
        try:
            body = self._codec.encode(obj)
        except codec.Invalid as err:
            raise err.to_exception() from None
        text = _dumps({"spec": body, "version": self.version})
        _check_size(len(text), limit)
        return text

    def decode(self, text: str | bytes, limit: int) -> Any:
        """A new object from a stored document, with no changes recorded;
        only ``InvalidRequestSpec`` escapes for a bad one."""
        return self.load(text, limit)[0]

    def load(self, text: str | bytes, limit: int) -> tuple[Any, str]:
        """``decode``, with the version the document was written at."""
        version, body = parse(text, limit)
        if version != self.version:
            body = self.upgrade(version, body)
        try:
            obj = self._codec.decode(body)
        except codec.Invalid as err:
            raise err.to_exception() from None
        except RecursionError:
            raise exception.InvalidRequestSpec(
                reason="the document is nested too deeply"
            ) from None
        return obj, version
