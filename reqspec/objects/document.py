"""The stored document of a RequestSpec: format, fast codec and upgrades.

A document is compact JSON with sorted keys (same spec, same bytes)::

    {"spec":{...persistent fields...},"version":"1.2"}

``version`` is the RequestSpec version that wrote it. ``spec`` holds the
``RequestSpec.PERSISTENT_FIELDS`` that are set; nested objects are plain
JSON objects of their set fields (no ``reqspec_object.*`` wrappers, no
change lists: the version of the whole says what every part means), sets
are sorted lists, and a server group is reduced to its stored fields.

Reading checks everything: the JSON, the envelope, the version (a newer
one than this code is refused, an older one is upgraded step by step),
every field name and every value's type, and the fields each object
requires. Any problem is an ``InvalidRequestSpec`` naming the path of the
bad value; nothing else escapes.

Speed: the generic oslo.versionedobjects path (``obj_to_primitive`` then
unwrapping, or wrapping then ``obj_from_primitive``) costs hundreds of
microseconds for a full spec. ``_Codec`` precomputes, per object class, a
plan of (field, storage attribute, strict check or child codec) and reads
and writes the storage attributes directly. The checks are the very
functions the field types use, so both paths accept and reject the same
values; ``tests/objects/test_document_equivalence.py`` proves the two
produce identical documents and equal objects.
"""

from collections.abc import Callable
import copy
from typing import Any
from typing import TYPE_CHECKING

from oslo_serialization import jsonutils
from oslo_utils import versionutils
from oslo_versionedobjects import base as ovo_base
from oslo_versionedobjects import exception as ovo_exc

from reqspec import conf
from reqspec import exception
from reqspec.objects import fields

if TYPE_CHECKING:
    from reqspec.objects.request_spec import RequestSpec

CONF = conf.CONF

_MISSING = object()


class _Invalid(Exception):
    """A bad value, with the path to it built up while unwinding."""

    def __init__(self, reason: str, path: list[str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path or []

    def at(self, key: str) -> "_Invalid":
        # Keys come from the document: a hand-edited one can be any size.
        self.path.insert(0, key if len(key) <= 60 else key[:57] + "...")
        return self

    def to_exception(self) -> exception.InvalidRequestSpec:
        where = ".".join(["spec", *self.path])
        return exception.InvalidRequestSpec(reason=f"{where}: {self.reason}")


def required_fields(cls: type[ovo_base.VersionedObject]) -> tuple[str, ...]:
    """Fields a stored object must carry.

    A class may list them (``REQUIRED_FIELDS``); otherwise they are the
    fields that are neither nullable nor defaulted.
    """
    declared: tuple[str, ...] | None = getattr(cls, "REQUIRED_FIELDS", None)
    if declared is not None:
        return declared
    return tuple(
        name
        for name, field in cls.fields.items()
        if not field.nullable and field.default is fields.UnspecifiedDefault
    )


def stored_subset(
    parent: type[ovo_base.VersionedObject], name: str
) -> tuple[str, ...] | None:
    """The fields of a nested object that are stored, if not all of them
    (a RequestSpec's server group keeps only its stable fields)."""
    subsets: dict[str, tuple[str, ...]] = getattr(parent, "STORED_SUBSETS", {})
    return subsets.get(name)


class _Codec:
    """Encoder and decoder of one object class, built once per class."""

    def __init__(
        self, cls: type[ovo_base.VersionedObject], names: tuple[str, ...]
    ) -> None:
        self.cls = cls
        self.names = names
        self.required = tuple(n for n in required_fields(cls) if n in names)
        self._plan: list[tuple[str, str, Any, Any, bool, bool]] | None = None
        self._decoders: dict[str, tuple[str, Callable[[Any], Any]]] = {}

    def _build(self) -> list[tuple[str, str, Any, Any, bool, bool]]:
        # Built on first use: child classes must all be registered first.
        plan = []
        for name in self.names:
            field = self.cls.fields[name]
            attr = "_obj_" + name
            if fields.is_object_field(field) or fields.is_object_list_field(
                field
            ):
                child = codec_for(
                    fields.object_class(field), stored_subset(self.cls, name)
                )
                many = fields.is_object_list_field(field)
                check = None
                dump = None
            else:
                child = None
                many = False
                check = fields.value_check(field)
                dump = _dumper(field, check)
            plan.append((name, attr, dump, child, many, field.nullable))
            self._decoders[name] = (attr, self._decoder(field, check, child))
        self._plan = plan
        return plan

    def _decoder(
        self, field: Any, check: Any, child: "_Codec | None"
    ) -> Callable[[Any], Any]:
        if child is None:
            return check
        if_none = _none_handler(field)
        if fields.is_object_list_field(field):

            def load_list(value: Any) -> Any:
                if value is None:
                    return if_none()
                if type(value) is not list:
                    raise _Invalid(f"expected a list, got {_kind(value)}")
                out = []
                for i, item in enumerate(value):
                    try:
                        out.append(child.decode(item))
                    except _Invalid as err:
                        raise err.at(str(i)) from None
                return out

            return load_list

        def load_object(value: Any) -> Any:
            if value is None:
                return if_none()
            return child.decode(value)

        return load_object

    def encode(self, obj: ovo_base.VersionedObject) -> dict[str, Any]:
        if type(obj) is not self.cls:
            raise _Invalid(
                f"expected a {self.cls.obj_name()}, got {_kind(obj)}"
            )
        plan = self._plan or self._build()
        values = obj.__dict__
        out: dict[str, Any] = {}
        for name, attr, dump, child, many, nullable in plan:
            value = values.get(attr, _MISSING)
            if value is _MISSING:
                continue
            try:
                if child is None:
                    out[name] = dump(value)
                elif value is None:
                    if not nullable:
                        raise _Invalid("must not be null")
                    out[name] = None
                elif many:
                    out[name] = [child.encode(v) for v in value]
                else:
                    out[name] = child.encode(value)
            except _Invalid as err:
                raise err.at(name) from None
            except (ValueError, TypeError) as err:
                raise _Invalid(str(err)).at(name) from None
        # Whatever decode() would refuse must not be written in the first
        # place: a spec missing its flavor would be stored and then be
        # unreadable.
        for name in self.required:
            if name not in out:
                raise _Invalid("required field is missing").at(name)
        return out

    def decode(self, data: Any) -> ovo_base.VersionedObject:
        if type(data) is not dict:
            raise _Invalid(
                f"expected a {self.cls.obj_name()} object, got {_kind(data)}"
            )
        if self._plan is None:
            self._build()
        obj = self.cls()
        values = obj.__dict__
        decoders = self._decoders
        for key, raw in data.items():
            entry = decoders.get(key)
            if entry is None:
                raise _Invalid(
                    f"not a stored field of {self.cls.obj_name()}"
                ).at(str(key))
            attr, load = entry
            try:
                values[attr] = load(raw)
            except _Invalid as err:
                raise err.at(key) from None
            except (ValueError, TypeError) as err:
                raise _Invalid(str(err)).at(key) from None
        for name in self.required:
            if "_obj_" + name not in values:
                raise _Invalid("required field is missing").at(name)
        return obj


def _none_handler(field: Any) -> Callable[[], Any]:
    """What a null object field decodes to, as ``Field.coerce`` decides:
    None if nullable, else the default, else an error."""
    if field.nullable:
        return lambda: None
    if field.default is not fields.UnspecifiedDefault:
        default = field.default
        return lambda: copy.deepcopy(default)

    def refuse() -> Any:
        raise _Invalid("must not be null")

    return refuse


def _dumper(field: Any, check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    field_type = field._type
    if isinstance(field_type, fields.Set):

        def dump_set(value: Any) -> Any:
            checked = check(value)
            return None if checked is None else sorted(checked)

        return dump_set
    return check


def _kind(value: Any) -> str:
    if isinstance(value, ovo_base.VersionedObject):
        return value.obj_name()
    names: dict[type, str] = {
        dict: "an object",
        list: "a list",
        str: "a string",
    }
    return names.get(type(value), type(value).__name__)


_codecs: dict[tuple[str, tuple[str, ...] | None], _Codec] = {}


def codec_for(
    cls: type[ovo_base.VersionedObject], names: tuple[str, ...] | None = None
) -> _Codec:
    """The codec of ``cls`` writing ``names`` (default: every field)."""
    key = (cls.obj_name(), names)
    codec = _codecs.get(key)
    if codec is None:
        codec = _codecs[key] = _Codec(cls, names or tuple(cls.fields))
    return codec


def _spec_codec() -> _Codec:
    from reqspec.objects.request_spec import RequestSpec

    return codec_for(RequestSpec, RequestSpec.PERSISTENT_FIELDS)


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


#: Upgrade steps from each older version to the next one.
UPGRADES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "1.0": _upgrade_1_0,
    "1.1": _upgrade_1_1,
}


def current_version() -> str:
    from reqspec.objects.request_spec import RequestSpec

    return RequestSpec.VERSION


def _parse_version(version: Any) -> tuple[int, int]:
    if type(version) is not str:
        raise exception.InvalidRequestSpec(
            reason=f"version: expected a string, got {_kind(version)}"
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
    except _Invalid as err:
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
        document = jsonutils.loads(text)
    except (ValueError, RecursionError) as err:
        # ValueError covers bad JSON and bad UTF-8 alike.
        raise exception.InvalidRequestSpec(
            reason=f"not a valid JSON document ({_short(err)})"
        ) from None
    if type(document) is not dict:
        raise exception.InvalidRequestSpec(
            reason=f"expected a JSON object, got {_kind(document)}"
        )
    if set(document) != {"spec", "version"}:
        raise exception.InvalidRequestSpec(
            reason="expected exactly the keys 'spec' and 'version', got "
            + fields.short_repr(sorted(document))
        )
    version, body = document["version"], document["spec"]
    if type(body) is not dict:
        raise exception.InvalidRequestSpec(
            reason=f"spec: expected an object, got {_kind(body)}"
        )
    if type(version) is not str:
        _parse_version(version)
    return version, body


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
    except _Invalid as err:
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
        text = _dumps({"spec": body, "version": version})
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
        raise _Invalid(
            f"expected a {cls.obj_name()} object, got {_kind(data)}"
        )
    allowed = names if names is not None else tuple(cls.fields)
    wrapped = {}
    for key, value in data.items():
        if key not in allowed:
            raise _Invalid(f"not a stored field of {cls.obj_name()}").at(
                str(key)
            )
        field = cls.fields[key]
        subset = stored_subset(cls, key)
        try:
            if value is not None and fields.is_object_field(field):
                value = _wrap(fields.object_class(field), value, subset)
            elif value is not None and fields.is_object_list_field(field):
                if type(value) is not list:
                    raise _Invalid(f"expected a list, got {_kind(value)}")
                child = fields.object_class(field)
                items = []
                for i, item in enumerate(value):
                    try:
                        items.append(_wrap(child, item, subset))
                    except _Invalid as err:
                        raise err.at(str(i)) from None
                value = items
        except _Invalid as err:
            raise err.at(key) from None
        wrapped[key] = value
    for name in required_fields(cls):
        if name in allowed and name not in data:
            raise _Invalid("required field is missing").at(name)
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
    except _Invalid as err:
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
