"""Field types for reqspec objects: strict, so bad data fails loudly.

oslo.versionedobjects' own field types coerce generously ("4" becomes 4,
an int becomes a string, a malformed UUID only warns). That is friendly for
RPC but wrong at a storage boundary: a hand-edited document must be
rejected, not quietly reinterpreted. The types here accept exactly one
Python shape per field and raise ``ValueError`` otherwise.

Each type also exposes ``check``: a plain function equal to ``coerce`` with
the object and attribute arguments removed. The document codec composes
these into per-class loaders, so the fast path and the generic
oslo.versionedobjects path run the very same checks.

Containers come back as plain ``list``/``dict``/``set`` rather than ovo's
self-coercing ``CoercedList`` and friends; in-place mutation is therefore
not checked on assignment, which is why the codec checks every value again
when it writes a document.
"""

from collections.abc import Callable
import ipaddress
import math
import re
import reprlib
from typing import Any
from typing import ClassVar
from typing import Generic
from typing import NoReturn
from typing import TypeVar

from oslo_versionedobjects import base as ovo_base
from oslo_versionedobjects import fields as ovo_fields

# Re-exported so object modules import every field type from one place.
ObjectField = ovo_fields.ObjectField
ListOfObjectsField = ovo_fields.ListOfObjectsField
UnspecifiedDefault = ovo_fields.UnspecifiedDefault

T = TypeVar("T")
Check = Callable[[Any], Any]


# Bad values are quoted in error messages, which end up in logs: a few
# levels and items of them say what is wrong; a hand-edited megabyte
# would only bury it.
_short = reprlib.Repr()
_short.maxlevel = 3
_short.maxstring = _short.maxother = _short.maxlong = 60
_short.maxlist = _short.maxtuple = _short.maxdict = _short.maxset = 4


def short_repr(value: Any) -> str:
    """A bounded ``repr`` of ``value`` for error messages."""
    try:
        return _short.repr(value)
    except ValueError:  # an int past Python's digit limit
        return f"<{type(value).__name__} too large to show>"


def _fail(what: str, value: Any) -> NoReturn:
    if value is None:
        # The same words as the codec's own (codec_fields.none_handler).
        raise ValueError("must not be null")
    raise ValueError(
        f"expected {what}, got {type(value).__name__} {short_repr(value)}"
    )


class StrictType(ovo_fields.FieldType[T], Generic[T]):
    """A field type whose whole behaviour is a single ``check`` function."""

    #: Converts a valid JSON value into the Python value (identity for most).
    check: Check

    #: A Python expression over ``v`` that is true only for values
    #: ``check`` returns unchanged: the generated codecs test it in place
    #: and call ``check`` only when it is false.
    inline_test: str | None = None
    #: Names ``inline_test`` uses beyond builtins, with their values.
    inline_names: ClassVar[dict[str, Any]] = {}

    def coerce(self, obj: Any, attr: str, value: Any) -> T:
        return self.check(value)

    def from_primitive(self, obj: Any, attr: str, value: object) -> T:
        return self.check(value)

    def __repr__(self) -> str:
        return type(self).__name__


def _is_unicode(text: str) -> bool:
    # A lone surrogate is not text: no database column takes it, and JSON
    # round trips can pair two of them into another character entirely.
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_str(value: Any) -> str:
    if type(value) is str:
        # isascii() first: the common case in one cheap call.
        if value.isascii() or _is_unicode(value):
            return value
        return _fail("a string of valid Unicode (no lone surrogates)", value)
    return _fail("a string", value)


def _check_int(value: Any) -> int:
    # bool is an int subclass; a boolean where a count is expected is a bug.
    return value if type(value) is int else _fail("an integer", value)


def _check_non_negative_int(value: Any) -> int:
    if type(value) is int and value >= 0:
        return value
    return _fail("a non-negative integer", value)


def _check_non_negative_float(value: Any) -> float:
    if type(value) in (int, float) and math.isfinite(value) and value >= 0:
        return float(value)
    return _fail("a finite non-negative number", value)


def _check_bool(value: Any) -> bool:
    return value if type(value) is bool else _fail("a boolean", value)


# Matched with fullmatch: a "$" would also match before a final newline,
# and a uuid with one stored a second row for the same instance.
_UUID_RE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


#: Already canonical: what check_uuid returns unchanged.
_CANONICAL_UUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
).fullmatch


def check_uuid(value: Any) -> str:
    """Return the canonical (lower-case, dashed) form of a UUID string.

    Exactly 8-4-4-4-12 hex digits, in either case, and nothing around
    them; the other spellings ``uuidutils.is_uuid_like`` accepts (no
    dashes, braces, ``urn:uuid:``) are refused, so every stored key has
    one form."""
    if type(value) is str and _UUID_RE.fullmatch(value):
        return value.lower()
    return _fail("a UUID of the form 8-4-4-4-12 hex digits", value)


def _check_ip(value: Any) -> str:
    if type(value) is str:
        try:
            return ipaddress.ip_address(value).compressed
        except ValueError:
            pass
    return _fail("an IPv4 or IPv6 address", value)


class String(StrictType[str]):
    check = staticmethod(_check_str)
    inline_test = "type(v) is str and v.isascii()"


class Integer(StrictType[int]):
    check = staticmethod(_check_int)
    inline_test = "type(v) is int"


class NonNegativeInteger(StrictType[int]):
    check = staticmethod(_check_non_negative_int)
    inline_test = "type(v) is int and v >= 0"


class NonNegativeFloat(StrictType[float]):
    check = staticmethod(_check_non_negative_float)


class Boolean(StrictType[bool]):
    check = staticmethod(_check_bool)
    inline_test = "type(v) is bool"


class UUID(StrictType[str]):
    check = staticmethod(check_uuid)
    inline_test = "type(v) is str and canonical_uuid(v) is not None"
    inline_names = {"canonical_uuid": _CANONICAL_UUID}


class IPAddress(StrictType[str]):
    check = staticmethod(_check_ip)


class Enum(StrictType[str]):
    def __init__(self, valid_values: tuple[str, ...]) -> None:
        super().__init__()
        self.valid_values = tuple(valid_values)
        valid = frozenset(valid_values)
        what = "one of " + ", ".join(sorted(valid))

        def check(value: Any) -> str:
            if type(value) is str and value in valid:
                return value
            return _fail(what, value)

        self.check = check
        # A set display of constants compiles to a frozenset constant.
        self.inline_test = "type(v) is str and v in {{{}}}".format(
            ", ".join(map(repr, sorted(valid)))
        )

    def __repr__(self) -> str:
        # Part of the object fingerprint: a changed value set is a change.
        return "Enum({})".format(",".join(self.valid_values))

    def stringify(self, value: str) -> str:
        return f"'{value}'"


def _container_repr(self: Any) -> str:
    return f"{type(self).__name__}({self.element!r})"


class List(StrictType[list[Any]]):
    def __init__(self, element: StrictType[Any]) -> None:
        super().__init__()
        self.element = element
        item = element.check

        def check(value: Any) -> list[Any]:
            if type(value) not in (list, tuple):
                return _fail("a list", value)
            return [item(v) for v in value]

        self.check = check

    __repr__ = _container_repr


class Set(StrictType[set[Any]]):
    """A set in Python, a sorted list in a document (for stable bytes)."""

    def __init__(self, element: StrictType[Any]) -> None:
        super().__init__()
        self.element = element
        item = element.check

        def check(value: Any) -> set[Any]:
            if type(value) not in (set, frozenset, list, tuple):
                return _fail("a set", value)
            return {item(v) for v in value}

        self.check = check

    __repr__ = _container_repr

    def to_primitive(self, obj: Any, attr: str, value: set[Any]) -> list[Any]:
        return sorted(value)


class Dict(StrictType[dict[str, Any]]):
    """A dict with string keys and values of one element type."""

    def __init__(self, element: StrictType[Any]) -> None:
        super().__init__()
        self.element = element
        item = element.check

        def check(value: Any) -> dict[str, Any]:
            if type(value) is not dict:
                return _fail("a mapping", value)
            out = {}
            for k, v in value.items():
                if type(k) is not str or not (k.isascii() or _is_unicode(k)):
                    _fail("string keys of valid Unicode", k)
                out[k] = item(v)
            return out

        self.check = check

    __repr__ = _container_repr


class _FingerprintRepr:
    """Field repr for object fingerprints: the whole type, not just its
    outer class (ovo's repr makes a list of strings and a list of integers
    look the same), with defaults rendered deterministically."""

    _type: Any
    _default: Any
    _nullable: bool

    def __repr__(self) -> str:
        default = self._default
        if isinstance(default, set):
            default = "set([{}])".format(",".join(sorted(map(str, default))))
        return f"{self._type!r}(default={default},nullable={self._nullable})"


class StringField(_FingerprintRepr, ovo_fields.AutoTypedField[str]):
    AUTO_TYPE = String()


class IntegerField(_FingerprintRepr, ovo_fields.AutoTypedField[int]):
    AUTO_TYPE = Integer()


class NonNegativeIntegerField(
    _FingerprintRepr, ovo_fields.AutoTypedField[int]
):
    AUTO_TYPE = NonNegativeInteger()


class NonNegativeFloatField(
    _FingerprintRepr, ovo_fields.AutoTypedField[float]
):
    AUTO_TYPE = NonNegativeFloat()


class BooleanField(_FingerprintRepr, ovo_fields.AutoTypedField[bool]):
    AUTO_TYPE = Boolean()


class UUIDField(_FingerprintRepr, ovo_fields.AutoTypedField[str]):
    AUTO_TYPE = UUID()


class IPAddressField(_FingerprintRepr, ovo_fields.AutoTypedField[str]):
    AUTO_TYPE = IPAddress()


class EnumField(_FingerprintRepr, ovo_fields.AutoTypedField[str]):
    def __init__(self, valid_values: tuple[str, ...], **kwargs: Any) -> None:
        self.AUTO_TYPE = Enum(valid_values)
        super().__init__(**kwargs)


class ListOfStringsField(
    _FingerprintRepr, ovo_fields.AutoTypedField[list[str]]
):
    AUTO_TYPE = List(String())


class ListOfUUIDField(_FingerprintRepr, ovo_fields.AutoTypedField[list[str]]):
    AUTO_TYPE = List(UUID())


class SetOfStringsField(_FingerprintRepr, ovo_fields.AutoTypedField[set[str]]):
    AUTO_TYPE = Set(String())


class SetOfIntegersField(
    _FingerprintRepr, ovo_fields.AutoTypedField[set[int]]
):
    AUTO_TYPE = Set(NonNegativeInteger())


class ListOfListsOfStringsField(
    _FingerprintRepr, ovo_fields.AutoTypedField[list[list[str]]]
):
    AUTO_TYPE = List(List(String()))


class DictOfStringsField(
    _FingerprintRepr, ovo_fields.AutoTypedField[dict[str, str]]
):
    AUTO_TYPE = Dict(String())


class DictOfIntegersField(
    _FingerprintRepr, ovo_fields.AutoTypedField[dict[str, int]]
):
    AUTO_TYPE = Dict(Integer())


class DictOfListOfStringsField(
    _FingerprintRepr, ovo_fields.AutoTypedField[dict[str, list[str]]]
):
    AUTO_TYPE = Dict(List(String()))


class ListOfDictOfStringsField(
    _FingerprintRepr, ovo_fields.AutoTypedField[list[dict[str, str]]]
):
    AUTO_TYPE = List(Dict(String()))


def is_object_field(field: ovo_fields.Field[Any]) -> bool:
    return isinstance(field, ovo_fields.ObjectField)


def is_object_list_field(field: ovo_fields.Field[Any]) -> bool:
    return isinstance(field, ovo_fields.ListOfObjectsField)


def object_class(
    field: ovo_fields.Field[Any],
) -> type[ovo_base.VersionedObject]:
    """The registered class an ObjectField or ListOfObjectsField holds."""
    name = field.objname  # type: ignore[attr-defined]
    return ovo_base.VersionedObjectRegistry.obj_classes()[name][0]
