"""Cell mappings: where each cell's database is, stored in the API database."""

from typing import Any
from typing import TYPE_CHECKING

from oslo_utils import uuidutils
import sqlalchemy as sa

from reqspec import exception
from reqspec.db import cell_mappings as db
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
        url = sa.engine.make_url(self.database_connection)
        return url.render_as_string(hide_password=True)

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
        values = {
            name: getattr(self, name)
            for name in ("uuid", "name", "database_connection")
        }
        self.id = db.create(self._context, values)
        self.obj_reset_changes()

    def destroy(self) -> None:
        db.destroy(self._context, self.uuid)
