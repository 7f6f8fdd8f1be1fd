"""Servers placed in a cell: where they run and what they hold there."""

from collections.abc import Sequence
from typing import Any
from typing import TYPE_CHECKING

from oslo_serialization import jsonutils

from reqspec import exception
from reqspec.db import instances as db
from reqspec.db import request_specs as specs_db
from reqspec.objects import base
from reqspec.objects import fields
from reqspec.objects import project_scope
from reqspec.objects.flavor import Flavor

if TYPE_CHECKING:
    from reqspec.context import RequestContext
    from reqspec.objects.request_spec import RequestSpec

ACTIVE = "ACTIVE"
VERIFY_RESIZE = "VERIFY_RESIZE"
SHELVED_OFFLOADED = "SHELVED_OFFLOADED"
STATUSES = (ACTIVE, VERIFY_RESIZE, SHELVED_OFFLOADED)

_COLUMNS = tuple(
    c for c in db.COLUMNS if c not in ("old_flavor", "new_flavor")
)
_RESIZE_CLEARED = {
    "old_host": None,
    "old_node": None,
    "old_vcpus": None,
    "old_memory_mb": None,
    "old_disk_gb": None,
    "old_flavor": None,
    "new_flavor": None,
}


@base.ReqspecObjectRegistry.register
class Instance(base.ReqspecObject):
    """A server in one cell's ``instances`` table.

    It holds ``vcpus``/``memory_mb``/``disk_gb`` on ``host``/``node``
    (nothing, with no host, once shelved offloaded). A resize that waits
    for confirmation also holds the source (``old_*``) and keeps both
    flavors, so that confirm and revert can be repeated after a crash.
    ``group_uuid`` is the server group the spec names: the scheduler finds
    a group's members by it, fresh, in every cell.

    Every change that makes a node hold more is a claim, checked against
    the node's capacity under its lock (``reqspec.db.claims``), and is
    conditional on the server still being where the caller saw it.
    """

    # Version 1.0: Initial version
    VERSION = "1.0"

    obj_relationships = {
        "old_flavor": [("1.0", "1.0")],
        "new_flavor": [("1.0", "1.0")],
    }

    fields = {
        "id": fields.IntegerField(read_only=True),
        "uuid": fields.UUIDField(),
        "project_id": fields.StringField(nullable=True),
        "user_id": fields.StringField(nullable=True),
        "status": fields.EnumField(STATUSES),
        "host": fields.StringField(nullable=True),
        "node": fields.StringField(nullable=True),
        "vcpus": fields.NonNegativeIntegerField(),
        "memory_mb": fields.NonNegativeIntegerField(),
        "disk_gb": fields.NonNegativeIntegerField(),
        "group_uuid": fields.UUIDField(nullable=True),
        "old_host": fields.StringField(nullable=True),
        "old_node": fields.StringField(nullable=True),
        "old_vcpus": fields.NonNegativeIntegerField(nullable=True),
        "old_memory_mb": fields.NonNegativeIntegerField(nullable=True),
        "old_disk_gb": fields.NonNegativeIntegerField(nullable=True),
        "old_flavor": fields.ObjectField("Flavor", nullable=True),
        "new_flavor": fields.ObjectField("Flavor", nullable=True),
    }

    @classmethod
    def for_spec(
        cls,
        context: "RequestContext",
        spec: "RequestSpec",
        host: str,
        node: str,
    ) -> "Instance":
        """A new ACTIVE server on ``host``/``node`` sized by the spec's
        flavor (not stored until ``create``)."""
        group = spec.instance_group
        return cls(
            context,
            uuid=spec.instance_uuid,
            project_id=spec.project_id,
            user_id=spec.user_id,
            status=ACTIVE,
            host=host,
            node=node,
            vcpus=spec.vcpus,
            memory_mb=spec.memory_mb,
            disk_gb=spec.disk_gb,
            group_uuid=None if group is None else group.uuid,
        )

    def copy_to(
        self, context: "RequestContext", host: str, node: str
    ) -> "Instance":
        """This server as a new row for another cell, on ``host``/``node``
        (only servers holding nothing else: no pending resize)."""
        if self.old_host is not None:
            raise exception.InvalidInstanceState(
                action="move to another cell",
                instance_uuid=self.uuid,
                state="waiting for a resize to be confirmed",
            )
        copy = type(self)(context)
        for name in ("uuid", "project_id", "user_id", "status"):
            setattr(copy, name, getattr(self, name))
        for name in ("vcpus", "memory_mb", "disk_gb", "group_uuid"):
            setattr(copy, name, getattr(self, name))
        copy.host = host
        copy.node = node
        if copy.status == SHELVED_OFFLOADED:
            copy.status = ACTIVE
        return copy

    @classmethod
    def from_db_row(
        cls, context: "RequestContext", row: dict[str, Any]
    ) -> "Instance":
        """The object a row of its table holds (no query)."""
        instance = cls(context)
        for name in _COLUMNS:
            setattr(instance, name, row[name])
        for name in ("old_flavor", "new_flavor"):
            setattr(instance, name, _flavor_from_text(row[name]))
        instance.obj_reset_changes()
        return instance

    @classmethod
    def get_by_uuid(cls, context: "RequestContext", uuid: str) -> "Instance":
        """The server from the context's cell; ``InstanceNotFound``."""
        try:
            uuid = fields.check_uuid(uuid)
        except ValueError:
            raise exception.InstanceNotFound(instance_uuid=uuid) from None
        row = db.get_by_uuid(context, uuid)
        if row is None:
            raise exception.InstanceNotFound(instance_uuid=uuid)
        return cls.from_db_row(context, row)

    @classmethod
    def get_by_uuids(
        cls, context: "RequestContext", uuids: list[str]
    ) -> dict[str, "Instance"]:
        """The servers of ``uuids`` in the context's cell, by uuid (one
        query; those the cell does not hold are left out)."""
        checked = []
        for uuid in uuids:
            try:
                checked.append(fields.check_uuid(uuid))
            except ValueError:
                continue  # names no server
        if not checked:
            return {}
        rows = db.get_by_uuids(context, checked)
        return {r["uuid"]: cls.from_db_row(context, r) for r in rows}

    @classmethod
    def get_by_group(
        cls, context: "RequestContext", group_uuid: str
    ) -> list["Instance"]:
        """The members of a server group that live in the context's cell."""
        rows = db.get_by_group(context, fields.check_uuid(group_uuid))
        return [cls.from_db_row(context, row) for row in rows]

    @classmethod
    def get_all(cls, context: "RequestContext") -> list["Instance"]:
        return [cls.from_db_row(context, r) for r in db.get_all(context)]

    def create(self) -> None:
        """Store the server in the context's cell, claiming its resources.

        ``ComputeResourcesUnavailable`` if it does not fit on its node,
        ``InstanceExists`` if the cell already has it.
        """
        if self.obj_attr_is_set("id"):
            raise exception.ObjectActionError(
                action="create", reason="already created"
            )
        values = {
            name: getattr(self, name) for name in _COLUMNS if name != "id"
        }
        self.id = db.create(self._context, values)
        self.obj_reset_changes()

    @classmethod
    def create_with_specs(
        cls,
        context: "RequestContext",
        servers: "Sequence[tuple[Instance, RequestSpec, str]]",
    ) -> dict[str, exception.ComputeResourcesUnavailable]:
        """Store new servers in the context's cell, each claiming its
        resources, with their specs (each given with its stored document,
        copied as it is), in one transaction.

        A server that does not fit is left out with its spec, and the
        reason returned under its uuid. ``InstanceExists`` (or
        ``RequestSpecExists``), and nothing written, if the cell already
        has any of them; ``ComputeHostNotFound`` if a node is gone.
        """
        rows, specs = [], []
        for instance, spec, text in servers:
            if instance.obj_attr_is_set("id"):
                raise exception.ObjectActionError(
                    action="create", reason="already created"
                )
            spec.check_may_store()
            project_scope.check_project_column(spec.project_id)
            rows.append(
                {n: getattr(instance, n) for n in _COLUMNS if n != "id"}
            )
            specs.append(
                specs_db.SpecRow(
                    0,
                    spec.instance_uuid,
                    spec.project_id,
                    1,
                    text,
                    spec.instance_group_uuid,
                    spec.document_version(),
                )
            )
        return db.create_many(context, rows, specs)

    @classmethod
    def build_with_specs(
        cls,
        context: "RequestContext",
        spec: "RequestSpec",
        servers: Sequence[tuple[str, str, str, str]],
    ) -> dict[str, exception.ComputeResourcesUnavailable]:
        """``create_with_specs`` for new ACTIVE servers of one request:
        ``servers`` are (uuid, host, node, stored spec document), each
        document ``spec``'s but for the uuid, so every server is sized
        and owned as ``spec`` says (read once, not per server)."""
        spec.check_may_store()
        project_scope.check_project_column(spec.project_id)
        group = spec.instance_group_uuid
        common: dict[str, Any] = dict.fromkeys(_COLUMNS)
        del common["id"]
        common.update(
            project_id=spec.project_id,
            user_id=spec.user_id,
            status=ACTIVE,
            vcpus=spec.vcpus,
            memory_mb=spec.memory_mb,
            disk_gb=spec.disk_gb,
            group_uuid=group,
        )
        version = spec.document_version()
        rows, specs = [], []
        for uuid, host, node, text in servers:
            rows.append(dict(common, uuid=uuid, host=host, node=node))
            row = (0, uuid, spec.project_id, 1, text, group, version)
            specs.append(specs_db.SpecRow(*row))
        return db.create_many(context, rows, specs)

    @classmethod
    def destroy_with_spec(cls, context: "RequestContext", uuid: str) -> None:
        """Delete a server and its spec from the context's cell in one
        transaction (either may be gone already)."""
        db.destroy_with_spec(context, uuid)

    def _change(
        self, action: str, expected: tuple[str, ...], values: dict[str, Any]
    ) -> None:
        stored = dict(values)
        for name in ("old_flavor", "new_flavor"):
            if name in stored:
                stored[name] = _flavor_to_text(stored[name])
        row = db.update(
            self._context,
            self.uuid,
            {name: getattr(self, name) for name in expected},
            stored,
            action,
        )
        for name in _COLUMNS:
            setattr(self, name, row[name])
        for name in ("old_flavor", "new_flavor"):
            setattr(self, name, _flavor_from_text(row[name]))
        self.obj_reset_changes()

    def _require(self, action: str, *statuses: str) -> None:
        if self.status not in statuses:
            raise exception.InvalidInstanceState(
                action=action, instance_uuid=self.uuid, state=self.status
            )

    def move_to(self, host: str, node: str) -> None:
        """Claim ``host``/``node`` and run there (migrate, evacuate,
        unshelve); the old node's resources are released at once."""
        self._require("move", ACTIVE, SHELVED_OFFLOADED)
        self._change(
            "a move",
            ("status", "host", "node"),
            {"host": host, "node": node, "status": ACTIVE},
        )

    def start_resize(
        self, host: str, node: str, request: "RequestSpec", old_flavor: Flavor
    ) -> None:
        """Claim the request's (new) flavor on ``host``/``node`` and keep
        holding the source until the resize is confirmed or reverted.

        ``request`` is the per-move request of the resize (its flavor is
        the new one); ``old_flavor`` is the stored spec's.
        """
        self._require("resize", ACTIVE)
        self._change(
            "a resize",
            ("status", "host", "node", "vcpus", "memory_mb", "disk_gb"),
            {
                "status": VERIFY_RESIZE,
                "host": host,
                "node": node,
                "vcpus": request.vcpus,
                "memory_mb": request.memory_mb,
                "disk_gb": request.disk_gb,
                "old_host": self.host,
                "old_node": self.node,
                "old_vcpus": self.vcpus,
                "old_memory_mb": self.memory_mb,
                "old_disk_gb": self.disk_gb,
                "old_flavor": old_flavor,
                "new_flavor": request.flavor,
            },
        )

    def confirm_resize(self) -> None:
        """Release the source and keep running on the destination."""
        self._require("confirm a resize of", VERIFY_RESIZE)
        self._change(
            "a resize confirmation",
            ("status", "host", "node"),
            {"status": ACTIVE, **_RESIZE_CLEARED},
        )

    def revert_resize(self) -> None:
        """Go back to the source (still held) and release the destination."""
        self._require("revert a resize of", VERIFY_RESIZE)
        self._change(
            "a resize revert",
            ("status", "host", "node"),
            {
                "status": ACTIVE,
                "host": self.old_host,
                "node": self.old_node,
                "vcpus": self.old_vcpus,
                "memory_mb": self.old_memory_mb,
                "disk_gb": self.old_disk_gb,
                **_RESIZE_CLEARED,
            },
        )

    def shelve_offload(self) -> None:
        """Stop running anywhere and release the host."""
        self._require("shelve", ACTIVE)
        self._change(
            "a shelve",
            ("status", "host", "node"),
            {"status": SHELVED_OFFLOADED, "host": None, "node": None},
        )

    def destroy(self) -> None:
        """Delete the server from the context's cell (``InstanceNotFound``
        if it is not there)."""
        db.destroy(self._context, self.uuid)


def _flavor_to_text(flavor: Flavor | None) -> str | None:
    if flavor is None:
        return None
    return str(jsonutils.dumps(flavor.obj_to_primitive(), sort_keys=True))


def _flavor_from_text(text: str | None) -> Flavor | None:
    if text is None:
        return None
    flavor = Flavor.obj_from_primitive(jsonutils.loads(text))
    assert isinstance(flavor, Flavor)
    return flavor
