"""Host states and requests built in memory, for filter and weigher tests."""

from typing import Any

from reqspec.objects import CellMapping
from reqspec.objects import ImageMeta
from reqspec.objects import RequestSpec
from reqspec.objects.compute_node import Resources
from reqspec.scheduler.host_state import HostState
from tests.fixtures import cloud
from tests.fixtures import settings

#: ``[scheduler]`` as configured by default.
SCHEDULER = settings.make().scheduler

CELL1 = CellMapping(
    uuid="5a8f0c1d-0000-4000-8000-000000000001",
    name="cell1",
    database_connection="sqlite://",
)
CELL2 = CellMapping(
    uuid="5a8f0c1d-0000-4000-8000-000000000002",
    name="cell2",
    database_connection="sqlite://",
)
UUID = "7b9e1d2f-0000-4000-8000-000000000001"


def host(name: str = "h1", **overrides: Any) -> HostState:
    values: dict[str, Any] = {
        "cell": CELL1,
        "host": name,
        "node": name,
        "availability_zone": "az-1",
        "capacity": Resources(4, 8192, 100),
        "free": Resources(4, 8192, 100),
        "architecture": "x86_64",
        "hypervisor_type": "kvm",
        "aggregates": frozenset(),
        "up": True,
        "disabled": False,
        "running_instances": 0,
    }
    values.update(overrides)
    return HostState(**values)


def request(**fields: Any) -> RequestSpec:
    image = fields.pop("image", None)
    spec = RequestSpec.from_components(
        instance_uuid=UUID,
        flavor=fields.pop("flavor", cloud.flavor()),
        image=ImageMeta.from_dict(image) if image else None,
    )
    spec.clear_per_move()
    for name, value in fields.items():
        setattr(spec, name, value)
    return spec
