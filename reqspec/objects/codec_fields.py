"""What the document codecs need to know of fields and object classes.

Which fields a stored object must carry, which nested fields are stored,
the strict check of each scalar or container field (null included), how
a value is written into JSON, and how a value is named in an error
message. Shared by the interpreter (``reqspec.objects.codec``) and the
compiler (``reqspec.objects.codec_compiler``), so both decide alike.
"""

from collections.abc import Callable
from typing import Any

import orjson
from oslo_versionedobjects import base as ovo_base
from oslo_versionedobjects import fields as ovo_fields

from reqspec import exception
from reqspec.objects import fields


class Invalid(Exception):
    """A bad value, with the path to it built up while unwinding."""

    def __init__(self, reason: str, path: list[str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path or []

    def at(self, key: str) -> "Invalid":
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


def value_check(field: ovo_fields.Field[Any]) -> fields.Check:
    """The strict check of a scalar or container field, None included.

    None is kept on a nullable field and refused on any other, even one
    with a default: ``Field.coerce`` would quietly put the default in, but
    the encoder never writes null there, so a stored null is damage.
    Object fields have no check here: the codec recurses into them.
    """
    field_type = field._type
    if not isinstance(field_type, fields.StrictType):
        raise TypeError(f"{field!r} is not a reqspec strict field")
    check = field_type.check
    if field.nullable:
        if check is fields.String.check:
            # The commonest field of all, checked without a second call.
            def nullable_str(value: Any) -> Any:
                if type(value) is str and value.isascii():
                    return value
                return None if value is None else check(value)

            return nullable_str

        def nullable(value: Any) -> Any:
            return None if value is None else check(value)

        return nullable
    return check


def none_handler(field: Any) -> Callable[[], Any]:
    """What a null object field decodes to: None if nullable, else an
    error, default or not (see ``value_check``)."""
    if field.nullable:
        return lambda: None

    def refuse() -> Any:
        raise Invalid("must not be null")

    return refuse


def dumper(field: Any, check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    field_type = field._type
    if isinstance(field_type, fields.Set):

        def dump_set(value: Any) -> Any:
            checked = check(value)
            return None if checked is None else sorted(checked)

        return dump_set
    if isinstance(field_type, fields.NonNegativeFloat):

        def dump_float(value: Any) -> Any:
            # orjson's shortest form is not Python's ("1e-7" for "1e-07");
            # write Python's, which is what the generic path writes.
            checked = check(value)
            return None if checked is None else orjson.Fragment(repr(checked))

        return dump_float
    return check


def kind(value: Any) -> str:
    if isinstance(value, ovo_base.VersionedObject):
        return value.obj_name()
    names: dict[type, str] = {
        dict: "an object",
        list: "a list",
        str: "a string",
    }
    return names.get(type(value), type(value).__name__)
