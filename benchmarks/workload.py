"""The specs both implementations store: realistic, varied, reproducible.

Each spec is what a busy cloud stores for one server: a flavor with 4-8
extra specs, an image with 16-20 typed Glance properties, an
anti-affinity server group, scheduler hints, a project, a user and an AZ.
Spec ``i`` is the same in every process (seeded by ``i``), so the library
and the baseline write identical documents.
"""

import json
import random
from typing import Any
import uuid

from reqspec import objects

_NAMESPACE = uuid.UUID("5f1c6a52-4c35-4d55-9a36-6b1e2c5b8d10")

EXTRA_SPECS = (
    ("hw:cpu_policy", ("shared", "dedicated")),
    ("hw:mem_page_size", ("small", "large", "2048")),
    ("hw:numa_nodes", ("1", "2")),
    ("quota:disk_read_iops_sec", ("1000", "5000", "20000")),
    ("quota:vif_outbound_average", ("10240", "51200")),
    ("aggregate_instance_extra_specs:ssd", ("true", "false")),
    ("trait:HW_CPU_X86_AVX2", ("required",)),
    ("hw:watchdog_action", ("reset", "poweroff")),
)

IMAGE_PROPERTIES = (
    ("hw_architecture", ("x86_64", "aarch64")),
    ("img_hv_type", ("kvm", "qemu")),
    ("hw_vm_mode", ("hvm",)),
    ("hw_machine_type", ("q35", "pc")),
    ("hw_firmware_type", ("uefi", "bios")),
    ("hw_cpu_policy", ("shared", "dedicated")),
    ("hw_cpu_cores", ("1", "2", "4")),
    ("hw_cpu_sockets", ("1", "2")),
    ("hw_numa_nodes", ("1", "2")),
    ("hw_mem_page_size", ("small", "large")),
    ("hw_disk_bus", ("virtio", "scsi")),
    ("hw_scsi_model", ("virtio-scsi",)),
    ("hw_vif_model", ("virtio", "e1000")),
    ("hw_video_model", ("virtio", "vga")),
    ("hw_rng_model", ("virtio",)),
    ("hw_qemu_guest_agent", ("yes", "no")),
    ("os_type", ("linux", "windows")),
    ("os_distro", ("ubuntu", "rhel", "debian")),
    ("trait:CUSTOM_TRUSTED", ("required",)),
    ("os_require_quiesce", ("yes", "no")),
)

FLAVORS = (
    # name, vcpus, memory_mb, root_gb, ephemeral_gb, swap
    ("m1.small", 1, 2048, 20, 0, 0),
    ("m1.medium", 2, 4096, 40, 0, 512),
    ("m1.large", 4, 8192, 80, 10, 1024),
    ("m1.xlarge", 8, 16384, 160, 20, 2048),
)


def instance_uuid(i: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"instance-{i}"))


def flavor(rng: random.Random, index: int | None = None) -> objects.Flavor:
    name, vcpus, memory_mb, root_gb, ephemeral_gb, swap = FLAVORS[
        rng.randrange(len(FLAVORS)) if index is None else index
    ]
    chosen = rng.sample(EXTRA_SPECS, rng.randint(4, 8))
    return objects.Flavor(
        id=FLAVORS.index((name, vcpus, memory_mb, root_gb, ephemeral_gb, swap))
        + 1,
        flavorid=name,
        name=name,
        vcpus=vcpus,
        memory_mb=memory_mb,
        root_gb=root_gb,
        ephemeral_gb=ephemeral_gb,
        swap=swap,
        rxtx_factor=1.0,
        vcpu_weight=None,
        disabled=False,
        is_public=True,
        description=f"{vcpus} vCPU general purpose",
        extra_specs={key: rng.choice(values) for key, values in chosen},
    )


def realistic_spec(i: int) -> objects.RequestSpec:
    """Spec number ``i``; the same object in every process."""
    rng = random.Random(i)
    group_uuid = str(uuid.uuid5(_NAMESPACE, f"group-{i % 50}"))
    properties = rng.sample(IMAGE_PROPERTIES, rng.randint(16, 20))
    return objects.RequestSpec.from_components(
        instance_uuid=instance_uuid(i),
        flavor=flavor(rng),
        image={
            "id": str(uuid.uuid5(_NAMESPACE, f"image-{i % 20}")),
            "name": f"ubuntu-24.04-{i % 20}",
            "size": 2361393152,
            "min_ram": 512,
            "min_disk": 10,
            "disk_format": "qcow2",
            "container_format": "bare",
            "properties": {k: rng.choice(v) for k, v in properties},
        },
        project_id=f"{rng.getrandbits(128):032x}",
        user_id=f"{rng.getrandbits(128):032x}",
        availability_zone=f"az-{rng.randint(1, 3)}",
        scheduler_hints={
            "group": group_uuid,
            "different_host": [
                str(uuid.uuid5(_NAMESPACE, f"peer-{i}-{n}")) for n in (1, 2)
            ],
        },
        instance_group=objects.InstanceGroup(
            uuid=group_uuid,
            name=f"web-tier-{i % 50}",
            policy="anti-affinity",
            rules={"max_server_per_host": "1"},
        ),
        security_groups=["default", "web"],
    )


def resized_flavor(i: int) -> objects.Flavor:
    """The flavor spec ``i`` is resized to (a different size)."""
    return flavor(random.Random(-i - 1), index=i % len(FLAVORS))


def resized_flavor_document(i: int) -> dict[str, Any]:
    """``resized_flavor(i)`` as it appears in a stored document."""
    spec = realistic_spec(i)
    spec.flavor = resized_flavor(i)
    flavor_document: dict[str, Any] = json.loads(spec.to_document())["spec"][
        "flavor"
    ]
    return flavor_document
