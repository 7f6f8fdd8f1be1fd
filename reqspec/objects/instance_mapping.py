"""Instance mappings: which database holds a server's spec (API database)."""

from collections.abc import Callable
from typing import Any
from typing import NoReturn
from typing import TYPE_CHECKING

from reqspec import exception
from reqspec.db import instance_mappings as db
from reqspec.db import mapping_batches
from reqspec.objects import base
from reqspec.objects import fields
from reqspec.objects import project_scope
from reqspec.objects.cell_mapping import CellMapping

if TYPE_CHECKING:
    from reqspec.context import RequestContext
    from reqspec.objects.request_spec import RequestSpec

#: Steps of a move between databases, in order (see reqspec.lifecycle).
MOVE_STEPS = ("recorded", "written", "mapped")


@base.ReqspecObjectRegistry.register
class InstanceMapping(base.ReqspecObject):
    """Where a server's spec is: the API database or one cell's.

    ``cell_mapping`` is None while the server is unscheduled (the spec is
    in the API database) and the cell once it is scheduled. While a spec
    is being carried between databases, ``move_step`` names the last step
    that completed and ``move_source`` (None: the API database),
    ``move_target``, ``move_host`` and ``move_node`` say what the move is,
    so that any process can finish it. ``fault`` says why the last build
    attempt of an unscheduled server failed.

    Every change is conditional on the state it starts from: a method
    returns False (and writes nothing) when another process got there
    first, and the caller reloads.
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
    ) -> "InstanceMapping":
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
    ) -> "InstanceMapping":
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
    ) -> "InstanceMapping":
        """The mapping of one server; ``InstanceNotFound`` if none."""
        uuid = _server_uuid(instance_uuid)
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
    ) -> list["InstanceMapping"]:
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
        after: "InstanceMapping | None" = None,
    ) -> list["InstanceMapping"]:
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
    ) -> list["InstanceMapping"]:
        """Mappings of servers waiting to be built (no cell, no move);
        with ``idle_for``, only those waiting that many seconds."""
        rows = db.get_all(context, unscheduled_only=True, idle_for=idle_for)
        return [cls.from_db_row(context, row) for row in rows]

    def create(self, spec: "RequestSpec | None" = None) -> None:
        """Store an unscheduled mapping and, if given, ``spec`` in the API
        database, in one transaction (both or neither).

        The spec is stored by its own ``create()``, with every check that
        makes, so it must be a new spec of this server, made with this
        mapping's context, and of this mapping's project
        (``ProjectMismatch`` otherwise: a spec row whose project is not
        its document's could not be read back).
        """
        if self.obj_attr_is_set("id"):
            raise exception.ObjectActionError(
                action="create", reason="already created"
            )
        if self._context.cell is not None:
            raise exception.ObjectActionError(
                action="create an instance mapping",
                reason="mappings live in the API database; use a context "
                "that is not targeted at a cell",
            )
        project_id = (
            self.project_id if self.obj_attr_is_set("project_id") else None
        )
        if spec is not None:
            if spec.instance_uuid != self.instance_uuid:
                raise exception.ObjectActionError(
                    action="create", reason="the spec is another server's"
                )
            if spec._context is not self._context:
                # Only the same context joins the mapping's transaction.
                raise exception.ObjectActionError(
                    action="create",
                    reason="the spec must be made with the mapping's context",
                )
            if spec.project_id != project_id:
                raise exception.ProjectMismatch(
                    instance_uuid=self.instance_uuid
                )
        # The mapping's column is as wide as the spec's: refuse what it
        # cannot hold before anything is sent.
        project_scope.check_project_column(project_id)
        if spec is None:
            self.id = db.create(self._context, self.instance_uuid, project_id)
        else:
            self.id = self._create_with(spec, project_id)
        self.cell_mapping = None
        self.move_step = None
        self.fault = None
        self.obj_reset_changes()

    def _create_with(self, spec: "RequestSpec", project_id: str | None) -> int:
        if spec.obj_attr_is_set("id") and spec.id is not None:
            raise exception.ObjectActionError(
                action="create", reason="the spec is already stored"
            )

        def create_spec() -> None:
            # A retried transaction (deadlock, serialization failure) runs
            # this again: forget the row of the attempt that rolled back.
            spec.forget_row()
            spec.create()

        try:
            return db.create(
                self._context, self.instance_uuid, project_id, then=create_spec
            )
        except Exception:
            # Rolled back: the spec's row is gone with the mapping's.
            spec.forget_row()
            raise

    def _update(
        self, expected: dict[str, Any], values: dict[str, Any]
    ) -> bool:
        return db.update(self._context, self.instance_uuid, expected, values)

    @classmethod
    def record_move(
        cls,
        context: "RequestContext",
        instance_uuid: str,
        source: CellMapping | None,
        target: CellMapping,
        host: str,
        node: str,
        then: Callable[[], object] | None = None,
    ) -> "InstanceMapping":
        """``start_move`` without reading the mapping first: records the
        move and returns the mapping as recorded, in one transaction.
        ``then`` runs in that transaction once the move is recorded (a
        read it makes on ``context`` joins it).

        ``InstanceNotFound``, ``MoveInProgress`` or ``InstanceConflict``
        as ``start_move``.
        """
        uuid = _server_uuid(instance_uuid)
        row = db.record_move(
            context,
            uuid,
            _cell_id(source),
            _move_values(source, target, host, node),
            then=then,
        )
        if row is None:
            cls._refuse_move(context, uuid)
        # The conditional UPDATE matched only a mapping in ``source``.
        return cls._from_columns(context, row, source, source, target)

    @classmethod
    def _refuse_move(cls, context: "RequestContext", uuid: str) -> NoReturn:
        current = cls.get_by_instance_uuid(context, uuid)
        if current.moving:
            raise exception.MoveInProgress(
                instance_uuid=uuid, step=current.move_step
            )
        raise exception.InstanceConflict(instance_uuid=uuid, action="a move")

    def start_move(
        self,
        source: CellMapping | None,
        target: CellMapping,
        host: str,
        node: str,
    ) -> None:
        """Record a move of the spec from ``source`` (None: the API
        database) to ``target``, to land on ``host``/``node``.

        ``MoveInProgress`` if another move is recorded; ``InstanceConflict``
        if the server is no longer in ``source``.
        """
        recorded = self._update(
            {"move_step": None, "cell_id": _cell_id(source)},
            _move_values(source, target, host, node),
        )
        if not recorded:
            self._refuse_move(self._context, self.instance_uuid)
        self.move_step = "recorded"
        self.move_source = source
        self.move_target = target
        self.move_host = host
        self.move_node = node
        self.obj_reset_changes()

    def _move_expected(self, step: str | tuple[str, ...]) -> dict[str, Any]:
        return {
            "move_step": step,
            "move_target_cell_id": _cell_id(self.move_target),
        }

    def mark_written(self) -> bool:
        """recorded -> written: the target cell holds the server and spec.

        (Moves no longer stop here; records left at ``written`` by an
        older version are still finished.)"""
        return self._update(
            self._move_expected("recorded"), {"move_step": "written"}
        )

    def point_at_target(self) -> bool:
        """recorded or written -> mapped: the target cell's copy becomes
        the spec. Only once the target holds the server and spec."""
        done = self._update(
            self._move_expected(("recorded", "written")),
            {
                "move_step": "mapped",
                "cell_id": _cell_id(self.move_target),
                "fault": None,
            },
        )
        if done:
            self.move_step = "mapped"
            self.cell_mapping = self.move_target
            self.fault = None
            self.obj_reset_changes()
        return done

    def finish_build(self) -> bool:
        """A build whose copies the target holds -> done: the mapping
        points at the target, the record is cleared and the API
        database's spec deleted, in one transaction."""
        target = self.move_target
        if self.move_source is not None or target is None:
            raise exception.ObjectActionError(
                action="finish a build", reason="no build is recorded"
            )
        done = self.instance_uuid in mapping_batches.finish_builds(
            self._context, target.id, [self.instance_uuid]
        )
        if done:
            self._moved()
        return done

    def finish_move(self) -> bool:
        """mapped -> no move: the source copy is gone."""
        done = self._update(self._move_expected("mapped"), _NO_MOVE)
        if done:
            self._moved()
        return done

    def _moved(self) -> None:
        """This object as its row now is: in the target, no move."""
        self.cell_mapping = self.move_target
        self.fault = None
        self.move_step = None
        self.move_source = None
        self.move_target = None
        self.move_host = None
        self.move_node = None
        self.obj_reset_changes()

    def abort_move(self) -> bool:
        """recorded -> no move: only before anything reached the target."""
        return self._update(self._move_expected("recorded"), _NO_MOVE)

    def set_fault(self, fault: str | None) -> bool:
        """Say why building an unscheduled server failed (None: clear)."""
        return self._update(
            {"cell_id": None, "move_step": None}, {"fault": fault}
        )

    def destroy(self) -> None:
        if not db.destroy(self._context, self.instance_uuid):
            raise exception.InstanceNotFound(instance_uuid=self.instance_uuid)


_NO_MOVE = {
    "move_step": None,
    "move_source_cell_id": None,
    "move_target_cell_id": None,
    "move_host": None,
    "move_node": None,
}


def _move_values(
    source: CellMapping | None, target: CellMapping, host: str, node: str
) -> dict[str, Any]:
    return {
        "move_step": "recorded",
        "move_source_cell_id": _cell_id(source),
        "move_target_cell_id": target.id,
        "move_host": host,
        "move_node": node,
    }


def _server_uuid(value: Any) -> str:
    """A server uuid, canonical; a malformed one names no server."""
    try:
        return fields.check_uuid(value)
    except ValueError:
        raise exception.InstanceNotFound(instance_uuid=value) from None


def _cell_id(cell: CellMapping | None) -> int | None:
    return None if cell is None else cell.id


class _Row:
    """Attribute access to a dict, for CellMapping.from_db_row."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
