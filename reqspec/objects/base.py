"""The registry and base class of every reqspec versioned object.

reqspec objects use their own namespaces: ``reqspec`` as the project
namespace and ``reqspec_object`` as the serial prefix of RPC primitives.
Nova's stored rows carry ``nova_object.*`` keys; reading them is a
translation (``reqspec-manage import-nova``), not a reason to pretend to be
Nova's objects.

oslo.versionedobjects keeps one process-wide registry keyed by object name,
so a process that imports both Nova's objects and these sees both under
names like ``Flavor``; keep them in separate processes.
"""

from typing import Any
from typing import ClassVar

from oslo_versionedobjects import base as ovo_base
from oslo_versionedobjects import fields as ovo_fields

from reqspec import exception

#: Instance attribute: names of the fields obj_load_attr filled in.
FILLED_ON_READ = "_filled_on_read"

_UNSET = object()


class ReqspecObjectRegistry(ovo_base.VersionedObjectRegistry):
    """Registers reqspec objects; the decorator every object class uses."""


class _ChangesOnFirstUse:
    """The change set of an object that has not needed one yet.

    oslo.versionedobjects gives every object its own ``set()`` of changed
    fields. A loaded spec is about seven objects, most of which never
    change: seven sets, each a container the cyclic garbage collector
    walks and that make their object's ``__dict__`` tracked too, about a
    quarter of what a bulk read leaves for it. A non-data descriptor: once
    an object has its set (made here, on first use, or assigned by oslo),
    the instance attribute is found first and this is never called.
    """

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        changed: set[str] = set()
        obj.__dict__["_changed_fields"] = changed
        return changed


class ReqspecObject(ovo_base.VersionedObject):
    """Base class of reqspec objects.

    Equality compares what every field reads as (recursively), not change
    tracking, versions or whether a field was set: two specs holding the
    same data are equal however they were built, and an unset field equals
    its default.
    """

    OBJ_SERIAL_NAMESPACE = "reqspec_object"
    OBJ_PROJECT_NAMESPACE = "reqspec"

    #: Fields a stored object must carry; None means "every field that is
    #: neither nullable nor defaulted" (see ``codec_fields.required_fields``).
    REQUIRED_FIELDS: ClassVar[tuple[str, ...] | None] = None

    # Defaults for what oslo's __init__ sets on each object, so that the
    # generated decoders (``codec_compiler``) need set neither.
    _changed_fields = _ChangesOnFirstUse()
    _context: Any = None

    def obj_load_attr(self, attrname: str) -> None:
        """An unset field reads as its default (None when it is nullable
        and has none), or is an error.

        Never a database access: loaded objects are complete, and what a
        stored document leaves out means the default.

        oslo.versionedobjects wants the value stored on the object (so a
        mutable default can be changed in place), which would make the
        field look set. It is recorded as filled on read instead: while it
        still holds that value it is not set (``obj_attr_is_set``), and
        stays out of documents, RPC primitives and copies, so reading a
        spec never changes what saving it writes.
        """
        field = self.fields[attrname]
        if field.default is not ovo_fields.UnspecifiedDefault:
            self.obj_set_defaults(attrname)
        elif field.nullable:
            setattr(self, attrname, None)
        else:
            raise exception.ObjectActionError(
                action=f"read {self.obj_name()}.{attrname}",
                reason="the field is not set",
            )
        # A default filled in on read is not a change to save.
        self._changed_fields.discard(attrname)
        self.__dict__.setdefault(FILLED_ON_READ, set()).add(attrname)

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        # Any assignment to a field's storage, after obj_load_attr's own,
        # makes the field set, whatever the value.
        if name[:5] == "_obj_":
            filled = self.__dict__.get(FILLED_ON_READ)
            if filled:
                filled.discard(name[5:])

    def obj_attr_is_set(self, attrname: str) -> bool:
        """As oslo's, except that a field holding what a read filled in is
        not set: RPC primitives and copies leave it out, as documents do."""
        return super().obj_attr_is_set(
            attrname
        ) and not self.obj_is_filled_on_read(attrname)

    def obj_is_filled_on_read(self, name: str) -> bool:
        """Whether ``name`` holds exactly what reading it unset filled in
        (it then counts as unset)."""
        filled = self.__dict__.get(FILLED_ON_READ)
        if not filled or name not in filled:
            return False
        field = self.fields[name]
        fill = (
            None
            if field.default is ovo_fields.UnspecifiedDefault
            else field.default
        )
        value = self.__dict__.get("_obj_" + name, _UNSET)
        return value is not _UNSET and value == fill

    def obj_reset_changes(
        self, fields: Any = None, recursive: bool = False
    ) -> None:
        """As oslo.versionedobjects', with a cheaper recursive reset.

        oslo's recursive reset first asks the object what changed, which
        probes every field of every nested object: about a hundred
        attribute checks for one spec, more than the spec takes to load.
        Clearing every nested object's change set gives the same result.
        """
        if fields is not None or not recursive:
            super().obj_reset_changes(fields, recursive)
            return
        _forget_changes(self)

    def _field_values(self) -> dict[str, Any]:
        """The fields that are set (not merely filled in by a read)."""
        # Read the storage attributes directly: going through the properties
        # would trigger obj_load_attr() for unset fields.
        values = self.__dict__
        return {
            name: values["_obj_" + name]
            for name in self.fields
            if self.obj_attr_is_set(name)
        }

    def _effective_values(self) -> dict[str, Any]:
        """Every field's value as a read would see it: an unset field as
        its default, or None if it is nullable; other unset fields are
        left out."""
        values = self.__dict__
        effective = {}
        for name, field in self.fields.items():
            attr = "_obj_" + name
            if attr in values:
                effective[name] = values[attr]
            elif field.default is not ovo_fields.UnspecifiedDefault:
                effective[name] = field.default
            elif field.nullable:
                effective[name] = None
        return effective

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ReqspecObject):
            return NotImplemented
        return (
            self.obj_name() == other.obj_name()
            and self._effective_values() == other._effective_values()
        )

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={value!r}"
            for name, value in sorted(self._field_values().items())
        )
        return f"{self.obj_name()}({shown})"


def _forget_changes(obj: ovo_base.VersionedObject) -> None:
    values = obj.__dict__
    changed = values.get("_changed_fields")
    if changed:
        changed.clear()
    for attr in _object_attributes(type(obj)):
        value = values.get(attr)
        if isinstance(value, list):
            for item in value:
                _forget_changes(item)
        elif value is not None:
            _forget_changes(value)


_object_attrs: dict[type, tuple[str, ...]] = {}


def _object_attributes(cls: type[ovo_base.VersionedObject]) -> tuple[str, ...]:
    """Storage attributes of the fields of ``cls`` that hold objects."""
    attrs = _object_attrs.get(cls)
    if attrs is None:
        attrs = _object_attrs[cls] = tuple(
            "_obj_" + name
            for name, field in cls.fields.items()
            if isinstance(
                field, (ovo_fields.ObjectField, ovo_fields.ListOfObjectsField)
            )
        )
    return attrs


def remove_fields(primitive: dict[str, Any], *names: str) -> None:
    """Drop fields an older reader does not know from an RPC primitive."""
    for name in names:
        primitive.pop(name, None)
