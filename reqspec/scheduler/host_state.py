"""What the scheduler knows about one compute node while it decides."""

import dataclasses

from reqspec.objects import CellMapping
from reqspec.objects import ComputeNode
from reqspec.objects.compute_node import Resources


@dataclasses.dataclass
class HostState:
    """A compute node of one cell, with what is free on it right now.

    ``availability_zone`` is the node's zone, or ``default_zone``
    (``[scheduler] default_availability_zone``) when it names none.
    """

    cell: CellMapping
    host: str
    node: str
    availability_zone: str
    capacity: Resources
    free: Resources
    architecture: str | None
    hypervisor_type: str | None
    aggregates: frozenset[str]
    up: bool
    disabled: bool
    running_instances: int

    @classmethod
    def from_compute_node(
        cls, cell: CellMapping, node: ComputeNode, default_zone: str
    ) -> "HostState":
        return cls(
            cell=cell,
            host=node.host,
            node=node.node,
            availability_zone=node.availability_zone or default_zone,
            capacity=node.capacity,
            free=node.free,
            architecture=node.architecture,
            hypervisor_type=node.hypervisor_type,
            aggregates=frozenset(node.aggregates),
            up=node.up,
            disabled=node.disabled,
            running_instances=node.running_instances,
        )

    @property
    def name(self) -> str:
        """``host`` or, when the node is named differently, ``host/node``."""
        if self.node == self.host:
            return self.host
        return f"{self.host}/{self.node}"
