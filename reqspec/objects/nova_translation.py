"""Translate a spec stored by Nova into a reqspec ``RequestSpec``.

Nova keeps, in its API database's ``request_specs.spec`` column, the JSON
primitive of its own RequestSpec object (``nova_object.name``,
``nova_object.version``, ``nova_object.data``, ``nova_object.changes``,
with Flavor, ImageMeta, InstanceGroup... nested the same way), at whatever
RequestSpec version the Nova release that last saved it had: 1.5 (the
first stored one) to 1.15. This module reads that primitive as data (it
never imports Nova) and builds the equivalent reqspec objects.

What is kept: everything the user asked for (flavor with its extra specs,
image and its properties, availability zone, server group uuid, policy and
rules, hints, forced hosts and nodes, NUMA and PCI requests, limits,
security groups, boot-from-volume, project and user). What is dropped, and
said so in the row's notes when it held a value: image properties reqspec
does not model (driver tuning that does not steer scheduling) and fields
that are per move in reqspec (retry, ignore_hosts,
requested_destination...; old Nova releases stored some of them by
mistake). Catalogue bookkeeping (timestamps, ``deleted``, a flavor's
``projects``, an image's checksum and owner, a group's members and hosts,
NUMA pinning results) is dropped silently: reqspec never stores it.

Nova's own read-time repairs are applied here once, with a note: a server
group without a uuid takes it from the ``group`` hint, a pre-1.11 group's
``policies`` list becomes its ``policy``, and a dedicated NUMA cell with its
CPUs in ``cpuset`` moves them to ``pcpuset``.

Anything that cannot be represented faithfully is refused with
``NovaSpecUnconvertible`` naming the field: dropping a constraint silently
would let a server be scheduled where it must not run.
"""

import dataclasses
from typing import Any

from oslo_serialization import jsonutils
from oslo_utils import versionutils

from reqspec import exception
from reqspec.objects.flavor import Flavor
from reqspec.objects.image_meta import ImageMeta
from reqspec.objects.image_meta import ImageMetaProps
from reqspec.objects.instance_group import InstanceGroup
from reqspec.objects.nova_primitive import Bad as _Bad
from reqspec.objects.nova_primitive import copy_fields as _copy
from reqspec.objects.nova_primitive import fail as _fail
from reqspec.objects.nova_primitive import NEWEST_NOVA_VERSION
from reqspec.objects.nova_primitive import NOVA_PAGESIZE_POLICIES
from reqspec.objects.nova_primitive import set_field as _set
from reqspec.objects.nova_primitive import unwrap as _unwrap
from reqspec.objects.numa import InstanceNUMACell
from reqspec.objects.numa import InstanceNUMATopology
from reqspec.objects.pci import InstancePCIRequest
from reqspec.objects.pci import InstancePCIRequests
from reqspec.objects.request_spec import RequestSpec
from reqspec.objects.scheduling import NUMATopologyLimits
from reqspec.objects.scheduling import SchedulerLimits
from reqspec.objects.security_group import SecurityGroup

_PER_MOVE = (
    "ignore_hosts",
    "requested_destination",
    "retry",
    "network_metadata",
    "requested_resources",
    "request_level_params",
    "requested_networks",
)


@dataclasses.dataclass
class Translation:
    """A converted spec and what the conversion had to say about it."""

    spec: RequestSpec
    notes: list[str]


def translate(instance_uuid: str, text: str) -> Translation:
    """Build the reqspec spec of one Nova ``request_specs`` row.

    ``NovaSpecUnconvertible`` says why a row cannot be converted.
    """
    notes: list[str] = []
    try:
        try:
            primitive = jsonutils.loads(text)
        except ValueError as err:
            raise _Bad(f"not valid JSON ({str(err)[:120]})") from None
        spec = _request_spec(instance_uuid, primitive, notes)
        # The same checks as every write: a spec that converts is storable.
        spec.to_document()
    except _Bad as err:
        raise exception.NovaSpecUnconvertible(reason=str(err)) from None
    except exception.InvalidRequestSpec as err:
        raise exception.NovaSpecUnconvertible(reason=err.message) from None
    return Translation(spec, notes)


def _request_spec(
    instance_uuid: str, primitive: Any, notes: list[str]
) -> RequestSpec:
    version, data = _unwrap(primitive, "RequestSpec", "spec")
    try:
        parsed = versionutils.convert_version_to_tuple(version)
    except ValueError:
        raise _fail("spec", f"bad RequestSpec version {version!r}") from None
    newest = versionutils.convert_version_to_tuple(NEWEST_NOVA_VERSION)
    if parsed > newest:
        raise _fail(
            "spec",
            f"Nova RequestSpec {version} is newer than this importer knows "
            f"(up to {NEWEST_NOVA_VERSION})",
        )
    stored_uuid = data.get("instance_uuid", instance_uuid)
    if stored_uuid != instance_uuid:
        raise _fail(
            "spec.instance_uuid",
            f"the row of {instance_uuid} holds the spec of {stored_uuid}",
        )

    spec = RequestSpec()
    spec.instance_uuid = instance_uuid
    _copy(spec, data, ("project_id", "user_id", "availability_zone"), "spec")
    _copy(spec, data, ("num_instances", "force_hosts", "force_nodes"), "spec")
    if "flavor" not in data or data["flavor"] is None:
        raise _fail("spec.flavor", "missing")
    spec.flavor = _flavor(data["flavor"])
    spec.image = _image(data.get("image"), notes)
    spec.numa_topology = _numa(data.get("numa_topology"), notes)
    spec.pci_requests = _pci(data.get("pci_requests"), notes)
    spec.limits = _limits(data.get("limits"), notes)
    hints = data.get("scheduler_hints") or {}
    _set(spec, "scheduler_hints", hints, "spec")
    spec.instance_group = _group(data.get("instance_group"), hints, notes)
    spec.security_groups = _security_groups(data.get("security_groups"), notes)

    if data.get("is_bfv") is not None:
        _set(spec, "is_bfv", data["is_bfv"], "spec")
    else:
        spec.is_bfv = False
        notes.append(
            _absent(parsed, "is_bfv", (1, 11))
            + ": assumed not booted from volume"
        )
    if "user_id" not in data:
        notes.append(_absent(parsed, "user_id", (1, 9)))
    dropped = [n for n in _PER_MOVE if data.get(n) not in (None, [], {})]
    if dropped:
        notes.append("dropped per-move fields: " + ", ".join(dropped))
    return spec


def _absent(
    version: tuple[int, ...], name: str, since: tuple[int, ...]
) -> str:
    """Why a row has no ``name``: its release did not know the field, or
    Nova simply never set it on this spec."""
    if version < since:
        added = ".".join(map(str, since))
        return f"RequestSpec {_dotted(version)} predates {name} ({added})"
    return f"RequestSpec {_dotted(version)} never set {name}"


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def _flavor(value: Any) -> Flavor:
    _version, data = _unwrap(value, "Flavor", "spec.flavor")
    flavor = Flavor()
    names = tuple(n for n in Flavor.fields if n != "extra_specs")
    _copy(flavor, data, names, "spec.flavor")
    _set(flavor, "extra_specs", data.get("extra_specs") or {}, "spec.flavor")
    return flavor


def _image(value: Any, notes: list[str]) -> ImageMeta | None:
    if value is None:
        return None
    _version, data = _unwrap(value, "ImageMeta", "spec.image")
    image = ImageMeta()
    names = tuple(n for n in ImageMeta.fields if n != "properties")
    _copy(image, data, names, "spec.image")
    props = ImageMetaProps()
    if data.get("properties") is not None:
        _v, raw = _unwrap(
            data["properties"],
            "ImageMetaProps",
            "spec.image.properties",
            notes,
        )
        dropped = []
        for key, prop in sorted(raw.items()):
            if key not in ImageMetaProps.fields:
                dropped.append(key)
            elif prop is not None:
                _set(props, key, prop, "spec.image.properties")
        if dropped:
            notes.append("dropped image properties: " + ", ".join(dropped))
    image.properties = props
    return image


def _numa(value: Any, notes: list[str]) -> InstanceNUMATopology | None:
    if value is None:
        return None
    where = "spec.numa_topology"
    _version, data = _unwrap(value, "InstanceNUMATopology", where)
    topology = InstanceNUMATopology()
    _copy(topology, data, ("instance_uuid", "emulator_threads_policy"), where)
    cells = []
    for i, raw in enumerate(data.get("cells") or []):
        cell_where = f"{where}.cells.{i}"
        _v, cell_data = _unwrap(raw, "InstanceNUMACell", cell_where)
        cell = InstanceNUMACell()
        pagesize = cell_data.get("pagesize")
        if type(pagesize) is int and pagesize < 0:
            if pagesize not in NOVA_PAGESIZE_POLICIES:
                raise _fail(
                    f"{cell_where}.pagesize",
                    f"unknown Nova symbolic page size {pagesize}",
                )
            # A policy, not a size: reqspec keeps it in a field of its own.
            cell_data = dict(cell_data, pagesize=None)
            cell.pagesize_policy = NOVA_PAGESIZE_POLICIES[pagesize]
        _copy(
            cell,
            cell_data,
            ("id", "memory", "pagesize", "cpu_policy", "cpu_thread_policy"),
            cell_where,
        )
        cpuset = list(cell_data.get("cpuset") or [])
        pcpuset = list(cell_data.get("pcpuset") or [])
        if (
            cell_data.get("cpu_policy") == "dedicated"
            and cpuset
            and not (pcpuset)
        ):
            # What Nova's _migrate_legacy_dedicated_instance_cpuset does on
            # read: before InstanceNUMACell 1.5 pinned CPUs were in cpuset.
            pcpuset, cpuset = cpuset, []
            notes.append(f"NUMA cell {i}: dedicated CPUs moved to pcpuset")
        _set(cell, "cpuset", set(cpuset), cell_where)
        _set(cell, "pcpuset", set(pcpuset), cell_where)
        cells.append(cell)
    topology.cells = cells
    return topology


def _pci(value: Any, notes: list[str]) -> InstancePCIRequests | None:
    if value is None:
        return None
    where = "spec.pci_requests"
    _version, data = _unwrap(value, "InstancePCIRequests", where)
    requests = InstancePCIRequests()
    _copy(requests, data, ("instance_uuid",), where)
    items = []
    for i, raw in enumerate(data.get("requests") or []):
        item_where = f"{where}.requests.{i}"
        _v, item_data = _unwrap(raw, "InstancePCIRequest", item_where)
        item = InstancePCIRequest()
        _copy(
            item,
            item_data,
            ("count", "spec", "alias_name", "numa_policy", "request_id"),
            item_where,
        )
        if item_data.get("requester_id") is not None:
            # The Neutron port a device is for: compute binds it from the
            # instance's own PCI requests; scheduling never reads it.
            notes.append("dropped PCI request requester_id (a port's)")
        items.append(item)
    requests.requests = items
    return requests


def _limits(value: Any, notes: list[str]) -> SchedulerLimits | None:
    if value is None:
        return None
    where = "spec.limits"
    _version, data = _unwrap(value, "SchedulerLimits", where)
    limits = SchedulerLimits()
    _copy(limits, data, ("vcpu", "disk_gb", "memory_mb"), where)
    numa = data.get("numa_topology")
    if numa is None:
        limits.numa_topology = None
        return limits
    _v, numa_data = _unwrap(
        numa, "NUMATopologyLimits", where + ".numa_topology"
    )
    numa_limits = NUMATopologyLimits()
    _copy(
        numa_limits,
        numa_data,
        ("cpu_allocation_ratio", "ram_allocation_ratio"),
        where + ".numa_topology",
    )
    if numa_data.get("network_metadata") is not None:
        notes.append("dropped limits.numa_topology.network_metadata")
    limits.numa_topology = numa_limits
    return limits


def _group(
    value: Any, hints: dict[str, Any], notes: list[str]
) -> InstanceGroup | None:
    if value is None:
        return None
    where = "spec.instance_group"
    _version, data = _unwrap(value, "InstanceGroup", where)
    group = InstanceGroup()
    uuid = data.get("uuid")
    if uuid is None:
        hinted = hints.get("group") or []
        if not hinted:
            raise _fail(where, "the group has no uuid and there is no hint")
        uuid = hinted[0]
        notes.append("server group uuid taken from the 'group' hint")
    _set(group, "uuid", uuid, where)
    policy = data.get("policy")
    if policy is None:
        policies = data.get("policies") or []
        if not policies:
            raise _fail(where, "the group has no policy")
        policy = policies[0]
        notes.append("server group policy taken from the pre-1.11 policies")
    _set(group, "policy", policy, where)
    _copy(group, data, ("name",), where)
    if data.get("name") is not None:
        # Not part of the stored document: Nova itself reloads the group's
        # row (name, members, hosts) on every read of a spec.
        notes.append(
            "server group name not stored (Nova reads it from the group)"
        )
    _set(group, "rules", data.get("_rules") or {}, where)
    return group


def _security_groups(value: Any, notes: list[str]) -> list[SecurityGroup]:
    if value is None:
        return []
    where = "spec.security_groups"
    _version, data = _unwrap(value, "SecurityGroupList", where)
    groups = []
    for i, raw in enumerate(data.get("objects") or []):
        item_where = f"{where}.{i}"
        _v, item = _unwrap(raw, "SecurityGroup", item_where)
        group = SecurityGroup()
        _copy(group, item, ("uuid", "name"), item_where)
        if item.get("name") is None:
            if item.get("uuid") is None:
                raise _fail(item_where, "neither a name nor a uuid")
            # Booted with the group given by uuid: Nova's API kept the
            # string in uuid, reqspec's keeps what the user gave in name
            # (nova_export turns it back into a uuid-only group).
            _set(group, "name", item["uuid"], item_where)
            notes.append("security group given by uuid: the uuid is its name")
        groups.append(group)
    return groups
