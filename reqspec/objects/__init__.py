"""reqspec's versioned objects.

Importing this package registers every object class.
"""

from reqspec.objects.cell_mapping import CellMapping
from reqspec.objects.compute_node import ComputeNode
from reqspec.objects.destination import Destination
from reqspec.objects.flavor import Flavor
from reqspec.objects.image_meta import ImageMeta
from reqspec.objects.image_meta import ImageMetaProps
from reqspec.objects.instance import Instance
from reqspec.objects.instance_group import InstanceGroup
from reqspec.objects.instance_mapping import InstanceMapping
from reqspec.objects.network import NetworkMetadata
from reqspec.objects.network import NetworkRequest
from reqspec.objects.numa import InstanceNUMACell
from reqspec.objects.numa import InstanceNUMATopology
from reqspec.objects.pci import InstancePCIRequest
from reqspec.objects.pci import InstancePCIRequests
from reqspec.objects.request_group import RequestGroup
from reqspec.objects.request_group import RequestLevelParams
from reqspec.objects.request_spec import RequestSpec
from reqspec.objects.scheduling import NUMATopologyLimits
from reqspec.objects.scheduling import SchedulerLimits
from reqspec.objects.scheduling import SchedulerRetries
from reqspec.objects.security_group import SecurityGroup

__all__ = [
    "CellMapping",
    "ComputeNode",
    "Destination",
    "Flavor",
    "ImageMeta",
    "ImageMetaProps",
    "Instance",
    "InstanceGroup",
    "InstanceMapping",
    "InstanceNUMACell",
    "InstanceNUMATopology",
    "InstancePCIRequest",
    "InstancePCIRequests",
    "NUMATopologyLimits",
    "NetworkMetadata",
    "NetworkRequest",
    "RequestGroup",
    "RequestLevelParams",
    "RequestSpec",
    "SchedulerLimits",
    "SchedulerRetries",
    "SecurityGroup",
]
