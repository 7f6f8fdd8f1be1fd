"""The guest NUMA topology computed from the flavor and image."""

from reqspec.objects import base
from reqspec.objects import fields


@base.ReqspecObjectRegistry.register
class InstanceNUMACell(base.ReqspecObject):
    """One guest NUMA node: its CPUs, memory and pinning policy.

    Left out from Nova's: ``cpu_pinning_raw``, ``cpuset_reserved`` and
    ``cpu_topology`` (the host's answer to the request, recorded on the
    instance after the claim, not part of what was asked).
    """

    # Version 1.0: Initial version
    VERSION = "1.0"

    fields = {
        "id": fields.NonNegativeIntegerField(),
        "cpuset": fields.SetOfIntegersField(default=set()),
        "pcpuset": fields.SetOfIntegersField(default=set()),
        "memory": fields.NonNegativeIntegerField(),
        "pagesize": fields.NonNegativeIntegerField(nullable=True),
        "cpu_policy": fields.EnumField(
            ("dedicated", "mixed", "shared"), nullable=True
        ),
        "cpu_thread_policy": fields.EnumField(
            ("isolate", "prefer", "require"), nullable=True
        ),
    }

    @property
    def total_cpus(self) -> int:
        return len(self.cpuset) + len(self.pcpuset)


@base.ReqspecObjectRegistry.register
class InstanceNUMATopology(base.ReqspecObject):
    """The guest's NUMA cells."""

    # Version 1.0: Initial version
    VERSION = "1.0"

    obj_relationships = {"cells": [("1.0", "1.0")]}

    fields = {
        "instance_uuid": fields.UUIDField(nullable=True),
        "cells": fields.ListOfObjectsField("InstanceNUMACell"),
        "emulator_threads_policy": fields.EnumField(
            ("isolate", "share"), nullable=True
        ),
    }
