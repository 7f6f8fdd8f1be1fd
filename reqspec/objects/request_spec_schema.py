"""What a RequestSpec is: its fields, their groups, its versions.

``RequestSpecSchema`` declares the fields and what they mean (the
read-throughs to the flavor, the per-move reset); the class registered as
``RequestSpec`` (``reqspec.objects.request_spec``) adds, one layer per
module, building from API input (``request_spec_builder``), reading
(``request_spec_stored``) and writing. The upgrade steps of stored
documents sit here next to the version history they follow.
"""

from typing import Any

from oslo_utils import versionutils

from reqspec.objects import base
from reqspec.objects import fields


# Not registered itself (only ``RequestSpec`` is an object type), but given
# its field properties, as oslo.versionedobjects does for abstract bases.
@base.ReqspecObjectRegistry.register_if(False)
class RequestSpecSchema(base.ReqspecObject):
    """The scheduling request of one server, kept for its whole life.

    Fields fall into three disjoint groups, declared once below and read by
    everything that needs to know (the document format, the loader and
    ``clear_per_move``):

    * ``ROW_FIELDS``: the identity of the stored row (``id``) and its
      optimistic-concurrency ``generation``; kept in columns, not in the
      document.
    * ``PERSISTENT_FIELDS``: the user's lasting constraints. The stored
      document is made of exactly these.
    * ``PER_MOVE_FIELDS``: computed for one scheduling request (retries,
      hosts to avoid, an admin's target host, resources derived from
      ports...). The codec never looks at them, so they cannot reach
      storage whatever their value.
    """

    # Version 1.0: Initial version
    # Version 1.1: Added security_groups and is_bfv
    # Version 1.2: Added requested_resources, request_level_params,
    #              requested_networks and network_metadata; Destination 1.1
    # Version 1.3: InstanceNUMATopology 1.1 (InstanceNUMACell.pagesize_policy)
    VERSION = "1.3"

    fields = {
        "id": fields.IntegerField(nullable=True),
        "generation": fields.NonNegativeIntegerField(nullable=True),
        "instance_uuid": fields.UUIDField(),
        "project_id": fields.StringField(nullable=True),
        "user_id": fields.StringField(nullable=True),
        "availability_zone": fields.StringField(nullable=True),
        "flavor": fields.ObjectField("Flavor"),
        "image": fields.ObjectField("ImageMeta", nullable=True),
        "numa_topology": fields.ObjectField(
            "InstanceNUMATopology", nullable=True
        ),
        "pci_requests": fields.ObjectField(
            "InstancePCIRequests", nullable=True
        ),
        "num_instances": fields.NonNegativeIntegerField(default=1),
        "force_hosts": fields.ListOfStringsField(nullable=True),
        "force_nodes": fields.ListOfStringsField(nullable=True),
        "limits": fields.ObjectField("SchedulerLimits", nullable=True),
        "instance_group": fields.ObjectField("InstanceGroup", nullable=True),
        "scheduler_hints": fields.DictOfListOfStringsField(default={}),
        "security_groups": fields.ListOfObjectsField(
            "SecurityGroup", default=[]
        ),
        "is_bfv": fields.BooleanField(default=False),
        # Per-move fields.
        "ignore_hosts": fields.ListOfStringsField(nullable=True),
        "requested_destination": fields.ObjectField(
            "Destination", nullable=True
        ),
        "retry": fields.ObjectField("SchedulerRetries", nullable=True),
        "requested_resources": fields.ListOfObjectsField(
            "RequestGroup", default=[]
        ),
        "request_level_params": fields.ObjectField(
            "RequestLevelParams", nullable=True
        ),
        "requested_networks": fields.ListOfObjectsField(
            "NetworkRequest", default=[]
        ),
        "network_metadata": fields.ObjectField(
            "NetworkMetadata", nullable=True
        ),
    }

    ROW_FIELDS = ("id", "generation")
    PERSISTENT_FIELDS = (
        "instance_uuid",
        "project_id",
        "user_id",
        "availability_zone",
        "flavor",
        "image",
        "numa_topology",
        "pci_requests",
        "num_instances",
        "force_hosts",
        "force_nodes",
        "limits",
        "instance_group",
        "scheduler_hints",
        "security_groups",
        "is_bfv",
    )
    PER_MOVE_FIELDS = (
        "ignore_hosts",
        "requested_destination",
        "retry",
        "requested_resources",
        "request_level_params",
        "requested_networks",
        "network_metadata",
    )

    # Only uuid, policy and rules of a server group are stored: members and
    # hosts go stale and are looked up fresh by whoever schedules.
    STORED_SUBSETS = {"instance_group": ("uuid", "policy", "rules")}

    obj_relationships = {
        "flavor": [("1.0", "1.0")],
        "image": [("1.0", "1.0")],
        "numa_topology": [("1.0", "1.0"), ("1.3", "1.1")],
        "pci_requests": [("1.0", "1.0")],
        "limits": [("1.0", "1.0")],
        "instance_group": [("1.0", "1.0")],
        "requested_destination": [("1.0", "1.0"), ("1.2", "1.1")],
        "retry": [("1.0", "1.0")],
        "security_groups": [("1.1", "1.0")],
        "requested_resources": [("1.2", "1.0")],
        "request_level_params": [("1.2", "1.0")],
        "requested_networks": [("1.2", "1.0")],
        "network_metadata": [("1.2", "1.0")],
    }

    def obj_make_compatible(
        self, primitive: dict[str, Any], target_version: str
    ) -> None:
        super().obj_make_compatible(primitive, target_version)
        target = versionutils.convert_version_to_tuple(target_version)
        if target < (1, 2):
            base.remove_fields(
                primitive,
                "requested_resources",
                "request_level_params",
                "requested_networks",
                "network_metadata",
            )
        if target < (1, 1):
            base.remove_fields(primitive, "security_groups", "is_bfv")

    # -- convenience -------------------------------------------------------

    @property
    def vcpus(self) -> int:
        return self.flavor.vcpus

    @property
    def memory_mb(self) -> int:
        return self.flavor.memory_mb

    @property
    def root_gb(self) -> int:
        return self.flavor.root_gb

    @property
    def ephemeral_gb(self) -> int:
        return self.flavor.ephemeral_gb

    @property
    def swap(self) -> int:
        return self.flavor.swap

    @property
    def disk_gb(self) -> int:
        """Local disk the server needs: root (unless boot-from-volume),
        ephemeral and swap (swap is in MiB, rounded up to GiB)."""
        root = 0 if self.is_bfv else self.root_gb
        return root + self.ephemeral_gb + -(-self.swap // 1024)

    @property
    def instance_group_uuid(self) -> str | None:
        """The server group's uuid, or None (stored in its own indexed
        column too)."""
        if not self.obj_attr_is_set("instance_group"):
            return None
        group = self.instance_group
        return None if group is None else str(group.uuid)

    def get_scheduler_hint(self, name: str, default: Any = None) -> Any:
        """A hint's value: a single-item list is returned as the item."""
        values = self.scheduler_hints.get(name)
        if not values:
            return default
        return values[0] if len(values) == 1 else values

    def clear_per_move(self) -> None:
        """Forget every per-move field, so the next move starts clean."""
        for name in self.PER_MOVE_FIELDS:
            if self.obj_attr_is_set(name):
                delattr(self, name)
        self._changed_fields.difference_update(self.PER_MOVE_FIELDS)

    def reset_forced_destinations(self) -> None:
        """Drop forced hosts/nodes for moves that must be free to leave.

        As in Nova: ``az:host`` at boot pins the first placement; a migrate
        or an evacuate has to be able to go elsewhere (an admin who wants a
        particular host says so with a requested destination instead).
        """
        self.force_hosts = None
        self.force_nodes = None


# -- upgrades of stored documents ---------------------------------------------
#
# One step from each older version to the next (see ``VERSION`` above):
# what a document written at that version means at the next one.


def _upgrade_1_0(spec: dict[str, Any]) -> dict[str, Any]:
    # 1.1 added two persistent fields; a 1.0 spec had neither, which means
    # exactly their defaults.
    spec.setdefault("security_groups", [])
    spec.setdefault("is_bfv", False)
    return spec


def _upgrade_1_1(spec: dict[str, Any]) -> dict[str, Any]:
    # 1.2 added only per-move fields, which are never stored.
    return spec


def _upgrade_1_2(spec: dict[str, Any]) -> dict[str, Any]:
    # 1.3 let a NUMA cell ask for a page size policy; a 1.2 cell has none,
    # which is what a missing nullable field means.
    return spec


UPGRADES = {
    "1.0": _upgrade_1_0,
    "1.1": _upgrade_1_1,
    "1.2": _upgrade_1_2,
}
