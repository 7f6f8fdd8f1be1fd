"""The image a server was booted from, with typed properties."""

from typing import Any

from oslo_utils import strutils

from reqspec import exception
from reqspec.objects import base
from reqspec.objects import fields

ARCHITECTURES = (
    "aarch64",
    "armv7l",
    "i686",
    "ppc64",
    "ppc64le",
    "riscv64",
    "s390x",
    "x86_64",
)
HYPERVISOR_TYPES = ("hyperv", "ironic", "kvm", "lxc", "qemu", "vmware", "xen")
VM_MODES = ("baremetal", "exe", "hvm", "uml", "xen")
DISK_BUSES = ("fdc", "ide", "lxc", "sata", "scsi", "usb", "virtio", "xen")


@base.ReqspecObjectRegistry.register
class ImageMetaProps(base.ReqspecObject):
    """Image properties a scheduler or a virt driver acts on, typed.

    Glance stores every property as a string; here each one has its type so
    that filters compare numbers with numbers and enums are checked once, at
    the boundary. ``traits_required`` collects Glance's
    ``trait:NAME=required`` properties.

    Left out from Nova's ~120 properties: the libvirt/vmware/hyperv driver
    tuning knobs that never influence host selection (``hw_vif_multiqueue``,
    ``vmware_*``, ``hw_blkio_*``...), image signature metadata (checked by
    the compute host, not the scheduler), NUMA per-node CPU/memory maps
    (``hw_numa_cpus.N``; the NUMA topology object carries the computed
    result) and deprecated aliases. Unknown properties are ignored on input,
    as Nova does.
    """

    # Version 1.0: Initial version
    VERSION = "1.0"

    # Every property is optional: an image may simply not have it.
    REQUIRED_FIELDS = ()

    fields = {
        "hw_architecture": fields.EnumField(ARCHITECTURES),
        "hw_emulation_architecture": fields.EnumField(ARCHITECTURES),
        "img_hv_type": fields.EnumField(HYPERVISOR_TYPES),
        "img_hv_requested_version": fields.StringField(),
        "hw_vm_mode": fields.EnumField(VM_MODES),
        "hw_machine_type": fields.StringField(),
        "hw_firmware_type": fields.EnumField(("bios", "uefi")),
        "hw_cpu_policy": fields.EnumField(("dedicated", "mixed", "shared")),
        "hw_cpu_thread_policy": fields.EnumField(
            ("isolate", "prefer", "require")
        ),
        "hw_cpu_cores": fields.NonNegativeIntegerField(),
        "hw_cpu_sockets": fields.NonNegativeIntegerField(),
        "hw_cpu_threads": fields.NonNegativeIntegerField(),
        "hw_cpu_max_cores": fields.NonNegativeIntegerField(),
        "hw_cpu_max_sockets": fields.NonNegativeIntegerField(),
        "hw_cpu_max_threads": fields.NonNegativeIntegerField(),
        "hw_numa_nodes": fields.NonNegativeIntegerField(),
        "hw_mem_page_size": fields.StringField(),
        "hw_mem_encryption": fields.BooleanField(),
        "hw_locked_memory": fields.BooleanField(),
        "hw_pci_numa_affinity_policy": fields.EnumField(
            ("legacy", "preferred", "required", "socket")
        ),
        "hw_pmu": fields.BooleanField(),
        "hw_tpm_version": fields.EnumField(("1.2", "2.0")),
        "hw_tpm_model": fields.EnumField(("tpm-crb", "tpm-tis")),
        "hw_disk_bus": fields.EnumField(DISK_BUSES),
        "hw_cdrom_bus": fields.EnumField(DISK_BUSES),
        "hw_scsi_model": fields.StringField(),
        "hw_vif_model": fields.StringField(),
        "hw_video_model": fields.EnumField(
            ("bochs", "cirrus", "gop", "none", "qxl", "vga", "virtio", "xen")
        ),
        "hw_video_ram": fields.NonNegativeIntegerField(),
        "hw_rng_model": fields.StringField(),
        "hw_watchdog_action": fields.EnumField(
            ("disabled", "none", "pause", "poweroff", "reset")
        ),
        "hw_qemu_guest_agent": fields.BooleanField(),
        "hw_boot_menu": fields.BooleanField(),
        "hw_pointer_model": fields.EnumField(("usbtablet",)),
        "hw_input_bus": fields.EnumField(("usb", "virtio")),
        "hw_serial_port_count": fields.NonNegativeIntegerField(),
        "hw_time_hpet": fields.BooleanField(),
        "hw_ephemeral_encryption": fields.BooleanField(),
        "hw_viommu_model": fields.EnumField(
            ("auto", "intel", "smmuv3", "virtio")
        ),
        "os_type": fields.StringField(),
        "os_distro": fields.StringField(),
        "os_admin_user": fields.StringField(),
        "os_secure_boot": fields.EnumField(
            ("disabled", "optional", "required")
        ),
        "os_require_quiesce": fields.BooleanField(),
        "img_config_drive": fields.EnumField(("mandatory", "optional")),
        "traits_required": fields.ListOfStringsField(),
    }

    @classmethod
    def from_glance(cls, properties: dict[str, Any]) -> "ImageMetaProps":
        """Build typed properties from Glance's string-valued properties."""
        props = cls()
        traits = []
        for key, raw in sorted(properties.items()):
            if key.startswith("trait:"):
                if str(raw).lower() == "required":
                    traits.append(key[len("trait:") :])
                continue
            field = cls.fields.get(key)
            if field is None or raw is None:
                continue
            try:
                setattr(props, key, _parse_glance_value(field, raw))
            except ValueError as err:
                raise exception.InvalidRequestSpec(
                    reason=f"image property {key}: {err}"
                ) from err
        if traits:
            props.traits_required = traits
        return props

    def get(self, name: str, default: Any = None) -> Any:
        """The property's value, or ``default`` when the image has none."""
        if name not in self.fields:
            raise AttributeError(name)
        return getattr(self, name) if self.obj_attr_is_set(name) else default


def _parse_glance_value(field: Any, raw: Any) -> Any:
    """Turn one Glance property value (usually a string) into its type."""
    if not isinstance(raw, str):
        return raw
    if isinstance(field, fields.BooleanField):
        return strutils.bool_from_string(raw, strict=True)
    if isinstance(field, fields.NonNegativeIntegerField):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"expected an integer, got {raw!r}") from None
    if isinstance(field, fields.ListOfStringsField):
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


@base.ReqspecObjectRegistry.register
class ImageMeta(base.ReqspecObject):
    """The parts of a Glance image that constrain where it can run.

    Left out from Nova's ImageMeta: ``checksum``, ``owner``, ``status``,
    ``visibility``, ``protected``, ``tags``, ``direct_url`` and the
    timestamps; they describe the image in the catalogue, and no filter
    reads them.
    """

    # Version 1.0: Initial version
    VERSION = "1.0"

    obj_relationships = {"properties": [("1.0", "1.0")]}

    fields = {
        "id": fields.UUIDField(nullable=True),
        "name": fields.StringField(nullable=True),
        "size": fields.NonNegativeIntegerField(default=0),
        "virtual_size": fields.NonNegativeIntegerField(nullable=True),
        "min_ram": fields.NonNegativeIntegerField(default=0),
        "min_disk": fields.NonNegativeIntegerField(default=0),
        "disk_format": fields.StringField(nullable=True),
        "container_format": fields.StringField(nullable=True),
        "properties": fields.ObjectField("ImageMetaProps"),
    }

    @classmethod
    def from_dict(cls, image: dict[str, Any]) -> "ImageMeta":
        """Build from a Glance-style image dict (as the API receives it)."""
        meta = cls()
        try:
            for key in cls.fields:
                if key != "properties" and image.get(key) is not None:
                    setattr(meta, key, image[key])
        except ValueError as err:
            raise exception.InvalidRequestSpec(reason=f"image: {err}") from err
        meta.properties = ImageMetaProps.from_glance(
            image.get("properties") or {}
        )
        meta.obj_set_defaults("size", "min_ram", "min_disk")
        return meta
