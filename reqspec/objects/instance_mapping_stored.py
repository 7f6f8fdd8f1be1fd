"""What an instance mapping is, and how one is read.

``StoredInstanceMapping`` declares the fields and reads mappings from the
API database; the class registered as ``InstanceMapping``
(``reqspec.objects.instance_mapping``) adds creating, moving and
destroying them.
"""

from typing import Any
from typing import Self
from typing import TYPE_CHECKING

from reqspec import exception
from reqspec.db import instance_mappings as db
from reqspec.objects import base
from reqspec.objects import fields
from reqspec.objects import project_scope
from reqspec.objects.cell_mapping import CellMapping

if TYPE_CHECKING:
    from reqspec.context import RequestContext

#: Steps of a move between databases, in order (see reqspec.lifecycle).
MOVE_STEPS = ("recorded", "written", "mapped")


# Not registered itself (only ``InstanceMapping`` is an object type), but
# given its field properties, as oslo.versionedobjects does for abstract
# bases.
@base.ReqspecObjectRegistry.register_if(False)
class StoredInstanceMapping(base.ReqspecObject):
    """Where a server's spec is: the API database or one cell's.

    ``cell_mapping`` is None while the server is unscheduled (the spec is
    in the API database) and the cell once it is scheduled. While a spec
    is being carried between databases, ``move_step`` names the last step
    that completed and ``move_source`` (None: the API database),
    ``move_target``, ``move_host`` and ``move_node`` say what the move is,
    so that any process can finish it. ``fault`` says why the last build
    attempt of an unscheduled server failed.
    """

    # Version 1.0: Initial version
    VERSION = "1.0"

    obj_relationships = {
        "cell_mapping": [("1.0", "1.0")],
        "move_source": [("1.0", "1.0")],
        "move_target": [("1.0", "1.0")],
    }

    fields = {
        "id": fields.IntegerField(read_only=True),
        "instance_uuid": fields.UUIDField(),
        "project_id": fields.StringField(nullable=True),
        "cell_mapping": fields.ObjectField("CellMapping", nullable=True),
        "move_step": fields.EnumField(MOVE_STEPS, nullable=True),
        "move_source": fields.ObjectField("CellMapping", nullable=True),
        "move_target": fields.ObjectField("CellMapping", nullable=True),
        "move_host": fields.StringField(nullable=True),
        "move_node": fields.StringField(nullable=True),
        "fault": fields.StringField(nullable=True),
    }

    @property
    def moving(self) -> bool:
        return self.move_step is not None

    @classmethod
    def from_db_row(
        cls, context: "RequestContext", row: dict[str, Any]
    ) -> Self:
        """The object a row of its table holds (no query)."""
        cells = (
            None
            if cell is None
            else CellMapping.from_db_row(context, _Row(cell))
            for cell in (row["cell"], row["move_source"], row["move_target"])
        )
        return cls._from_columns(context, row, *cells)

    @classmethod
    def _from_columns(
        cls,
        context: "RequestContext",
        row: dict[str, Any],
        cell: CellMapping | None,
        move_source: CellMapping | None,
        move_target: CellMapping | None,
    ) -> Self:
        """The object of a row's own columns (``db.COLUMNS``) and its
        cells, given as objects."""
        mapping = cls(context)
        for name in db.COLUMNS:
            setattr(mapping, name, row[name])
        mapping.cell_mapping = cell
        mapping.move_source = move_source
        mapping.move_target = move_target
        mapping.obj_reset_changes()
        return mapping

    @classmethod
    def get_by_instance_uuid(
        cls, context: "RequestContext", instance_uuid: str
    ) -> Self:
        """The mapping of one server; ``InstanceNotFound`` if none."""
        uuid = checked_server_uuid(instance_uuid)
        row = db.get_by_instance_uuid(context, uuid)
        if row is None:
            raise exception.InstanceNotFound(instance_uuid=uuid)
        return cls.from_db_row(context, row)

    @classmethod
    def get_all(
        cls,
        context: "RequestContext",
        moving_only: bool = False,
        idle_for: float | None = None,
    ) -> list[Self]:
        """Every mapping, oldest first; only those of servers being moved
        between databases with ``moving_only``; with ``idle_for``, only
        those nobody changed for that many seconds."""
        rows = db.get_all(context, moving_only=moving_only, idle_for=idle_for)
        return [cls.from_db_row(context, row) for row in rows]

    @classmethod
    def get_page(
        cls,
        context: "RequestContext",
        limit: int,
        after: "StoredInstanceMapping | None" = None,
    ) -> list[Self]:
        """Up to ``limit`` mappings the context may see (its project's
        only, unless it is an admin), newest first, starting after
        ``after``. The order is the API database's record order, which a
        cell being down cannot change."""
        rows = db.get_page(
            context,
            project_scope.scope_of(context),
            limit,
            None if after is None else after.id,
        )
        return [cls.from_db_row(context, row) for row in rows]

    @classmethod
    def get_unscheduled(
        cls, context: "RequestContext", idle_for: float | None = None
    ) -> list[Self]:
        """Mappings of servers waiting to be built (no cell, no move);
        with ``idle_for``, only those waiting that many seconds."""
        rows = db.get_all(context, unscheduled_only=True, idle_for=idle_for)
        return [cls.from_db_row(context, row) for row in rows]


def checked_server_uuid(value: Any) -> str:
    """A server uuid, canonical; a malformed one names no server."""
    try:
        return fields.check_uuid(value)
    except ValueError:
        raise exception.InstanceNotFound(instance_uuid=value) from None


def cell_id_of(cell: CellMapping | None) -> int | None:
    return None if cell is None else cell.id


class _Row:
    """Attribute access to a dict, for CellMapping.from_db_row."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
