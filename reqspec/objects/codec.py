"""Per-class encoders and decoders of stored objects (the fast path).

The generic oslo.versionedobjects path (``obj_to_primitive`` then
unwrapping, or wrapping then ``obj_from_primitive``) costs hundreds of
microseconds for a full spec. A ``Codec`` precomputes, per object class, a
plan of (field, storage attribute, strict check or child codec) and reads
and writes the storage attributes directly. The checks are the very
functions the field types use, so both paths accept and reject the same
values; ``tests/objects/test_document_equivalence.py`` proves the two
produce identical documents and equal objects.

Values come out as plain JSON types (sets as sorted lists), except floats,
which come out as ``orjson.Fragment`` of Python's own ``repr``: the text
layer (``reqspec.objects.document``) writes them as the standard library
would, so both paths produce the same bytes.
"""

from collections.abc import Callable
import threading
from typing import Any

from oslo_versionedobjects import base as ovo_base

from reqspec.objects import base
from reqspec.objects import codec_compiler
from reqspec.objects import codec_fields
from reqspec.objects import fields
from reqspec.objects.codec_fields import Invalid
from reqspec.objects.codec_fields import kind
from reqspec.objects.codec_fields import required_fields
from reqspec.objects.codec_fields import stored_subset

__all__ = [
    "Codec",
    "Invalid",
    "codec_for",
    "kind",
    "required_fields",
    "stored_subset",
]


class Codec:
    """Encoder and decoder of one object class, built once per class.

    ``encode`` and ``decode`` run generated straight-line functions
    (``reqspec.objects.codec_compiler``); whatever those do not take, the
    interpreter below (``encode_checked``/``decode_checked``) decides,
    with an error message naming the path of the bad value.
    """

    def __init__(
        self, cls: type[ovo_base.VersionedObject], names: tuple[str, ...]
    ) -> None:
        self.cls = cls
        self.names = names
        self.required = tuple(n for n in required_fields(cls) if n in names)
        self._required_attrs = frozenset("_obj_" + n for n in self.required)
        # Storage attribute -> (field, dump, child codec, is a list,
        # nullable); only the fields this codec writes.
        self._plan: dict[str, tuple[str, Any, Any, bool, bool]] | None = None
        self._decoders: dict[str, tuple[str, Callable[[Any], Any]]] = {}
        self._fast_decode: Callable[[Any], Any] | None = None
        self._fast_encode: Callable[[Any], dict[str, Any]] | None = None
        self._being_compiled: set[str] = set()

    def _build(self) -> dict[str, tuple[str, Any, Any, bool, bool]]:
        # Built on first use: child classes must all be registered first.
        plan = {}
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
                check = codec_fields.value_check(field)
                dump = codec_fields.dumper(field, check)
            plan[attr] = (name, dump, child, many, field.nullable)
            self._decoders[name] = (attr, self._decoder(field, check, child))
        self._plan = plan
        return plan

    # -- the pieces of the plan, for the compiler ----------------------------

    def _entry(self, name: str) -> tuple[str, Any, Any, bool, bool]:
        plan = self._plan or self._build()
        return plan["_obj_" + name]

    def child(self, name: str) -> "Codec | None":
        """The codec of an object field's class; None for other fields."""
        child: Codec | None = self._entry(name)[2]
        return child

    def check(self, name: str) -> Callable[[Any], Any]:
        """The strict check of a scalar or container field."""
        self._entry(name)
        # A scalar or container field's loader is its check.
        return self._decoders[name][1]

    def dump(self, name: str) -> Callable[[Any], Any]:
        """What writes a scalar or container field's value into JSON."""
        dump: Callable[[Any], Any] = self._entry(name)[1]
        return dump

    def null_value(self, name: str) -> Callable[[], Any]:
        """What a null object field decodes to (or refusal)."""
        return codec_fields.none_handler(self.cls.fields[name])

    def fast_decoder(self) -> Callable[[Any], Any]:
        return self._compiled("_fast_decode", codec_compiler.compile_decoder)

    def fast_encoder(self) -> Callable[[Any], dict[str, Any]]:
        return self._compiled("_fast_encode", codec_compiler.compile_encoder)

    def _compiled(
        self, attr: str, compile_: Callable[["Codec"], Any]
    ) -> Callable[[Any], Any]:
        function: Callable[[Any], Any] | None = getattr(self, attr)
        if function is not None:
            return function
        # One compile per codec, whichever thread gets there first; the
        # others wait for it rather than see a half-built codec.
        with _compiling:
            function = getattr(self, attr)
            if function is not None:
                return function
            if attr in self._being_compiled:
                # A class nesting itself, reached from its own compile:
                # hand out a stand-in that leaves input to the interpreter
                # until the real function is published.
                return lambda value: (getattr(self, attr) or _not_ready)(value)
            self._being_compiled.add(attr)
            try:
                function = compile_(self)
            finally:
                self._being_compiled.discard(attr)
            # Published only once it exists: a compile that failed is
            # tried again by the next call.
            setattr(self, attr, function)
            return function

    # -- the interpreter -------------------------------------------------

    def _decoder(
        self, field: Any, check: Any, child: "Codec | None"
    ) -> Callable[[Any], Any]:
        if child is None:
            return check
        if_none = codec_fields.none_handler(field)
        if fields.is_object_list_field(field):

            def load_list(value: Any) -> Any:
                if value is None:
                    return if_none()
                if type(value) is not list:
                    raise Invalid(f"expected a list, got {kind(value)}")
                out = []
                for i, item in enumerate(value):
                    try:
                        out.append(child.decode(item))
                    except Invalid as err:
                        raise err.at(str(i)) from None
                return out

            return load_list

        def load_object(value: Any) -> Any:
            if value is None:
                return if_none()
            return child.decode(value)

        return load_object

    def encode(self, obj: ovo_base.VersionedObject) -> dict[str, Any]:
        """The plain JSON object of ``obj``'s stored fields; ``Invalid``
        naming the bad value's path if one cannot be stored."""
        try:
            return (self._fast_encode or self.fast_encoder())(obj)
        except _NOT_TAKEN:
            return self.encode_checked(obj)

    def decode(self, data: Any) -> ovo_base.VersionedObject:
        """A new object from its plain JSON object, with no changes
        recorded; ``Invalid`` naming the bad value's path."""
        try:
            return (self._fast_decode or self.fast_decoder())(data)
        except _NOT_TAKEN:
            return self.decode_checked(data)

    def encode_checked(self, obj: ovo_base.VersionedObject) -> dict[str, Any]:
        if type(obj) is not self.cls:
            raise Invalid(f"expected a {self.cls.obj_name()}, got {kind(obj)}")
        plan = self._plan or self._build()
        values = obj.__dict__
        out: dict[str, Any] = {}
        # Values filled in by reading an unset field count as unset.
        filled = values.get(base.FILLED_ON_READ) or ()
        # Walk what is set rather than every field: most objects are sparse
        # (an image sets a score of its many properties). Key order does not
        # matter, the text layer sorts.
        for attr, value in values.items():
            entry = plan.get(attr)
            if entry is None:
                continue
            name, dump, child, many, nullable = entry
            if name in filled and obj.obj_is_filled_on_read(name):  # type: ignore[attr-defined]
                continue
            try:
                if child is None:
                    out[name] = dump(value)
                elif value is None:
                    if not nullable:
                        raise Invalid("must not be null")
                    out[name] = None
                elif many:
                    out[name] = [
                        _encode_item(child, i, v) for i, v in enumerate(value)
                    ]
                else:
                    out[name] = child.encode(value)
            except Invalid as err:
                raise err.at(name) from None
            except (ValueError, TypeError) as err:
                raise Invalid(str(err)).at(name) from None
        # Whatever decode() would refuse must not be written in the first
        # place: a spec missing its flavor would be stored and then be
        # unreadable.
        for name in self.required:
            if name not in out:
                raise Invalid("required field is missing").at(name)
        return out

    def decode_checked(self, data: Any) -> ovo_base.VersionedObject:
        if type(data) is not dict:
            raise Invalid(
                f"expected a {self.cls.obj_name()} object, got {kind(data)}"
            )
        if self._plan is None:
            self._build()
        obj = self.cls()
        values = obj.__dict__
        decoders = self._decoders
        for key, raw in data.items():
            entry = decoders.get(key)
            if entry is None:
                raise Invalid(
                    f"not a stored field of {self.cls.obj_name()}"
                ).at(str(key))
            attr, load = entry
            try:
                values[attr] = load(raw)
            except Invalid as err:
                raise err.at(key) from None
            except (ValueError, TypeError) as err:
                raise Invalid(str(err)).at(key) from None
        if not values.keys() >= self._required_attrs:
            for name in self.required:
                if "_obj_" + name not in values:
                    raise Invalid("required field is missing").at(name)
        return obj


def _encode_item(child: "Codec", index: int, value: Any) -> dict[str, Any]:
    # The list index belongs in the path: "security_groups.1.name".
    try:
        return child.encode(value)
    except Invalid as err:
        raise err.at(str(index)) from None


#: What the generated functions raise for input they leave to the
#: interpreter: their own refusal, or a field check's error.
_NOT_TAKEN = (codec_compiler.Refused, Invalid, ValueError, TypeError)

# Re-entrant: compiling a codec compiles its children's first.
_compiling = threading.RLock()


def _not_ready(value: Any) -> Any:
    raise codec_compiler.Refused


_codecs: dict[tuple[str, tuple[str, ...] | None], Codec] = {}


def codec_for(
    cls: type[ovo_base.VersionedObject], names: tuple[str, ...] | None = None
) -> Codec:
    """The codec of ``cls`` writing ``names`` (default: every field)."""
    key = (cls.obj_name(), names)
    codec = _codecs.get(key)
    if codec is None:
        codec = _codecs[key] = Codec(cls, names or tuple(cls.fields))
    return codec
