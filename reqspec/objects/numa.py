"""The guest NUMA topology computed from the flavor and image."""

from typing import Any

from oslo_utils import versionutils
from oslo_versionedobjects import exception as ovo_exc

from reqspec.objects import base
from reqspec.objects import fields

#: What a guest may ask for instead of a size (``hw:mem_page_size``).
PAGESIZE_POLICIES = ("any", "large", "small")


@base.ReqspecObjectRegistry.register
class InstanceNUMACell(base.ReqspecObject):
    """One guest NUMA node: its CPUs, memory and pinning policy.

    Its memory pages are asked for either as a size (``pagesize``, KiB) or
    as a policy (``pagesize_policy``: small, large or any), as
    ``hw:mem_page_size`` allows; Nova keeps the policies in ``pagesize``
    as negative numbers.

    Left out from Nova's: ``cpu_pinning_raw``, ``cpuset_reserved`` and
    ``cpu_topology`` (the host's answer to the request, recorded on the
    instance after the claim, not part of what was asked).
    """

    # Version 1.0: Initial version
    # Version 1.1: Added pagesize_policy
    VERSION = "1.1"

    fields = {
        "id": fields.NonNegativeIntegerField(),
        "cpuset": fields.SetOfIntegersField(default=set()),
        "pcpuset": fields.SetOfIntegersField(default=set()),
        "memory": fields.NonNegativeIntegerField(),
        "pagesize": fields.NonNegativeIntegerField(nullable=True),
        "pagesize_policy": fields.EnumField(PAGESIZE_POLICIES, nullable=True),
        "cpu_policy": fields.EnumField(
            ("dedicated", "mixed", "shared"), nullable=True
        ),
        "cpu_thread_policy": fields.EnumField(
            ("isolate", "prefer", "require"), nullable=True
        ),
    }

    def obj_make_compatible(
        self, primitive: dict[str, Any], target_version: str
    ) -> None:
        super().obj_make_compatible(primitive, target_version)
        target = versionutils.convert_version_to_tuple(target_version)
        if target < (1, 1):
            policy = primitive.pop("pagesize_policy", None)
            if policy is not None:
                # 1.0 has no way to say it, and dropping it would turn a
                # request for large pages into one for any memory.
                raise ovo_exc.ObjectActionError(
                    action="obj_make_compatible",
                    reason=f"InstanceNUMACell {target_version} cannot "
                    f"express the page size policy {policy!r}",
                )


@base.ReqspecObjectRegistry.register
class InstanceNUMATopology(base.ReqspecObject):
    """The guest's NUMA cells."""

    # Version 1.0: Initial version
    # Version 1.1: InstanceNUMACell 1.1
    VERSION = "1.1"

    obj_relationships = {"cells": [("1.0", "1.0"), ("1.1", "1.1")]}

    fields = {
        "instance_uuid": fields.UUIDField(nullable=True),
        "cells": fields.ListOfObjectsField("InstanceNUMACell"),
        "emulator_threads_policy": fields.EnumField(
            ("isolate", "share"), nullable=True
        ),
    }
