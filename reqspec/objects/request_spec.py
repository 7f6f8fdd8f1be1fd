"""RequestSpec: what the user asked for when booting a server.

The class is built in layers, each in its own module and each depending
only on the ones before: the schema (``request_spec_schema``: fields,
groups, versions, read-throughs), building from API input
(``request_spec_builder``), reading (``request_spec_stored``: the stored
document and rows) and, here, writing; the document's format
(``RequestSpec.FORMAT``) is configured at the end of this module.
"""

from collections.abc import Sequence
import datetime

from reqspec import exception
from reqspec.db import request_spec_migrations as migration_db
from reqspec.db import request_specs as db
from reqspec.objects import base
from reqspec.objects import document
from reqspec.objects import project_scope
from reqspec.objects import request_spec_schema
from reqspec.objects.request_spec_stored import OnDamaged
from reqspec.objects.request_spec_stored import StoredRequestSpec

__all__ = ["OnDamaged", "RequestSpec"]


@base.ReqspecObjectRegistry.register
class RequestSpec(StoredRequestSpec):
    """The scheduling request of one server, kept for its whole life (see
    ``RequestSpecSchema`` for its fields).

    Persistence (``create``, ``save``, ``destroy``, ``get_by_*``) goes to
    the database the context selects: the API database for an untargeted
    context, the cell's database for one made by ``target_cell``.
    """

    def create(
        self,
        *,
        created_at: datetime.datetime | None = None,
        updated_at: datetime.datetime | None = None,
    ) -> None:
        """Store a new spec in the context's database, at generation 1.

        The row's timestamps default to now; an import keeps the source's.
        """
        if self.obj_attr_is_set("id") and self.id is not None:
            raise exception.ObjectActionError(
                action="create", reason="the spec is already stored"
            )
        self.check_may_store()
        text = self.to_document()
        project_scope.check_project_column(self.project_id)
        row = db.create(
            self._context,
            self.instance_uuid,
            self.project_id,
            text,
            instance_group_uuid=self.instance_group_uuid,
            created_at=created_at,
            updated_at=updated_at,
            spec_version=self.VERSION,
        )
        self.mark_stored(
            row.id,
            row.generation,
            text,
            columns=(row.project_id, row.instance_group_uuid, self.VERSION),
        )

    def create_copies(self, instance_uuids: Sequence[str]) -> None:
        """Store this spec once per server of ``instance_uuids`` (the
        servers of one multi-create request), in one statement, with every
        check ``create()`` makes; ``RequestSpecExists`` and nothing written
        if any of them already has a spec.

        The object ends up holding the last uuid, not stored as a row of
        its own (load a server's spec to save it later).
        """
        if self.obj_attr_is_set("id") and self.id is not None:
            raise exception.ObjectActionError(
                action="create", reason="the spec is already stored"
            )
        self.check_may_store()
        project_scope.check_project_column(self.project_id)
        rows = []
        for uuid in instance_uuids:
            try:
                self.instance_uuid = uuid
            except ValueError as err:
                raise exception.InvalidRequestSpec(reason=str(err)) from err
            rows.append(
                db.SpecRow(
                    0,
                    self.instance_uuid,
                    self.project_id,
                    1,
                    self.to_document(),
                    self.instance_group_uuid,
                    self.VERSION,
                )
            )
        db.create_many(self._context, rows)

    def save(self) -> None:
        """Write the persistent fields back, if they changed.

        The write only happens if the row is still at the generation this
        object was loaded (or last saved) at; otherwise
        ``RequestSpecConflict`` and nothing is written. Per-move fields are
        not part of the document, so changing only them writes nothing.
        """
        if not self.obj_attr_is_set("id") or self.id is None:
            raise exception.ObjectActionError(
                action="save", reason="the spec was never created"
            )
        # Scope first: a foreign spec must not save "successfully" even when
        # there is nothing to write.
        self.check_may_store()
        text = self.to_document()
        if text == getattr(self, "_stored_document", None):
            self.obj_reset_changes(recursive=True)
            return
        project_scope.check_project_column(self.project_id)
        if self.generation is None:
            raise exception.ObjectActionError(
                action="save", reason="the spec has no stored generation"
            )
        columns = (self.project_id, self.instance_group_uuid, self.VERSION)
        generation = db.update(
            self._context,
            self.instance_uuid,
            self.generation,
            columns[0],
            text,
            match_project_id=project_scope.scope_of(self._context),
            instance_group_uuid=columns[1],
            stored_columns=getattr(self, "_stored_columns", None),
            spec_version=columns[2],
        )
        self.mark_stored(self.id, generation, text, columns=columns)

    def destroy(self) -> None:
        """Delete the spec from the context's database."""
        db.destroy(
            self._context,
            self.instance_uuid,
            project_scope.scope_of(self._context),
        )
        self.forget_row()

    def fill_columns(self) -> bool:
        """Write the columns copied out of the stored document
        (``instance_group_uuid``, ``spec_version``) into a row written
        before they existed, leaving its document and generation alone
        (a writer holding it can still save); False, and nothing written,
        if the row changed since this spec was read."""
        self.check_may_store()
        if self.generation is None:
            raise exception.ObjectActionError(
                action="fill_columns", reason="the spec was never stored"
            )
        version = self.document_version()
        group = self.instance_group_uuid
        if not migration_db.set_columns(
            self._context, self.instance_uuid, self.generation, group, version
        ):
            return False
        self.__dict__["_stored_columns"] = (self.project_id, group, version)
        return True

    def check_may_store(self) -> None:
        """``Forbidden`` unless this spec's context may store
        specs of its project (what every write checks first)."""
        project_scope.check_may_store(self._context, self.project_id)


RequestSpec.FORMAT = document.DocumentFormat(
    RequestSpec,
    RequestSpec.PERSISTENT_FIELDS,
    RequestSpec.VERSION,
    request_spec_schema.UPGRADES,
)
