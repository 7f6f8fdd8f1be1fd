"""Per-request scheduler bookkeeping: resource limits and retries."""

from reqspec.objects import base
from reqspec.objects import fields


@base.ReqspecObjectRegistry.register
class NUMATopologyLimits(base.ReqspecObject):
    """Overcommit ratios the NUMA filter applied on the chosen host.

    Left out from Nova's: ``network_metadata`` (the spec carries its own).
    """

    # Version 1.0: Initial version
    VERSION = "1.0"

    fields = {
        "cpu_allocation_ratio": fields.NonNegativeFloatField(),
        "ram_allocation_ratio": fields.NonNegativeFloatField(),
    }


@base.ReqspecObjectRegistry.register
class SchedulerLimits(base.ReqspecObject):
    """Resource ceilings the claim on the chosen host must respect."""

    # Version 1.0: Initial version
    VERSION = "1.0"

    obj_relationships = {"numa_topology": [("1.0", "1.0")]}

    fields = {
        "numa_topology": fields.ObjectField(
            "NUMATopologyLimits", nullable=True
        ),
        "vcpu": fields.NonNegativeIntegerField(nullable=True),
        "disk_gb": fields.NonNegativeIntegerField(nullable=True),
        "memory_mb": fields.NonNegativeIntegerField(nullable=True),
    }


@base.ReqspecObjectRegistry.register
class SchedulerRetries(base.ReqspecObject):
    """Hosts already tried for this request, so a retry goes elsewhere.

    Nova keeps a list of ComputeNode objects; the retry filter needs only
    the (host, node) names, so that is what is kept here.
    """

    # Version 1.0: Initial version
    VERSION = "1.0"

    fields = {
        "num_attempts": fields.NonNegativeIntegerField(),
        "hosts": fields.ListOfListsOfStringsField(default=[]),
    }
