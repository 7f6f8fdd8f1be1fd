"""Write reqspec specs back as the rows Nova 34 keeps (``export-nova``).

The way back from reqspec to Nova: each spec becomes the ``nova_object``
primitive of a Nova RequestSpec 1.15 (with Nova 34's nested versions, as
``nova_primitive.KNOWN_NOVA_VERSIONS`` lists them), holding what Nova's
own ``RequestSpec._get_update_primitives`` stores: every persistent field,
the per-move ones as None, a server group without members and hosts.
``nova_translation`` reads such a row back to the same spec.

Rows are matched to Nova's by instance uuid. A Nova row that already
translates to the same spec is left as it is (it keeps Nova's own
bookkeeping: flavor ids, image checksums, timestamps); any other is
replaced; a missing one is inserted with the spec's own timestamps. So a
re-run changes nothing, and an interrupted export carries on.
"""

from collections.abc import Iterator
import dataclasses
import enum
from typing import Any
from typing import TYPE_CHECKING
from typing import TypeVar

from oslo_serialization import jsonutils
from oslo_versionedobjects import fields as ovo_fields

from reqspec import exception
from reqspec.db import nova_target
from reqspec.db import request_specs as db
from reqspec.objects import base
from reqspec.objects import nova_primitive
from reqspec.objects import nova_translation
from reqspec.objects.flavor import Flavor
from reqspec.objects.image_meta import ImageMeta
from reqspec.objects.instance_group import InstanceGroup
from reqspec.objects.numa import InstanceNUMATopology
from reqspec.objects.pci import InstancePCIRequests
from reqspec.objects.request_spec import RequestSpec
from reqspec.objects.scheduling import SchedulerLimits
from reqspec.objects.security_group import SecurityGroup

if TYPE_CHECKING:
    from reqspec.context import RequestContext

ObjT = TypeVar("ObjT", bound=base.ReqspecObject)

#: Nova 34's versions of what an exported row holds.
NOVA_VERSIONS = {
    **nova_primitive.KNOWN_NOVA_VERSIONS,
    "RequestSpec": nova_primitive.NEWEST_NOVA_VERSION,
}

_PAGESIZES = {v: k for k, v in nova_primitive.NOVA_PAGESIZE_POLICIES.items()}

#: Nova RequestSpec fields that are per move: stored as None, as Nova does.
_NONE_IN_NOVA_ROWS = ("ignore_hosts", "requested_destination", "retry")


def _wrap(name: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "nova_object.name": name,
        "nova_object.namespace": "nova",
        "nova_object.version": NOVA_VERSIONS[name],
        "nova_object.data": data,
    }


def _values(obj: base.ReqspecObject, names: tuple[str, ...]) -> dict[str, Any]:
    """The fields of ``obj`` that hold a value, as JSON values. Nova reads
    an absent nested field as "not given", which is what None meant."""
    out = {}
    for name in names:
        if obj.obj_attr_is_set(name):
            value = getattr(obj, name)
            if isinstance(value, set):
                value = sorted(value)
            if value is not None:
                out[name] = value
    return out


def to_nova_primitive(spec: RequestSpec) -> dict[str, Any]:
    """The Nova RequestSpec 1.15 primitive of ``spec``."""
    data: dict[str, Any] = {
        "instance_uuid": spec.instance_uuid,
        "flavor": _flavor(spec.flavor),
        "num_instances": spec.num_instances,
        "is_bfv": spec.is_bfv,
        "scheduler_hints": dict(spec.scheduler_hints),
        "security_groups": _wrap(
            "SecurityGroupList",
            {"objects": [_security_group(g) for g in spec.security_groups]},
        ),
    }
    for name in (
        "project_id",
        "user_id",
        "availability_zone",
        "force_hosts",
        "force_nodes",
    ):
        data[name] = (
            getattr(spec, name) if spec.obj_attr_is_set(name) else None
        )
    data["image"] = spec.image and _image(spec.image)
    data["numa_topology"] = spec.numa_topology and _numa(spec.numa_topology)
    data["pci_requests"] = spec.pci_requests and _pci(spec.pci_requests)
    data["limits"] = spec.limits and _limits(spec.limits)
    data["instance_group"] = spec.instance_group and _group(
        spec.instance_group
    )
    for name in _NONE_IN_NOVA_ROWS:
        data[name] = None
    return _wrap("RequestSpec", data)


def _flavor(flavor: Flavor) -> dict[str, Any]:
    return _wrap("Flavor", _values(flavor, tuple(flavor.fields)))


def _image(image: ImageMeta) -> dict[str, Any]:
    names = tuple(n for n in image.fields if n != "properties")
    data = _values(image, names)
    props = image.properties
    data["properties"] = _wrap("ImageMetaProps", _values(props, props.fields))
    return _wrap("ImageMeta", data)


def _numa(topology: InstanceNUMATopology) -> dict[str, Any]:
    cells = []
    for i, cell in enumerate(topology.cells):
        data = _values(
            cell,
            ("id", "cpuset", "pcpuset", "memory", "pagesize", "cpu_policy"),
        )
        data.setdefault("cpuset", [])
        data.setdefault("pcpuset", [])
        policy = cell.pagesize_policy if "pagesize_policy" in cell else None
        if policy is not None:
            if "pagesize" in data:
                raise exception.NovaSpecUnconvertible(
                    reason=f"spec.numa_topology.cells.{i}: both a page size "
                    "and a page size policy (a Nova cell holds one)"
                )
            data["pagesize"] = _PAGESIZES[policy]
        data.setdefault("pagesize", None)
        data.setdefault("cpu_policy", None)
        # What Nova writes for a cell nobody has pinned yet.
        data["cpu_thread_policy"] = (
            cell.cpu_thread_policy if "cpu_thread_policy" in cell else None
        )
        data["cpuset_reserved"] = None
        data["cpu_pinning_raw"] = None
        cells.append(_wrap("InstanceNUMACell", data))
    data = _values(topology, ("instance_uuid",))
    data["cells"] = cells
    data["emulator_threads_policy"] = (
        topology.emulator_threads_policy
        if "emulator_threads_policy" in topology
        else None
    )
    return _wrap("InstanceNUMATopology", data)


def _pci(requests: InstancePCIRequests) -> dict[str, Any]:
    items = [
        _wrap(
            "InstancePCIRequest",
            _values(
                item,
                ("count", "spec", "alias_name", "numa_policy", "request_id"),
            ),
        )
        for item in requests.requests
    ]
    data = _values(requests, ("instance_uuid",))
    data["requests"] = items
    return _wrap("InstancePCIRequests", data)


def _limits(limits: SchedulerLimits) -> dict[str, Any]:
    data: dict[str, Any] = {
        name: getattr(limits, name) if name in limits else None
        for name in ("vcpu", "disk_gb", "memory_mb")
    }
    numa = limits.numa_topology if "numa_topology" in limits else None
    data["numa_topology"] = numa and _wrap(
        "NUMATopologyLimits",
        _values(numa, ("cpu_allocation_ratio", "ram_allocation_ratio")),
    )
    return _wrap("SchedulerLimits", data)


def _group(group: InstanceGroup) -> dict[str, Any]:
    data = _values(group, ("uuid", "name", "policy"))
    data["_rules"] = dict(group.rules) if "rules" in group else {}
    # Nova never stores these (they go stale); it reloads the group.
    data["members"] = None
    data["hosts"] = None
    return _wrap("InstanceGroup", data)


def _security_group(group: SecurityGroup) -> dict[str, Any]:
    name = group.name
    uuid = group.uuid if "uuid" in group else None
    if uuid == name:
        # Given by uuid at boot: Nova's API keeps such a group as its uuid
        # alone (nova.network.security_group_api.populate_security_groups),
        # which nova_translation reads as this very pair.
        return _wrap("SecurityGroup", {"uuid": name})
    return _wrap("SecurityGroup", _values(group, ("name", "uuid")))


def to_nova_json(spec: RequestSpec) -> str:
    return str(jsonutils.dumps(to_nova_primitive(spec)))


class Outcome(enum.Enum):
    WRITTEN = "written"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    UNCONVERTIBLE = "unconvertible"


@dataclasses.dataclass(frozen=True)
class RowResult:
    instance_uuid: str
    outcome: Outcome
    reason: str = ""


def _same_spec(instance_uuid: str, text: str, spec: RequestSpec) -> bool:
    """Whether a Nova row already says what ``spec`` says."""
    try:
        found = nova_translation.translate(instance_uuid, text).spec
    except exception.NovaSpecUnconvertible:
        return False
    return complete(found).to_document() == complete(spec).to_document()


def complete(obj: ObjT) -> ObjT:
    """A copy of ``obj`` with every unset field at what reading it means:
    its default, or None. (A Nova row spells out a None that a reqspec
    document may leave out; both mean the same.)"""
    obj = obj.obj_clone()
    _fill(obj)
    return obj


def _fill(obj: base.ReqspecObject) -> None:
    for name, field in obj.fields.items():
        if obj.obj_attr_is_set(name):
            value = getattr(obj, name)
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, base.ReqspecObject):
                    _fill(child)
        elif field.default is not ovo_fields.UnspecifiedDefault:
            obj.obj_set_defaults(name)
        elif field.nullable:
            setattr(obj, name, None)


def export_batch(
    ctx: "RequestContext",
    target: nova_target.NovaTarget,
    specs: list[RequestSpec],
) -> list[RowResult]:
    """Write one batch of specs (of the context's database) to ``target``."""
    uuids = [s.instance_uuid for s in specs]
    times = db.timestamps(ctx, uuids)
    existing = target.specs_of(uuids)
    inserts, updates, results = [], [], []
    for spec in specs:
        uuid = spec.instance_uuid
        created_at, updated_at = times.get(uuid, (None, None))
        current = existing.get(uuid)
        if current is not None and _same_spec(uuid, current, spec):
            results.append(RowResult(uuid, Outcome.UNCHANGED))
            continue
        try:
            text = to_nova_json(spec)
        except exception.NovaSpecUnconvertible as err:
            results.append(RowResult(uuid, Outcome.UNCONVERTIBLE, err.message))
            continue
        row = nova_target.Row(uuid, text, created_at, updated_at)
        if current is None:
            inserts.append(row)
            results.append(RowResult(uuid, Outcome.WRITTEN))
        else:
            updates.append(row)
            results.append(RowResult(uuid, Outcome.UPDATED))
    target.write(inserts, updates)
    return results


def export_from(
    ctx: "RequestContext",
    target: nova_target.NovaTarget,
    batch_size: int = 500,
) -> Iterator[RowResult]:
    """Export every spec of the context's database, a batch at a time."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    batch: list[RequestSpec] = []
    for spec in RequestSpec.iter_all(ctx, batch_size):
        batch.append(spec)
        if len(batch) == batch_size:
            yield from export_batch(ctx, target, batch)
            batch = []
    if batch:
        yield from export_batch(ctx, target, batch)
