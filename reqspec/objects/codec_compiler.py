"""Straight-line encoders and decoders, generated once per object class.

A ``Codec`` (``reqspec.objects.codec``) interprets a per-class plan: for
every value it looks up the field, calls its check through a closure or
two and wraps the call in error handling. That is most of what loading a
spec costs once the JSON is parsed. This module turns the same plan into
the source of one function per class, as ``dataclasses`` and
``namedtuple`` do, where each field is a handful of inline lines:

* a field whose type declares an ``inline_test`` (strings, integers,
  booleans, enums) is tested in place, and only a value that fails the
  test goes to the field's own check;
* nested objects call the generated function of their class directly;
* nothing builds error messages: any value the fast path does not accept
  raises, and ``Codec`` then runs its interpreter on the same input, which
  either accepts it or raises the precise, path-naming ``Invalid``.

The rule that keeps the two equivalent is one-sided: the generated code
accepts a value only when the field's check would return that very value
(or it calls the check itself). Whatever it refuses, the interpreter
decides. ``tests/objects/test_codec_compiler.py`` holds both to the same
results.
"""

from collections.abc import Callable
import linecache
from typing import Any
from typing import Protocol

from oslo_versionedobjects import base as ovo_base

from reqspec.objects import base
from reqspec.objects import fields


class Plan(Protocol):
    """What the compiler reads of a codec (``reqspec.objects.codec.Codec``
    is one): the class, the fields it stores, and per field its check,
    dumper or child plan. A protocol, so that this module needs nothing
    from the codec's and the dependency points one way."""

    cls: type[ovo_base.VersionedObject]
    names: tuple[str, ...]
    required: tuple[str, ...]

    def child(self, name: str) -> "Plan | None": ...
    def check(self, name: str) -> Callable[[Any], Any]: ...
    def dump(self, name: str) -> Callable[[Any], Any]: ...
    def null_value(self, name: str) -> Callable[[], Any]: ...
    def fast_decoder(self) -> Callable[[Any], Any]: ...
    def fast_encoder(self) -> Callable[[Any], dict[str, Any]]: ...


class Refused(Exception):
    """The fast path does not take this input; the interpreter decides."""


_MISSING = object()


def _inline_test(field: Any) -> str | None:
    """The in-place test of a field's values, if its type has one."""
    test: str | None = getattr(field._type, "inline_test", None)
    if test is None:
        return None
    # A null on a nullable field is kept as it is; elsewhere it takes the
    # default or is refused, which the check decides.
    return f"v is None or {test}" if field.nullable else test


def _through(function: str, field: Any) -> list[str]:
    """Lines passing ``v`` through ``function``, unless the field's inline
    test shows it would come back unchanged."""
    test = _inline_test(field)
    if test is None:
        return [f"        v = {function}(v)"]
    return [f"        if not ({test}):", f"            v = {function}(v)"]


def _refused_unless_present(required: bool) -> list[str]:
    # The else branch of "if v is not M:".
    return ["    else:", "        raise Refused"] if required else []


def _constructs_plainly(cls: type[ovo_base.VersionedObject]) -> bool:
    # Skipping __init__ is only right while it is oslo's, which sets
    # exactly the two attributes the generated code sets.
    return cls.__init__ is ovo_base.VersionedObject.__init__


def compile_decoder(codec: Plan) -> Callable[[Any], Any]:
    """A function from a document's plain JSON object to a new object of
    ``codec.cls`` with no changes recorded, or ``Refused``."""
    cls = codec.cls
    env: dict[str, Any] = {
        "Refused": Refused,
        "M": _MISSING,
        "cls": cls,
        "new": object.__new__,
    }
    if _constructs_plainly(cls):
        construct = [
            "    obj = new(cls)",
            "    values = obj.__dict__",
            "    values['_changed_fields'] = set()",
            "    values['_context'] = None",
        ]
    else:
        construct = ["    obj = cls()", "    values = obj.__dict__"]
    lines: list[str] = []
    for i, name in enumerate(codec.names):
        field = cls.fields[name]
        child = codec.child(name)
        lines.append(f"    v = data.get({name!r}, M)")
        lines.append("    if v is not M:")
        if child is None:
            env[f"check{i}"] = codec.check(name)
            lines += _through(f"check{i}", field)
        else:
            env[f"child{i}"] = child.fast_decoder()
            env[f"null{i}"] = codec.null_value(name)
            lines.append("        if v is None:")
            lines.append(f"            v = null{i}()")
            if fields.is_object_list_field(field):
                lines.append("        elif type(v) is list:")
                lines.append(f"            v = [child{i}(x) for x in v]")
                lines.append("        else:")
                lines.append("            raise Refused")
            else:
                lines.append("        else:")
                lines.append(f"            v = child{i}(v)")
        lines.append(f"        values['_obj_{name}'] = v")
        lines.append("        found += 1")
        lines += _refused_unless_present(name in codec.required)
    source = "\n".join(
        [
            "def decode(data):",
            "    if type(data) is not dict:",
            "        raise Refused",
            *construct,
            "    found = 0",
            *lines,
            # Any key left over is not a stored field.
            "    if found != len(data):",
            "        raise Refused",
            "    return obj",
        ]
    )
    return _define(source, "decode", env, cls)


def compile_encoder(codec: Plan) -> Callable[[Any], dict[str, Any]]:
    """A function from an object of ``codec.cls`` to the plain JSON object
    of its stored fields (floats as orjson fragments), or ``Refused``."""
    cls = codec.cls
    env: dict[str, Any] = {"Refused": Refused, "M": _MISSING, "cls": cls}
    lines: list[str] = []
    for i, name in enumerate(codec.names):
        field = cls.fields[name]
        child = codec.child(name)
        lines.append(f"    v = values.get('_obj_{name}', M)")
        lines.append("    if v is not M:")
        if child is None:
            env[f"dump{i}"] = codec.dump(name)
            lines += _through(f"dump{i}", field)
        else:
            env[f"child{i}"] = child.fast_encoder()
            lines.append("        if v is not None:")
            if fields.is_object_list_field(field):
                lines.append(f"            v = [child{i}(x) for x in v]")
            else:
                lines.append(f"            v = child{i}(v)")
            if not field.nullable:
                lines.append("        else:")
                lines.append("            raise Refused")
        lines.append(f"        out[{name!r}] = v")
        lines += _refused_unless_present(name in codec.required)
    source = "\n".join(
        [
            "def encode(obj):",
            "    if type(obj) is not cls:",
            "        raise Refused",
            "    values = obj.__dict__",
            # Fields filled in on read count as unset: the interpreter
            # sorts them out.
            f"    if {base.FILLED_ON_READ!r} in values:",
            "        raise Refused",
            "    out = {}",
            *lines,
            "    return out",
        ]
    )
    return _define(source, "encode", env, cls)


def _define(
    source: str, name: str, env: dict[str, Any], cls: type
) -> Callable[..., Any]:
    filename = (
        f"<reqspec generated {name} of {cls.__module__}.{cls.__qualname__}>"
    )
    # Without this, a traceback through the function shows its line
    # numbers but no lines. No mtime: checkcache() keeps the entry.
    linecache.cache[filename] = (
        len(source),
        None,
        source.splitlines(keepends=True),
        filename,
    )
    exec(compile(source, filename, "exec"), env)
    function: Callable[..., Any] = env[name]
    function.__qualname__ = f"{cls.__name__}.{name}"
    # Kept for tracebacks and for reading what was generated.
    function.source = source  # type: ignore[attr-defined]
    return function
