"""Compute nodes: the hosts of a cell, their capacity and traits."""

from typing import Any
from typing import TYPE_CHECKING

from oslo_utils import uuidutils

from reqspec import exception
from reqspec.db import claims
from reqspec.db import compute_nodes as db
from reqspec.objects import base
from reqspec.objects import fields
from reqspec.objects.image_meta import ARCHITECTURES
from reqspec.objects.image_meta import HYPERVISOR_TYPES

if TYPE_CHECKING:
    from reqspec.context import RequestContext

Resources = db.Resources

#: Fields an operator sets; the rest are the row's bookkeeping.
SETTABLE = db.SETTABLE
UNITS = db.UNITS


@base.ReqspecObjectRegistry.register
class ComputeNode(base.ReqspecObject):
    """A hypervisor in a cell (one row of the cell's ``compute_nodes``).

    ``host`` is the compute service, ``node`` the hypervisor it manages
    (the same name, except for drivers like ironic that manage many).
    Capacity is ``vcpus``/``memory_mb``/``local_gb`` times the allocation
    ratios. What is used is not stored here: ``get_all(with_usage=True)``
    adds it up from the cell's servers and fills ``used`` and
    ``running_instances``.
    """

    # Version 1.0: Initial version
    VERSION = "1.0"

    fields = {
        "id": fields.IntegerField(read_only=True),
        "uuid": fields.UUIDField(),
        "host": fields.StringField(),
        "node": fields.StringField(),
        "availability_zone": fields.StringField(nullable=True),
        "vcpus": fields.NonNegativeIntegerField(),
        "memory_mb": fields.NonNegativeIntegerField(),
        "local_gb": fields.NonNegativeIntegerField(),
        "cpu_allocation_ratio": fields.NonNegativeFloatField(default=1.0),
        "ram_allocation_ratio": fields.NonNegativeFloatField(default=1.0),
        "disk_allocation_ratio": fields.NonNegativeFloatField(default=1.0),
        "architecture": fields.EnumField(ARCHITECTURES, nullable=True),
        "hypervisor_type": fields.EnumField(HYPERVISOR_TYPES, nullable=True),
        "aggregates": fields.ListOfStringsField(default=[]),
        "disabled": fields.BooleanField(default=False),
        "forced_down": fields.BooleanField(default=False),
        # Filled by get_all(with_usage=True); not columns.
        "used_vcpus": fields.NonNegativeIntegerField(default=0),
        "used_memory_mb": fields.NonNegativeIntegerField(default=0),
        "used_disk_gb": fields.NonNegativeIntegerField(default=0),
        "running_instances": fields.NonNegativeIntegerField(default=0),
    }

    @property
    def capacity(self) -> Resources:
        """What the node can hold (size times allocation ratio)."""
        return db.capacity({name: getattr(self, name) for name in SETTABLE})

    @property
    def used(self) -> Resources:
        return Resources(
            self.used_vcpus, self.used_memory_mb, self.used_disk_gb
        )

    @property
    def free(self) -> Resources:
        return self.capacity - self.used

    @property
    def up(self) -> bool:
        """Not forced down (as ``HostState.up``); a disabled node is up
        but takes no new servers."""
        return not self.forced_down

    @classmethod
    def from_db_row(
        cls, context: "RequestContext", row: dict[str, Any]
    ) -> "ComputeNode":
        """The object a row of its table holds (no query)."""
        node = cls(context)
        for name in ("id", "uuid", "host", "node", *SETTABLE):
            setattr(node, name, row[name])
        node.obj_reset_changes()
        return node

    @classmethod
    def get_all(
        cls,
        context: "RequestContext",
        with_usage: bool = False,
        exclude_instance_uuid: str | None = None,
    ) -> list["ComputeNode"]:
        """The nodes of the context's cell, by host and node name.

        ``with_usage`` fills in what the cell's servers hold on each,
        leaving out ``exclude_instance_uuid`` (a server being moved or
        rebuilt does not compete with itself).
        """
        nodes = [cls.from_db_row(context, r) for r in db.get_all(context)]
        if with_usage:
            usage = claims.usage_by_node(context, exclude_instance_uuid)
            for node in nodes:
                held, running = usage.get(
                    (node.host, node.node), (Resources(), 0)
                )
                node.used_vcpus = held.vcpus
                node.used_memory_mb = held.memory_mb
                node.used_disk_gb = held.disk_gb
                node.running_instances = running
                node.obj_reset_changes()
        return nodes

    @classmethod
    def get_by_host_and_node(
        cls, context: "RequestContext", host: str, node: str
    ) -> "ComputeNode":
        row = db.get_by_host_and_node(context, host, node)
        if row is None:
            raise exception.ComputeHostNotFound(
                host=host, node=node, database=context.database
            )
        return cls.from_db_row(context, row)

    def create(self) -> None:
        """Register the node in the context's cell."""
        if self.obj_attr_is_set("id"):
            raise exception.ObjectActionError(
                action="create", reason="already created"
            )
        if not self.obj_attr_is_set("uuid"):
            self.uuid = uuidutils.generate_uuid()
        values = {n: getattr(self, n) for n in ("uuid", "host", "node")}
        values.update({n: getattr(self, n) for n in SETTABLE})
        self.id = db.create(self._context, values)
        self.obj_reset_changes()

    def save(self) -> None:
        """Write the changed operator fields (state, capacity, zone...)."""
        changes = {
            name: getattr(self, name)
            for name in self.obj_what_changed()
            if name in SETTABLE
        }
        if changes:
            db.update(self._context, self.host, self.node, changes)
        self.obj_reset_changes()
