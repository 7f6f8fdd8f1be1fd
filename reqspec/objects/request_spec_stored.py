"""How a RequestSpec is read: its stored document and its rows.

The third layer of ``RequestSpec`` (after ``request_spec_schema`` and
``request_spec_builder``): the document a spec was read from, the row it
matches, and every way of reading specs from the database the context
selects. Writing is the last layer, ``reqspec.objects.request_spec``,
which also configures ``FORMAT``.
"""

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
import contextlib
import gc
from typing import Any
from typing import ClassVar
from typing import Self
from typing import TYPE_CHECKING

from reqspec import exception
from reqspec.conf import settings as conf_settings
from reqspec.db import base as db_base
from reqspec.db import request_specs as db
from reqspec.objects import document
from reqspec.objects import fields
from reqspec.objects import project_scope
from reqspec.objects.request_spec_builder import RequestSpecBuilder

if TYPE_CHECKING:
    from reqspec.context import RequestContext


class StoredRequestSpec(RequestSpecBuilder):
    """A spec and the stored row it was read from (or last written to)."""

    #: The stored document: the persistent fields, at this class's
    #: version (set where the registered class is defined).
    FORMAT: ClassVar[document.DocumentFormat]

    # -- the document ------------------------------------------------------

    def to_document(self) -> str:
        """The canonical stored document (compact, deterministic JSON)."""
        return self.FORMAT.encode(
            self, max_bytes(getattr(self, "_context", None))
        )

    def stored_document(self) -> str:
        """The document exactly as last read from (or written to)
        storage, which a move copies as it is; the current encoding for a
        spec never stored."""
        stored: str | None = self.__dict__.get("_stored_document")
        return self.to_document() if stored is None else stored

    def document_version(self) -> str:
        """The version the document this spec was read from was written
        at (what ``stored_document()`` holds); the current version for a
        spec never stored, or one last written by this code."""
        version: str = self.__dict__.get("_document_version", self.VERSION)
        return version

    @classmethod
    def from_document(
        cls, context: "RequestContext | None", text: str | bytes
    ) -> Self:
        """Load a spec from a stored document; ``InvalidRequestSpec`` if
        the document is malformed, of an unknown version or too large."""
        spec, version = cls.FORMAT.load(text, max_bytes(context))
        spec.__dict__.update(_context=context, _document_version=version)
        return spec

    @classmethod
    def from_db_row(
        cls,
        context: "RequestContext",
        row: db.SpecRow,
        limit: int | None = None,
    ) -> Self:
        """The spec a stored row holds, checked against the row's columns;
        ``InvalidRequestSpec`` naming the row if it is damaged. ``limit``
        is ``max_bytes(context)``, for callers loading many rows."""
        if limit is None:
            limit = max_bytes(context)
        try:
            spec, version = cls.FORMAT.load(row.spec, limit)
        except exception.InvalidRequestSpec as err:
            raise _damaged(context, row, err.kwargs["reason"]) from None
        values = spec.__dict__
        # The columns are what lookups and project isolation filter on; a
        # document that disagrees with them was edited by hand.
        if values["_obj_instance_uuid"] != row.instance_uuid:
            raise exception.InvalidRequestSpec(
                reason=f"the row of instance {row.instance_uuid} holds the "
                f"document of instance {spec.instance_uuid}"
            )
        project_id = values.get("_obj_project_id", _UNSET)
        if project_id is _UNSET:
            project_id = spec.project_id
        if project_id != row.project_id:
            raise _damaged(
                context,
                row,
                "the document's project_id does not match the row's",
            )
        # The decoder fills storage attributes directly, so a loaded spec
        # has no changes to reset; row identity is not a change to save.
        values["_context"] = context
        values["_obj_id"] = row.id
        values["_obj_generation"] = row.generation
        values["_stored_document"] = row.spec
        values["_stored_columns"] = (
            row.project_id,
            row.instance_group_uuid,
            row.spec_version,
        )
        values["_document_version"] = version
        return spec

    def mark_stored(
        self,
        row_id: int,
        generation: int,
        stored: str,
        reset: bool = True,
        columns: tuple[str | None, str | None, str | None] | None = None,
    ) -> None:
        """Record the stored row this object now matches: its identity,
        generation and document (written by this code, at the current
        version), and (if known) its (project_id, instance_group_uuid,
        spec_version) columns, which a save leaves alone when they do not
        change."""
        # Row identity is not a change to save: write the storage attributes
        # directly instead of going through the tracked setters.
        self.__dict__.update(
            _obj_id=row_id,
            _obj_generation=generation,
            _stored_document=stored,
            _stored_columns=columns,
            _document_version=self.VERSION,
        )
        if reset:
            self.obj_reset_changes(recursive=True)

    def forget_row(self) -> None:
        """Back to a spec that was never stored (after a destroy, or when
        the transaction that created it was rolled back)."""
        self.__dict__.pop("_obj_id", None)
        self.__dict__.pop("_obj_generation", None)
        self.__dict__.pop("_stored_document", None)
        self.__dict__.pop("_stored_columns", None)
        self.__dict__.pop("_document_version", None)

    # -- reading -----------------------------------------------------------

    @classmethod
    def get_by_instance_uuid(
        cls, context: "RequestContext", instance_uuid: str
    ) -> Self:
        """The spec of one instance from the context's database.

        ``RequestSpecNotFound`` if there is none (or, for a non-admin
        context, if it belongs to another project).
        """
        uuid = _checked_uuid(instance_uuid)
        scope = project_scope.scope_of(context)
        row = db.get_by_instance_uuid(context, uuid, scope)
        if row is None or not project_scope.owns(scope, row.project_id):
            raise exception.RequestSpecNotFound(instance_uuid=uuid)
        return cls.from_db_row(context, row)

    @classmethod
    def get_by_instance_uuids(
        cls,
        context: "RequestContext",
        instance_uuids: Iterable[str],
        on_damaged: "OnDamaged | None" = None,
    ) -> list[Self]:
        """The specs of the given instances that exist, in the order asked,
        read with one query. An empty list asks nothing of the database.

        A damaged stored spec raises ``InvalidRequestSpec`` naming its
        instance; with ``on_damaged``, that error is passed to it instead
        and the other specs are returned."""
        uuids = list(dict.fromkeys(_checked_uuid(u) for u in instance_uuids))
        if not uuids:
            return []
        scope = project_scope.scope_of(context)
        with _collector_paused():
            rows = db.get_by_instance_uuids(context, uuids, scope)
            by_uuid = {
                row.instance_uuid: row
                for row in rows
                if project_scope.owns(scope, row.project_id)
            }
            found = [by_uuid[uuid] for uuid in uuids if uuid in by_uuid]
            return list(cls._load_rows(context, found, on_damaged))

    @classmethod
    def get_stored_documents(
        cls, context: "RequestContext", instance_uuids: Iterable[str]
    ) -> dict[str, str]:
        """The stored documents of the given instances that exist, by
        uuid, as they are (not decoded: for copying them, or telling
        which are equal), read with one query."""
        uuids = list(dict.fromkeys(_checked_uuid(u) for u in instance_uuids))
        if not uuids:
            return {}
        rows = db.get_by_instance_uuids(
            context, uuids, project_scope.scope_of(context)
        )
        return {row.instance_uuid: row.spec for row in rows}

    @classmethod
    def iter_all(
        cls,
        context: "RequestContext",
        batch_size: int = db_base.READ_BATCH_SIZE,
        on_damaged: "OnDamaged | None" = None,
    ) -> Iterator[Self]:
        """Every spec in the context's database (of the context's project
        unless it is an admin), fully loaded, in storage order.

        Rows are read ``batch_size`` at a time in short transactions, so
        memory stays flat however many there are. A damaged stored spec
        raises ``InvalidRequestSpec`` naming its instance, which ends the
        iteration; with ``on_damaged``, that error is passed to it instead
        and the iteration goes on with the next row.
        """
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        scope = project_scope.scope_of(context)
        for rows in db.iter_batches(context, batch_size, scope):
            yield from cls._load_rows(
                context,
                [r for r in rows if project_scope.owns(scope, r.project_id)],
                on_damaged,
            )

    @classmethod
    def _load_rows(
        cls,
        context: "RequestContext",
        rows: list[db.SpecRow],
        on_damaged: "OnDamaged | None",
    ) -> Iterator[Self]:
        limit = max_bytes(context)
        load = cls.from_db_row
        if on_damaged is None:
            for row in rows:
                yield load(context, row, limit)
            return
        for row in rows:
            try:
                spec = load(context, row, limit)
            except exception.InvalidRequestSpec as err:
                on_damaged(row.instance_uuid, err)
                continue
            yield spec


#: Told about each damaged stored spec: (instance uuid, the error).
OnDamaged = Callable[[str, exception.InvalidRequestSpec], object]


_UNSET = object()


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a list of specs is read
    and built.

    Decoding a thousand specs allocates tens of thousands of containers,
    none of them in a reference cycle (reference counting frees them);
    meanwhile the collector, run by allocation counts, walks the young
    objects every few hundred allocations and, as the list grows, now and
    then the whole heap: about a tenth of a bulk read. Paused only if it
    was running, and never across a yield to the caller; whatever cycle
    is made meanwhile is collected after.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def max_bytes(context: "RequestContext | None") -> int:
    """The largest document read or written (``[request_spec]
    max_document_bytes``) under ``context``'s settings; the process's
    settings for a spec that has no context."""
    settings = (
        conf_settings.get_default() if context is None else context.settings
    )
    return settings.request_spec.max_document_bytes


def _damaged(
    context: "RequestContext", row: db.SpecRow, reason: str
) -> exception.InvalidRequestSpec:
    # Name the row: in a get-many, "spec.flavor: ..." alone does not say
    # which of a thousand documents is broken.
    if isinstance(row.spec, bytes):
        # Text SQLite could not decode (see reqspec.db.base).
        reason = f"the stored text is not valid UTF-8 ({_utf8(row.spec)})"
    return exception.InvalidRequestSpec(
        reason=f"stored spec of instance {row.instance_uuid} in "
        f"{context.database}: {reason}"
    )


def _utf8(data: bytes) -> str:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"byte 0x{data[err.start]:02x} at offset {err.start}"
    return "valid after all"  # pragma: no cover


def _checked_uuid(value: Any) -> str:
    try:
        return fields.check_uuid(value)
    except ValueError as err:
        raise exception.InvalidRequestSpec(
            reason=f"instance uuid: {err}"
        ) from None
