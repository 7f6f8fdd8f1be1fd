"""Cell mappings: where each cell's database is, stored in the API database."""

from typing import Any
from typing import TYPE_CHECKING

from oslo_utils import uuidutils

from reqspec import context as request_context
from reqspec import exception
from reqspec.db import cell_mappings as db
from reqspec.db import instances as instance_db
from reqspec.db import urls
from reqspec.objects import base
from reqspec.objects import fields

if TYPE_CHECKING:
    from reqspec.context import RequestContext


@base.ReqspecObjectRegistry.register
class CellMapping(base.ReqspecObject):
    """A named cell and the URL of its database.

    ``reqspec.context.target_cell(ctx, cell)`` takes one of these to aim a
    context at the cell's database.
    """

    # Version 1.0: Initial version
    VERSION = "1.0"

    fields = {
        "id": fields.IntegerField(read_only=True),
        "uuid": fields.UUIDField(),
        "name": fields.StringField(),
        "database_connection": fields.StringField(),
    }

    @property
    def identity(self) -> str:
        """How messages name this cell: its name and uuid."""
        return f"cell {self.name} ({self.uuid})"

    @property
    def masked_connection(self) -> str:
        """The database URL with any password hidden, for printing."""
        # Never raises: a mapping saved before URLs were checked may hold
        # anything, and must still be listed, reported and repaired.
        return urls.mask(self.database_connection)

    @classmethod
    def _from_db_row(
        cls, context: "RequestContext", row: Any
    ) -> "CellMapping":
        cell = cls(context)
        for name in cls.fields:
            setattr(cell, name, getattr(row, name))
        cell.obj_reset_changes()
        return cell

    @classmethod
    def get_by_name(
        cls, context: "RequestContext", name: str
    ) -> "CellMapping":
        row = db.get_by_name(context, name)
        if row is None:
            raise exception.CellMappingNotFound(cell=name)
        return cls._from_db_row(context, row)

    @classmethod
    def get_by_uuid(
        cls, context: "RequestContext", uuid: str
    ) -> "CellMapping":
        try:
            uuid = fields.check_uuid(uuid)
        except ValueError as err:
            raise exception.Invalid(reason=f"cell uuid: {err}") from None
        row = db.get_by_uuid(context, uuid)
        if row is None:
            raise exception.CellMappingNotFound(cell=uuid)
        return cls._from_db_row(context, row)

    @classmethod
    def get_all(cls, context: "RequestContext") -> list["CellMapping"]:
        return [cls._from_db_row(context, row) for row in db.get_all(context)]

    def create(self) -> None:
        if self.obj_attr_is_set("id"):
            raise exception.ObjectActionError(
                action="create", reason="already created"
            )
        if not self.obj_attr_is_set("uuid"):
            self.uuid = uuidutils.generate_uuid()
        self.validate()
        values = {
            name: getattr(self, name)
            for name in ("uuid", "name", "database_connection")
        }
        self.id = db.create(self._context, values)
        self.obj_reset_changes()

    def validate(self) -> None:
        """Refuse what would make a mapping no command can use: an empty
        name, a connection that is not a database URL."""
        if not self.name or not self.name.strip():
            raise exception.Invalid(reason="a cell name must not be empty")
        if self.name != self.name.strip():
            raise exception.Invalid(
                reason=f"cell name {self.name!r} has surrounding spaces"
            )
        urls.parse(self.database_connection, f"cell {self.name}")

    def save(self) -> None:
        """Write the changed name and/or connection."""
        changes = self.obj_get_changes()
        values: dict[str, Any] = {
            name: changes[name]
            for name in ("name", "database_connection")
            if name in changes
        }
        if not values:
            return
        self.validate()
        db.update(self._context, self.uuid, values)
        self.obj_reset_changes()

    def server_counts(self) -> tuple[int, int | None]:
        """(servers mapped to or moving through this cell, servers in its
        database); the second is None when the cell database cannot be
        read, whatever the reason (the mappings are the authority)."""
        mapped = db.count_instance_mappings(self._context, self.id)
        try:
            # A missing SQLite file is not opened: that would create it.
            urls.check_exists(self.database_connection, self.identity)
            with request_context.target_cell(self._context, self) as cctx:
                stored: int | None = instance_db.count(cctx)
        except exception.ReqspecError:
            stored = None
        return mapped, stored

    def destroy(self) -> None:
        """Delete the mapping; ``CellNotEmpty`` while it holds servers."""
        mapped, stored = self.server_counts()
        reasons = []
        if mapped:
            reasons.append(f"{mapped} instance mapping(s) point at it")
        if stored:
            reasons.append(f"its database has {stored} server(s)")
        if reasons:
            raise exception.CellNotEmpty(
                cell=self.identity, reason="; ".join(reasons)
            )
        db.destroy(self._context, self.uuid)
