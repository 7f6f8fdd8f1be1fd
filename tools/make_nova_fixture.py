"""Produce genuine Nova request_specs rows for the import-nova tests.

Run with a Python that has Nova installed (not reqspec: the two
projects' objects share names in oslo.versionedobjects' registry)::

    python3 -m venv /tmp/venv-nova
    /tmp/venv-nova/bin/pip install nova==34.0.0
    /tmp/venv-nova/bin/python tools/make_nova_fixture.py \\
        tests/fixtures/nova/request_specs.json

What it does, all through Nova's own code: builds a Nova API database in a
temporary SQLite file with Nova's own migrations (``nova.db.migration
.db_sync``), creates flavors and server groups with Nova's objects, builds
each spec the way ``nova.compute.api.API._provision_instances`` does
(``RequestSpec.from_components`` fed by ``build_filter_properties``,
``numa_get_constraints``, ``get_pci_requests_from_flavor`` and
``populate_security_groups``), stores it with ``RequestSpec.create()`` (and
``save()`` for the later-lifecycle cases), then dumps the table.

Rows of older Nova releases are written by Nova's own private writer
(``RequestSpec._create_in_db``) with the primitive Nova's own
``obj_to_primitive(target_version=..., version_manifest=...)`` backports to
that RequestSpec version and to the child versions named in ``OLDER``
(an approximation of each release's manifest, chosen per object history
comment: it exercises what changed, e.g. ``policies`` before InstanceGroup
1.11). Two deliberately broken rows are added by hand.

Instance uuids are derived from the case names, so a re-run yields the
same rows apart from timestamps.
"""

import datetime
import json
import os
import sys
import tempfile
import uuid

NAMESPACE = uuid.UUID("6f1c1e4a-2f4b-4d5e-9a3c-0b6f8e2d7c11")


def case_uuid(name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, name))


def setup_nova(workdir: str) -> None:
    import nova.conf

    conf_path = os.path.join(workdir, "nova.conf")
    db_path = os.path.join(workdir, "nova_api.sqlite")
    alias = json.dumps(
        {
            "vendor_id": "8086",
            "product_id": "1520",
            "name": "nic-vf",
            "device_type": "type-VF",
            "numa_policy": "preferred",
        }
    )
    with open(conf_path, "w") as f:
        f.write(
            "[DEFAULT]\ntransport_url = fake:/\n"
            "[oslo_messaging_notifications]\ndriver = noop\n"
            f"[api_database]\nconnection = sqlite:///{db_path}\n"
            f"[pci]\nalias = {alias}\n"
        )
    conf = nova.conf.CONF
    conf([], project="nova", default_config_files=[conf_path])

    from nova import objects
    from nova import rpc
    from nova.db import migration
    from nova.db.api import api as api_db_api

    objects.register_all()
    api_db_api.configure(conf)
    rpc.init(conf)
    migration.db_sync(database="api")


def make_rows() -> list[dict]:
    from nova import context as nova_context
    from nova import objects
    from nova.network import security_group_api
    from nova.objects import request_spec as nova_request_spec
    from nova.pci import request as pci_request
    from nova.scheduler import utils as scheduler_utils
    from nova.virt import hardware
    from oslo_serialization import jsonutils

    ctx = nova_context.RequestContext(
        "fd2b0a6e8fba4b0e9c3a1f0c1f1d0a11",
        "0a4f8c5e2b7d4a9e8f6c1d3b5a7e9c21",
        is_admin=True,
    )
    cases: dict[str, str] = {}

    def flavor(flavorid: str, name: str, **kw: object) -> objects.Flavor:
        values = {
            "name": name,
            "flavorid": flavorid,
            "memory_mb": 2048,
            "vcpus": 2,
            "root_gb": 20,
            "ephemeral_gb": 0,
            "swap": 0,
            "rxtx_factor": 1.0,
            "vcpu_weight": None,
            "disabled": False,
            "is_public": True,
            "description": None,
            "extra_specs": {},
        }
        values.update(kw)
        made = objects.Flavor(ctx, **values)
        made.create()
        return objects.Flavor.get_by_flavor_id(ctx, flavorid)

    def group(name: str, policy: str, rules: dict | None = None):
        made = objects.InstanceGroup(
            ctx,
            uuid=case_uuid("group-" + name),
            name=name,
            user_id=ctx.user_id,
            project_id=ctx.project_id,
            policy=policy,
            rules=rules or {},
            members=[],
        )
        made.create()
        return objects.InstanceGroup.get_by_uuid(ctx, made.uuid)

    small = flavor(
        "1", "m1.small", extra_specs={"hw:watchdog_action": "reset"}
    )
    medium = flavor(
        "2",
        "m1.medium",
        memory_mb=4096,
        vcpus=4,
        root_gb=40,
        ephemeral_gb=10,
        swap=512,
        description="general purpose",
        extra_specs={"quota:disk_read_bytes_sec": "10240000"},
    )
    pinned = flavor(
        "3",
        "c1.pinned",
        memory_mb=4096,
        vcpus=4,
        extra_specs={
            "hw:cpu_policy": "dedicated",
            "hw:numa_nodes": "2",
            "hw:mem_page_size": "2048",
            "hw:emulator_threads_policy": "isolate",
        },
    )
    # Nova stores "large" as the symbolic page size -2 in the NUMA cells.
    large_pages = flavor(
        "5",
        "c1.large-pages",
        memory_mb=4096,
        vcpus=2,
        extra_specs={"hw:mem_page_size": "large"},
    )
    sriov = flavor(
        "4",
        "n1.sriov",
        extra_specs={"pci_passthrough:alias": "nic-vf:2"},
    )
    anti = group("web", "anti-affinity", {"max_server_per_host": "2"})
    affinity = group("db", "affinity")
    soft = group("batch", "soft-anti-affinity")

    image = {
        "id": case_uuid("image-ubuntu"),
        "name": "ubuntu-24.04",
        "status": "active",
        "checksum": "5d41402abc4b2a76b9719d911017c592",
        "owner": ctx.project_id,
        "size": 2361393152,
        "virtual_size": 10737418240,
        "min_ram": 512,
        "min_disk": 10,
        "disk_format": "qcow2",
        "container_format": "bare",
        "visibility": "public",
        "protected": False,
        "created_at": "2026-01-05T10:00:00Z",
        "updated_at": "2026-01-05T10:05:00Z",
        "tags": ["lts"],
        "properties": {
            "hw_architecture": "x86_64",
            "hw_disk_bus": "virtio",
            "hw_machine_type": "q35",
            "hw_firmware_type": "uefi",
            "os_distro": "ubuntu",
            "os_type": "linux",
            "hw_qemu_guest_agent": "yes",
            "hw_vif_multiqueue_enabled": "true",
            "img_signature_hash_method": "SHA-256",
            "trait:CUSTOM_TRUSTED": "required",
        },
    }

    def boot(
        name: str,
        *,
        flavor_obj,
        boot_meta=None,
        instance_group=None,
        hints=None,
        az=None,
        forced_host=None,
        forced_node=None,
        security_groups=("default",),
        is_bfv=False,
        num_instances=1,
        filter_extra=None,
    ):
        """What nova.compute.api does for one instance of a boot."""
        filter_properties = scheduler_utils.build_filter_properties(
            hints if hints is not None else {},
            forced_host,
            forced_node,
            flavor_obj,
        )
        filter_properties.update(filter_extra or {})
        image_meta = objects.ImageMeta.from_dict(boot_meta or {})
        numa = hardware.numa_get_constraints(flavor_obj, image_meta)
        pci = pci_request.get_pci_requests_from_flavor(flavor_obj)
        spec = objects.RequestSpec.from_components(
            ctx,
            case_uuid(name),
            boot_meta,
            flavor_obj,
            numa,
            pci,
            filter_properties,
            instance_group,
            az,
            security_groups=security_group_api.populate_security_groups(
                list(security_groups)
            ),
        )
        spec.is_bfv = is_bfv
        spec.num_instances = num_instances
        cases[spec.instance_uuid] = name
        return spec

    # -- current Nova (RequestSpec 1.15) ----------------------------------
    boot(
        "full-boot",
        flavor_obj=medium,
        boot_meta=image,
        instance_group=anti,
        hints={
            "group": anti.uuid,
            "same_host": [case_uuid("neighbour-1"), case_uuid("neighbour-2")],
            "build_near_host_ip": "192.0.2.10",
            "cidr": "/24",
        },
        az="az-east",
        security_groups=("default", "web"),
        num_instances=2,
    ).create()

    boot(
        "boot-from-volume-no-image",
        flavor_obj=small,
        boot_meta=None,
        is_bfv=True,
    ).create()

    boot(
        "volume-image-metadata",
        flavor_obj=small,
        boot_meta={
            "properties": {
                "hw_disk_bus": "scsi",
                "hw_scsi_model": "virtio-scsi",
            },
            "min_ram": 0,
            "min_disk": 0,
            "size": 0,
            "status": "active",
        },
        is_bfv=True,
        az="az-west",
    ).create()

    boot(
        "forced-host-and-node",
        flavor_obj=small,
        boot_meta=image,
        az="az-east",
        forced_host="compute-07",
        forced_node="compute-07.example.org",
    ).create()

    boot(
        "numa-pinned",
        flavor_obj=pinned,
        boot_meta=image,
        instance_group=affinity,
        hints={"group": affinity.uuid},
    ).create()

    boot("numa-large-pages", flavor_obj=large_pages, boot_meta=image).create()

    boot("pci-sriov-alias", flavor_obj=sriov, boot_meta=image).create()

    # Scheduled, then saved with the claimed host's limits (what the
    # conductor's later save() of the spec stores).
    spec = boot(
        "limits-after-scheduling",
        flavor_obj=small,
        boot_meta=image,
        instance_group=soft,
        hints={"group": soft.uuid},
    )
    spec.create()
    spec.limits = objects.SchedulerLimits(
        vcpu=64,
        memory_mb=262144,
        disk_gb=2048,
        numa_topology=objects.NUMATopologyLimits(
            cpu_allocation_ratio=4.0,
            ram_allocation_ratio=1.5,
            network_metadata=objects.NetworkMetadata(
                physnets={"physnet1"}, tunneled=True
            ),
        ),
    )
    spec.save()

    # Resized: the spec now holds the new flavor.
    spec = boot("resized", flavor_obj=small, boot_meta=image, az="az-east")
    spec.create()
    spec.flavor = medium
    spec.save()

    # An old-style group from legacy filter properties: no uuid on the
    # group, only in the "group" hint (Nova fills it in when reading).
    boot(
        "legacy-group-without-uuid",
        flavor_obj=small,
        boot_meta=image,
        hints={"group": anti.uuid},
        filter_extra={
            "group_updated": True,
            "group_policies": {"anti-affinity"},
            "group_hosts": set(),
            "group_members": set(),
        },
    ).create()

    # No hints at all (Nova keeps None, not {}).
    spec = boot("hints-none", flavor_obj=small, boot_meta=image)
    spec.scheduler_hints = None
    spec.create()

    # An image property reqspec cannot hold: an architecture it does not
    # schedule for. Nova accepts it; the importer must refuse the row.
    odd = dict(image, properties={"hw_architecture": "mips"})
    boot("unsupported-architecture", flavor_obj=small, boot_meta=odd).create()

    # -- older Nova releases ---------------------------------------------
    for version, manifest in OLDER:
        name = f"requestspec-{version}"
        spec = boot(
            name,
            flavor_obj=medium,
            boot_meta=image,
            instance_group=anti,
            hints={"group": anti.uuid},
            az="az-east",
            is_bfv=False,
        )
        # Per-move fields the way an older conductor had them set.
        spec.ignore_hosts = None
        primitive = spec.obj_to_primitive(
            target_version=version, version_manifest=manifest
        )
        _strip_unpersisted(spec, primitive)
        nova_request_spec.RequestSpec._create_in_db(
            ctx,
            {
                "instance_uuid": spec.instance_uuid,
                "spec": jsonutils.dumps(primitive),
            },
        )

    return _dump(cases)


#: (RequestSpec version, child object versions) for older releases' rows.
OLDER = [
    (
        "1.5",
        {
            "Flavor": "1.1",
            "ImageMeta": "1.8",
            "ImageMetaProps": "1.12",
            "InstanceGroup": "1.10",
            "InstanceNUMATopology": "1.2",
            "InstanceNUMACell": "1.3",
            "InstancePCIRequests": "1.1",
            "InstancePCIRequest": "1.1",
            "SchedulerLimits": "1.0",
            "SchedulerRetries": "1.1",
            "NUMATopologyLimits": "1.0",
        },
    ),
    (
        "1.8",
        {
            "Flavor": "1.1",
            "ImageMeta": "1.8",
            "ImageMetaProps": "1.15",
            "InstanceGroup": "1.10",
            "SecurityGroupList": "1.0",
            "SecurityGroup": "1.1",
            "InstanceNUMATopology": "1.3",
            "InstanceNUMACell": "1.4",
            "InstancePCIRequests": "1.1",
            "InstancePCIRequest": "1.1",
        },
    ),
    (
        "1.11",
        {
            "Flavor": "1.2",
            "ImageMeta": "1.8",
            "ImageMetaProps": "1.20",
            "InstanceGroup": "1.11",
            "SecurityGroupList": "1.0",
            "SecurityGroup": "1.2",
        },
    ),
    ("1.14", {"ImageMetaProps": "1.28"}),
]


def _strip_unpersisted(spec, primitive: dict) -> None:
    """What RequestSpec._get_update_primitives leaves out, applied to a
    backported primitive (the same rules; older releases had them too)."""
    data = primitive["nova_object.data"]
    for name in (
        "network_metadata",
        "requested_networks",
        "request_level_params",
    ):
        data.pop(name, None)
    for name in ("retry", "requested_destination", "requested_resources"):
        if data.get(name):
            data[name] = None
    group = data.get("instance_group")
    if group:
        group["nova_object.data"]["members"] = None
        group["nova_object.data"]["hosts"] = None


def _dump(cases: dict[str, str]) -> list[dict]:
    from nova.db.api import api as api_db_api
    import sqlalchemy as sa

    engine = api_db_api.get_engine()
    with engine.connect() as conn:
        result = conn.execute(
            sa.text(
                "SELECT id, instance_uuid, spec, created_at, updated_at "
                "FROM request_specs ORDER BY id"
            )
        )
        rows = []
        for row in result.mappings():
            rows.append(
                {
                    "case": cases[row["instance_uuid"]],
                    "id": row["id"],
                    "instance_uuid": row["instance_uuid"],
                    "spec": row["spec"],
                    "created_at": _iso(row["created_at"]),
                    "updated_at": _iso(row["updated_at"]),
                }
            )
    next_id = rows[-1]["id"] + 1
    broken = [
        ("broken-truncated-json", rows[0]["spec"][:200]),
        (
            "broken-not-a-request-spec",
            json.dumps(
                {
                    "nova_object.name": "Instance",
                    "nova_object.namespace": "nova",
                    "nova_object.version": "2.8",
                    "nova_object.data": {"uuid": case_uuid("x")},
                }
            ),
        ),
    ]
    for offset, (name, text) in enumerate(broken):
        rows.append(
            {
                "case": name,
                "id": next_id + offset,
                "instance_uuid": case_uuid(name),
                "spec": text,
                "created_at": rows[0]["created_at"],
                "updated_at": None,
            }
        )
    return rows


def _iso(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return str(value)


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    import nova.version

    with tempfile.TemporaryDirectory() as workdir:
        setup_nova(workdir)
        rows = make_rows()
    document = {
        "about": (
            "Rows of a Nova API database's request_specs table, written by "
            "Nova itself; made by tools/make_nova_fixture.py."
        ),
        "nova_version": nova.version.version_string(),
        "rows": rows,
    }
    with open(sys.argv[1], "w") as f:
        json.dump(document, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{len(rows)} rows written to {sys.argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
