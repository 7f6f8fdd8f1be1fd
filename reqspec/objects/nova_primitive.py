"""Reading Nova's ``nova_object`` primitives as data, for the importer.

The pieces ``nova_translation`` is built from: which versions of Nova's
objects it knows (Nova 34's), unwrapping a primitive while checking its
class and version, and copying values into reqspec objects with errors
that name the path to the bad value.
"""

from typing import Any

from oslo_utils import versionutils

from reqspec.objects import base

#: The newest Nova RequestSpec version this translation knows.
NEWEST_NOVA_VERSION = "1.15"
#: The oldest one Nova ever stored (request_specs appeared with 1.5).
OLDEST_NOVA_VERSION = "1.5"

#: The newest version of each nested Nova object this translation reads
#: (Nova 34's). A newer one may carry a constraint this module would not
#: see, so it is refused; only ImageMetaProps, whose every unknown property
#: is listed in a note anyway, is taken at a newer minor version.
KNOWN_NOVA_VERSIONS = {
    "Flavor": "1.2",
    "ImageMeta": "1.8",
    "ImageMetaProps": "1.44",
    "InstanceGroup": "1.11",
    "InstanceNUMATopology": "1.3",
    "InstanceNUMACell": "1.6",
    "InstancePCIRequests": "1.1",
    "InstancePCIRequest": "1.4",
    "SchedulerLimits": "1.0",
    "NUMATopologyLimits": "1.1",
    "SecurityGroupList": "1.1",
    "SecurityGroup": "1.2",
}

#: Nova's symbolic page sizes (nova.virt.hardware.MEMPAGES_*), which it
#: keeps in InstanceNUMACell.pagesize where a size in KiB would be.
NOVA_PAGESIZE_POLICIES = {-1: "small", -2: "large", -3: "any"}


class Bad(Exception):
    """Why a row cannot be converted (the path, then the reason)."""


def fail(where: str, reason: str) -> Bad:
    return Bad(f"{where}: {reason}")


def unwrap(
    value: Any, name: str, where: str, notes: list[str] | None = None
) -> tuple[str, dict[str, Any]]:
    """(version, data) of a Nova object primitive of class ``name``."""
    if not isinstance(value, dict) or "nova_object.data" not in value:
        raise fail(where, f"expected a Nova {name} object")
    found = value.get("nova_object.name")
    if found != name:
        raise fail(where, f"expected a Nova {name} object, got {found}")
    data = value["nova_object.data"]
    if not isinstance(data, dict):
        raise fail(where, "nova_object.data is not an object")
    version = str(value.get("nova_object.version", ""))
    known = KNOWN_NOVA_VERSIONS.get(name)
    if known is not None:
        check_version(name, version, known, where, notes)
    return version, data


def check_version(
    name: str, version: str, known: str, where: str, notes: list[str] | None
) -> None:
    try:
        parsed = versionutils.convert_version_to_tuple(version)
    except ValueError:
        raise fail(where, f"bad {name} version {version!r}") from None
    newest = versionutils.convert_version_to_tuple(known)
    if parsed <= newest:
        return
    if notes is not None and parsed[0] == newest[0]:
        notes.append(
            f"{name} {version} is newer than this importer knows ({known}): "
            "properties it does not know are dropped"
        )
        return
    raise fail(
        where,
        f"Nova {name} {version} is newer than this importer knows "
        f"(up to {known})",
    )


def set_field(
    obj: base.ReqspecObject, name: str, value: Any, where: str
) -> None:
    try:
        setattr(obj, name, value)
    except (ValueError, TypeError) as err:
        raise fail(f"{where}.{name}", str(err)) from None


def copy_fields(
    obj: base.ReqspecObject,
    data: dict[str, Any],
    names: tuple[str, ...],
    where: str,
) -> None:
    """Copy the fields that Nova set (to a value) into ``obj``."""
    for name in names:
        value = data.get(name)
        if value is not None:
            set_field(obj, name, value, where)
