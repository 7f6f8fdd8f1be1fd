"""Real Nova 34, driven from reqspec's tests in a process of its own.

Run with the Python of a virtualenv that has ``nova==34.0.0`` (never
reqspec's: both projects register objects of the same names in
oslo.versionedobjects' registry). One JSON request on stdin, one JSON
answer on stdout; Nova's start-up takes seconds, so each call handles a
whole batch of cases.

``generate`` builds, with Nova's own code, the spec of each case (a dict of
plain parameters drawn by hypothesis in the test process: flavor extra
specs for every NUMA and PCI shape, image, server group, security groups
by name and by uuid, hints, limits, forced hosts, the per-move fields...),
stores it in a fresh Nova API database (``RequestSpec.create()`` for 1.15,
Nova's own backport and private writer for 1.5 to 1.14, as
``tools/make_nova_fixture.py`` does) and answers with what Nova then loads
back. It also leaves an empty copy of that database (same server groups,
no specs) for the export to write into.

``load`` answers with what Nova loads (``RequestSpec.get_by_instance_uuid``)
from a database for the given instance uuids: the round trip's judge.
"""

import contextlib
import json
import os
import shutil
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))

PROJECT = "0a4f8c5e2b7d4a9e8f6c1d3b5a7e9c21"
USER = "fd2b0a6e8fba4b0e9c3a1f0c1f1d0a11"

ALIASES = [
    {
        "vendor_id": "8086",
        "product_id": "1520",
        "name": "nic-vf",
        "device_type": "type-VF",
        "numa_policy": "preferred",
    },
    {
        "vendor_id": "10de",
        "product_id": "20b5",
        "name": "gpu",
        "device_type": "type-PCI",
        "numa_policy": "required",
    },
]


def setup(db_path: str, workdir: str) -> None:
    import nova.conf

    conf_path = os.path.join(workdir, "nova.conf")
    with open(conf_path, "w") as f:
        f.write(
            "[DEFAULT]\ntransport_url = fake:/\n"
            "[oslo_messaging_notifications]\ndriver = noop\n"
            f"[api_database]\nconnection = sqlite:///{db_path}\n"
            "[pci]\n" + "".join(f"alias = {json.dumps(a)}\n" for a in ALIASES)
        )
    conf = nova.conf.CONF
    conf([], project="nova", default_config_files=[conf_path])

    from nova import objects
    from nova import rpc
    from nova.db.api import api as api_db_api

    objects.register_all()
    api_db_api.configure(conf)
    rpc.init(conf)


def context():  # type: ignore[no-untyped-def]
    from nova import context as nova_context

    return nova_context.RequestContext(USER, PROJECT, is_admin=True)


def generate(request: dict) -> dict:
    from nova.db import migration

    workdir = request["workdir"]
    source = os.path.join(workdir, "nova_api.sqlite")
    target = os.path.join(workdir, "nova_api_export.sqlite")
    setup(source, workdir)
    migration.db_sync(database="api")
    ctx = context()
    groups = {}
    for case in request["cases"]:
        if case.get("group"):
            groups[case["name"]] = make_group(ctx, case["name"], case["group"])
    # The database the export writes to: Nova's schema and the same server
    # groups (a spec's group is reloaded from its row), but no specs.
    shutil.copyfile(source, target)
    uuids = []
    for case in request["cases"]:
        uuids.append(store(ctx, case, groups.get(case["name"])))
    return {
        "source": source,
        "target": target,
        "uuids": uuids,
        "stored_versions": [c["stored_version"] for c in request["cases"]],
        "views": views(ctx, uuids),
    }


def load(request: dict) -> dict:
    setup(request["database"], request["workdir"])
    ctx = context()
    return {"views": views(ctx, request["uuids"])}


def make_group(ctx, name: str, params: dict):  # type: ignore[no-untyped-def]
    from nova import objects

    group = objects.InstanceGroup(
        ctx,
        uuid=str(uuid.uuid4()),
        name=params["name"],
        user_id=ctx.user_id,
        project_id=ctx.project_id,
        policy=params["policy"],
        rules=params["rules"],
        members=params["members"],
    )
    group.create()
    made = objects.InstanceGroup.get_by_uuid(ctx, group.uuid)
    # What the scheduler fills in (_populate_group_info); Nova's writer
    # must not store it.
    made.hosts = params["hosts"]
    return made


def store(ctx, case: dict, group) -> str:  # type: ignore[no-untyped-def]
    from nova import exception
    from nova import objects
    from nova.network import security_group_api
    from nova.objects import request_spec as nova_request_spec
    from nova.pci import request as pci_request
    from nova.scheduler import utils as scheduler_utils
    from nova.virt import hardware
    from oslo_serialization import jsonutils

    flavor = objects.Flavor(
        ctx,
        id=case["flavor"]["id"],
        flavorid=str(case["flavor"]["id"]),
        name=case["flavor"]["name"],
        memory_mb=case["flavor"]["memory_mb"],
        vcpus=case["flavor"]["vcpus"],
        root_gb=case["flavor"]["root_gb"],
        ephemeral_gb=case["flavor"]["ephemeral_gb"],
        swap=case["flavor"]["swap"],
        rxtx_factor=1.0,
        vcpu_weight=None,
        disabled=False,
        is_public=True,
        description=case["flavor"]["description"],
        extra_specs=case["flavor"]["extra_specs"],
    )
    hints = dict(case["hints"])
    if group is not None:
        hints["group"] = group.uuid
    # What nova.compute.api does for one instance of a boot.
    filter_properties = scheduler_utils.build_filter_properties(
        hints, case["forced_host"], case["forced_node"], flavor
    )
    image = case["image"]
    image_meta = objects.ImageMeta.from_dict(image or {})
    numa = hardware.numa_get_constraints(flavor, image_meta)
    pci = pci_request.get_pci_requests_from_flavor(flavor)
    if case["port_pci_request"]:
        # A Neutron SR-IOV port's request (network API's
        # create_resource_requests): one VF, tied to the port.
        pci.requests.append(
            objects.InstancePCIRequest(
                count=1,
                spec=[{"physical_network": "physnet2"}],
                request_id=str(uuid.uuid4()),
                requester_id=str(uuid.uuid4()),
            )
        )
    instance_uuid = str(uuid.uuid4())
    if numa is not None:
        # Instance.create() sets it on the shared object; later saves of
        # the spec carry it (and Nova's reading of older rows needs it).
        numa.instance_uuid = instance_uuid
    spec = objects.RequestSpec.from_components(
        ctx,
        instance_uuid,
        image,
        flavor,
        numa,
        pci,
        filter_properties,
        group,
        case["availability_zone"],
        security_groups=security_group_api.populate_security_groups(
            case["security_groups"]
        ),
    )
    spec.is_bfv = case["is_bfv"]
    spec.num_instances = case["num_instances"]
    set_limits(spec, case["limits"])
    set_per_move(spec, case)
    version = case["version"]
    primitive = None
    if version != objects.RequestSpec.VERSION:
        # Nova refuses to backport what that release could not have
        # written (a mixed CPU policy in a 1.8 row...): stored at 1.15 then.
        if manifest(version).get("SecurityGroup", "1.0") < "1.2":
            # Before SecurityGroup 1.2 Nova kept whatever the user gave,
            # uuid or not, as the group's name.
            spec.security_groups = objects.SecurityGroupList(
                objects=[
                    objects.SecurityGroup(name=g)
                    for g in case["security_groups"]
                ]
            )
        with contextlib.suppress(exception.ObjectActionError):
            primitive = spec.obj_to_primitive(
                target_version=version, version_manifest=manifest(version)
            )
    if primitive is None:
        spec.create()
        case["stored_version"] = objects.RequestSpec.VERSION
        return instance_uuid
    case["stored_version"] = version
    strip_unpersisted(primitive)
    nova_request_spec.RequestSpec._create_in_db(
        ctx,
        {"instance_uuid": instance_uuid, "spec": jsonutils.dumps(primitive)},
    )
    return instance_uuid


def set_limits(spec, limits: dict | None) -> None:  # type: ignore[no-untyped-def]
    from nova import objects

    if limits is None:
        return
    numa = None
    if limits["numa"] is not None:
        numa = objects.NUMATopologyLimits(
            cpu_allocation_ratio=limits["numa"]["cpu_allocation_ratio"],
            ram_allocation_ratio=limits["numa"]["ram_allocation_ratio"],
            network_metadata=objects.NetworkMetadata(
                physnets=set(limits["numa"]["physnets"]),
                tunneled=limits["numa"]["tunneled"],
            ),
        )
    spec.limits = objects.SchedulerLimits(
        vcpu=limits["vcpu"],
        memory_mb=limits["memory_mb"],
        disk_gb=limits["disk_gb"],
        numa_topology=numa,
    )


def set_per_move(spec, case: dict) -> None:  # type: ignore[no-untyped-def]
    """What the conductor sets for one scheduling request; Nova's own
    writer must leave all of it out of the stored row."""
    from nova import objects

    per_move = case["per_move"]
    if per_move is None:
        return
    spec.retry = objects.SchedulerRetries(
        num_attempts=per_move["attempts"],
        hosts=objects.ComputeNodeList(objects=[]),
    )
    spec.ignore_hosts = per_move["ignore_hosts"]
    spec.requested_destination = objects.Destination(
        host=per_move["destination"]
    )
    spec.requested_resources = [
        objects.RequestGroup(
            requester_id=str(uuid.uuid4()),
            resources={"NET_BW_EGR_KILOBIT_PER_SEC": 1000},
            required_traits={"CUSTOM_PHYSNET_PHYSNET0"},
        )
    ]
    spec.request_level_params = objects.RequestLevelParams(
        root_required=set(per_move["root_required"]),
        root_forbidden=set(),
        same_subtree=[],
    )
    spec.network_metadata = objects.NetworkMetadata(
        physnets=set(per_move["physnets"]), tunneled=True
    )


def manifest(version: str) -> dict:
    """Child versions for an older RequestSpec: those of the newest release
    in make_nova_fixture.OLDER at or before ``version``."""
    from make_nova_fixture import OLDER  # type: ignore[import-not-found]

    def key(v: str) -> tuple[int, ...]:
        return tuple(int(p) for p in v.split("."))

    chosen: dict = {}
    for listed, children in OLDER:
        if key(listed) <= key(version):
            chosen = {**chosen, **children}
    return chosen


def strip_unpersisted(primitive: dict) -> None:
    """RequestSpec._get_update_primitives' rules, on a backported row."""
    data = primitive["nova_object.data"]
    for name in (
        "network_metadata",
        "requested_networks",
        "request_level_params",
    ):
        data.pop(name, None)
    for name in (
        "retry",
        "requested_destination",
        "requested_resources",
        "ignore_hosts",
    ):
        if data.get(name):
            data[name] = None
    group = data.get("instance_group")
    if group:
        group["nova_object.data"]["members"] = None
        group["nova_object.data"]["hosts"] = None


def views(ctx, uuids: list) -> dict:  # type: ignore[no-untyped-def]
    from nova import objects

    out = {}
    for instance_uuid in uuids:
        spec = objects.RequestSpec.get_by_instance_uuid(ctx, instance_uuid)
        out[instance_uuid] = plain(spec)
    return out


def plain(obj):  # type: ignore[no-untyped-def]
    """Every set field of a Nova object, recursively, as JSON values."""
    from oslo_versionedobjects import base as ovo_base

    if isinstance(obj, ovo_base.ObjectListBase):
        return [plain(o) for o in obj.objects]
    if isinstance(obj, ovo_base.VersionedObject):
        return {
            name: plain(getattr(obj, name))
            for name in obj.fields
            if obj.obj_attr_is_set(name)
        }
    if isinstance(obj, (set, frozenset)):
        return sorted(plain(v) for v in obj)
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return obj


def main() -> int:
    request = json.load(sys.stdin)
    answer = {"generate": generate, "load": load}[request["command"]](request)
    json.dump(answer, sys.stdout)
    return 0


if __name__ == "__main__":
    # Nova's import-time chatter goes to stderr; stdout is the answer.
    sys.exit(main())
