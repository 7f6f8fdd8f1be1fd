"""Instance mappings: which database holds a server's spec (API database).

The fields and reads are ``StoredInstanceMapping``'s
(``reqspec.objects.instance_mapping_stored``); this layer, the registered
``InstanceMapping``, creates mappings, records and carries out moves
between databases, and destroys them.
"""

from collections.abc import Callable
from typing import Any
from typing import NoReturn
from typing import TYPE_CHECKING

from reqspec import exception
from reqspec.db import instance_mappings as db
from reqspec.db import mapping_batches
from reqspec.objects import base
from reqspec.objects import project_scope
from reqspec.objects.cell_mapping import CellMapping
from reqspec.objects.instance_mapping_stored import cell_id_of
from reqspec.objects.instance_mapping_stored import checked_server_uuid
from reqspec.objects.instance_mapping_stored import StoredInstanceMapping

if TYPE_CHECKING:
    from reqspec.context import RequestContext
    from reqspec.objects.request_spec import RequestSpec


@base.ReqspecObjectRegistry.register
class InstanceMapping(StoredInstanceMapping):
    """Where a server's spec is: the API database or one cell's.

    Every change is conditional on the state it starts from: a method
    returns False (and writes nothing) when another process got there
    first, and the caller reloads.
    """

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
        uuid = checked_server_uuid(instance_uuid)
        row = db.record_move(
            context,
            uuid,
            cell_id_of(source),
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
            {"move_step": None, "cell_id": cell_id_of(source)},
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
            "move_target_cell_id": cell_id_of(self.move_target),
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
                "cell_id": cell_id_of(self.move_target),
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
        "move_source_cell_id": cell_id_of(source),
        "move_target_cell_id": target.id,
        "move_host": host,
        "move_node": node,
    }
