"""Straight-line encoders and decoders, generated once per object class.

A ``Codec`` (``reqspec.objects.codec``) interprets a per-class plan: for
every value it looks up the field, calls its check through a closure or
two and wraps the call in error handling. That is most of what loading a
spec costs once the JSON is parsed. This module turns the same plan into
the source of one function per class, as ``dataclasses`` and
``namedtuple`` do, where each field is a handful of inline lines:

* a field whose type declares an ``inline_test`` (strings, integers,
  booleans, enums) is tested in place, and only a value that fails the
  test goes to the field's own check; a list or dict of such values gets
  a generated loop testing each item in place (the check would only
  return an equal copy);
* nested objects call the generated function of their class directly;
* nothing builds error messages: any value the fast path does not accept
  raises, and ``Codec`` then runs its interpreter on the same input, which
  either accepts it or raises the precise, path-naming ``Invalid``.

The rule that keeps the two equivalent is one-sided: the generated code
accepts a value only when the field's check would return that very value
or an equal copy of it (or it calls the check itself). Whatever it
refuses, the interpreter decides. ``tests/objects/test_codec_compiler.py``
holds both to the same results.
"""

import ast
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


def _inline_test(
    field: Any, env: dict[str, Any], i: int, helpers: list[str]
) -> str | None:
    """The in-place test of a field's values, if its type has one: the
    type's own expression, or for a list or dict of such values a
    generated function looping over them (``ok<i>``, its source added to
    ``helpers``)."""
    field_type = field._type
    test: str | None = getattr(field_type, "inline_test", None)
    if test is not None:
        env.update(getattr(field_type, "inline_names", {}))
    elif isinstance(field_type, (fields.List, fields.Dict)):
        lines = [f"def ok{i}(v):"]
        if not _container_lines(field_type, "v", 1, lines, env):
            return None
        lines.append("    return True")
        helpers += lines
        test = f"ok{i}(v)"
    else:
        return None
    # A null on a nullable field is kept as it is; elsewhere it takes the
    # default or is refused, which the check decides.
    return f"v is None or {test}" if field.nullable else test


def _container_lines(
    field_type: Any,
    var: str,
    depth: int,
    lines: list[str],
    env: dict[str, Any],
) -> bool:
    """Statements returning False unless ``var`` is a value the type's
    check returns an equal copy of (a list for a list, a dict with string
    keys for a dict, every item passing its own test); False if some
    element type has no in-place test."""
    pad = "    " * depth
    item = f"x{depth}"
    if isinstance(field_type, fields.List):
        lines.append(f"{pad}if type({var}) is not list: return False")
        lines.append(f"{pad}for {item} in {var}:")
    elif isinstance(field_type, fields.Dict):
        key = f"k{depth}"
        lines.append(f"{pad}if type({var}) is not dict: return False")
        lines.append(f"{pad}for {key}, {item} in {var}.items():")
        lines.append(
            f"{pad}    if not (type({key}) is str and {key}.isascii()): "
            "return False"
        )
    else:
        test: str | None = getattr(field_type, "inline_test", None)
        if test is None:
            return False
        env.update(getattr(field_type, "inline_names", {}))
        lines.append(f"{pad}if not ({_renamed(test, var)}): return False")
        return True
    return _container_lines(field_type.element, item, depth + 1, lines, env)


def _renamed(test: str, var: str) -> str:
    # Inline tests are written over "v"; rename that name, not the text.
    tree = ast.parse(test, mode="eval")
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "v":
            node.id = var
    return ast.unparse(tree)


def _through(
    function: str,
    field: Any,
    env: dict[str, Any],
    i: int,
    helpers: list[str],
) -> list[str]:
    """Lines passing ``v`` through ``function``, unless the field's inline
    test shows it would come back unchanged (or an equal copy)."""
    test = _inline_test(field, env, i, helpers)
    if test is None:
        return [f"        v = {function}(v)"]
    return [f"        if not ({test}):", f"            v = {function}(v)"]


def _refused_unless_present(required: bool) -> list[str]:
    # The else branch of "if <name> in data:".
    return ["    else:", "        raise Refused"] if required else []


def _constructs_plainly(cls: type[ovo_base.VersionedObject]) -> bool:
    # Skipping __init__ is only right while it is oslo's, which sets just
    # the change set and the context, and the class has defaults for both.
    return cls.__init__ is ovo_base.VersionedObject.__init__ and issubclass(
        cls, base.ReqspecObject
    )


def compile_decoder(codec: Plan) -> Callable[[Any], Any]:
    """A function from a document's plain JSON object to a new object of
    ``codec.cls`` with no changes recorded, or ``Refused``.

    Stored documents have their keys sorted, so the function first walks
    the object's items in that order, next to the fields in sorted order:
    each field costs one string comparison, where a lookup in the parsed
    dict costs two hash-table probes with full string comparisons (orjson's
    dicts are of the general kind, and its key strings are not ours). An
    object whose keys come in another order (a hand-edited document, an
    older one upgraded) is decoded again by looking each field up.
    """
    cls = codec.cls
    env: dict[str, Any] = {
        "Refused": Refused,
        "cls": cls,
        "new": object.__new__,
        "END": (_END, None),
        "_END": _END,
    }
    if _constructs_plainly(cls):
        # The class supplies an empty change set and no context.
        construct = ["    obj = new(cls)", "    values = obj.__dict__"]
    else:
        construct = ["    obj = cls()", "    values = obj.__dict__"]
    bodies: dict[str, list[str]] = {}
    helpers: list[str] = []
    for i, name in enumerate(codec.names):
        bodies[name] = _decode_lines(codec, name, i, env, helpers)
    in_order: list[str] = [
        "    items = iter(data.items())",
        "    k, v = next(items, END)",
    ]
    for name in sorted(codec.names):
        in_order.append(f"    if k == {name!r}:")
        in_order += bodies[name]
        in_order.append("        k, v = next(items, END)")
        if name in codec.required:
            in_order += ["    else:", "        return by_lookup(data)"]
    by_lookup: list[str] = []
    for name in codec.names:
        # A membership test then an index: cheaper than a get() call
        # for the many fields a document leaves out.
        by_lookup.append(f"    if {name!r} in data:")
        by_lookup.append(f"        v = data[{name!r}]")
        by_lookup += bodies[name]
        by_lookup.append("        found += 1")
        by_lookup += _refused_unless_present(name in codec.required)
    source = "\n".join(
        [
            *helpers,
            "def decode(data):",
            "    if type(data) is not dict:",
            "        raise Refused",
            *construct,
            *in_order,
            # A key left over is out of order, or not a stored field.
            "    if k is not _END:",
            "        return by_lookup(data)",
            "    return obj",
            "def by_lookup(data):",
            *construct,
            "    found = 0",
            *by_lookup,
            # Any key left over is not a stored field.
            "    if found != len(data):",
            "        raise Refused",
            "    return obj",
        ]
    )
    return _define(source, "decode", env, cls)


def _decode_lines(
    codec: Plan, name: str, i: int, env: dict[str, Any], helpers: list[str]
) -> list[str]:
    """Lines taking ``v``, the document's value of field ``name``, to
    its stored value in ``values``."""
    field = codec.cls.fields[name]
    child = codec.child(name)
    lines: list[str] = []
    if child is None:
        env[f"check{i}"] = codec.check(name)
        lines += _through(f"check{i}", field, env, i, helpers)
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
    return lines


#: What the in-order walk reads once an object's items run out.
_END = object()


def compile_encoder(codec: Plan) -> Callable[[Any], dict[str, Any]]:
    """A function from an object of ``codec.cls`` to the plain JSON object
    of its stored fields (floats as orjson fragments), or ``Refused``."""
    cls = codec.cls
    env: dict[str, Any] = {"Refused": Refused, "cls": cls}
    lines: list[str] = []
    helpers: list[str] = []
    for i, name in enumerate(codec.names):
        field = cls.fields[name]
        child = codec.child(name)
        lines.append(f"    if '_obj_{name}' in values:")
        lines.append(f"        v = values['_obj_{name}']")
        if child is None:
            env[f"dump{i}"] = codec.dump(name)
            lines += _through(f"dump{i}", field, env, i, helpers)
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
            *helpers,
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
