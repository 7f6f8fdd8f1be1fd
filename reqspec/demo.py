"""The scenario of ``reqspec-manage demo``: boot servers into two cells
and move them, each destination honouring the spec stored at boot.

The cells and their databases are set up by the command (``db sync``
runs through the real migration code); this module registers hosts,
drives the compute API and the conductor, and reports where each spec
lives and why each destination was chosen. It sits above every
orchestration package (it drives them all, as a user of the library
would) and below ``reqspec.cmd``, which only parses and prints.
"""

from collections.abc import Callable
import dataclasses
import os
from typing import Any

from reqspec import compute_api
from reqspec import context
from reqspec import exception
from reqspec.conductor import common
from reqspec.conductor.api import Conductor
from reqspec.conductor.api import LocalConductor
from reqspec.objects import CellMapping
from reqspec.objects import ComputeNode
from reqspec.objects import Flavor
from reqspec.objects import InstanceGroup

GROUP_UUID = "3f1ae0b7-6f2c-4c43-9e55-0d6b54a1c001"

#: (cell, host, zone, architecture, vCPUs, MiB of RAM, GiB of disk)
HOSTS = (
    ("cell1", "c1-h1", "az-1", "x86_64", 8, 16384, 200),
    ("cell1", "c1-h2", "az-1", "x86_64", 16, 32768, 400),
    ("cell1", "c1-h3", "az-2", "x86_64", 8, 16384, 200),
    ("cell2", "c2-h1", "az-1", "x86_64", 16, 32768, 400),
    ("cell2", "c2-h2", "az-2", "x86_64", 16, 32768, 400),
    ("cell2", "c2-h3", "az-2", "aarch64", 8, 16384, 200),
    ("cell2", "c2-h4", "az-2", "x86_64", 8, 16384, 200),
)

FLAVORS = {
    "m1.small": Flavor(
        flavorid="1", name="m1.small", vcpus=1, memory_mb=2048, root_gb=20
    ),
    "m1.medium": Flavor(
        flavorid="2", name="m1.medium", vcpus=2, memory_mb=4096, root_gb=40
    ),
    "m1.large": Flavor(
        flavorid="3", name="m1.large", vcpus=4, memory_mb=8192, root_gb=80
    ),
}

IMAGES: dict[str, dict[str, Any]] = {
    "cirros": {"name": "cirros", "properties": {"hw_architecture": "x86_64"}},
    "cirros-arm": {
        "name": "cirros-arm",
        "properties": {"hw_architecture": "aarch64"},
    },
}


@dataclasses.dataclass(frozen=True)
class Event:
    """One operation of the scenario and its outcome."""

    server: str
    action: str
    result: str
    why: str


@dataclasses.dataclass
class DemoReport:
    """Every server as the API shows it now, with the demo's names for
    them, and the operations that got them there."""

    servers: list[dict[str, Any]]
    events: list[Event]
    hosts: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "servers": self.servers,
            "events": [dataclasses.asdict(e) for e in self.events],
            "hosts": self.hosts,
        }


def register_cells(
    ctx: context.RequestContext, urls: dict[str, str]
) -> list[CellMapping]:
    """Record one cell mapping per ``name -> database URL``."""
    cells = []
    for name, url in urls.items():
        cell = CellMapping(ctx, name=name, database_connection=url)
        cell.create()
        cells.append(cell)
    return cells


def register_hosts(
    ctx: context.RequestContext, cells: list[CellMapping]
) -> None:
    by_name = {cell.name: cell for cell in cells}
    for cell_name, host, zone, arch, vcpus, ram, disk in HOSTS:
        with context.target_cell(ctx, by_name[cell_name]) as cctx:
            ComputeNode(
                cctx,
                host=host,
                node=host,
                availability_zone=zone,
                architecture=arch,
                hypervisor_type="kvm",
                vcpus=vcpus,
                memory_mb=ram,
                local_gb=disk,
            ).create()


class _Scenario:
    def __init__(
        self, ctx: context.RequestContext, conductor: Conductor
    ) -> None:
        self.ctx = ctx
        self.conductor = conductor
        self.names: dict[str, str] = {}  # uuid -> demo name
        # Demo name -> pid of the process that built it.
        self.built_by: dict[str, int] = {}
        self.events: list[Event] = []
        # Demo name -> number (from 1) of the event that last chose a
        # host for it.
        self.placed_by: dict[str, int] = {}

    def boot(self, name: str, flavor: str, **kwargs: Any) -> str:
        uuid = compute_api.create_server(
            self.ctx, flavor=FLAVORS[flavor], **kwargs
        )
        self.names[uuid] = name
        shown = compute_api.show_server(self.ctx, uuid)
        self.events.append(
            Event(name, "create", f"{shown.status} in {shown.location}", "")
        )
        self.run(
            name, "build", lambda: self.conductor.build_server(self.ctx, uuid)
        )
        return uuid

    def run(
        self,
        name: str,
        action: str,
        op: Callable[[], common.MoveResult],
        may_fail: bool = False,
    ) -> None:
        try:
            outcome = op()
        except exception.NoValidHost as err:
            if not may_fail:
                raise
            # The reason follows the server's uuid in the message.
            reason = err.message.split(": ", 1)[-1]
            self.events.append(
                Event(name, action, "refused, not moved", reason)
            )
            return
        cell = outcome.cell.name if outcome.cell else "API"
        where = f"{cell}/{outcome.host}" if outcome.host else cell
        self.events.append(Event(name, action, where, outcome.why))
        if outcome.selection is not None:
            self.placed_by[name] = len(self.events)
        if action == "build":
            self.built_by[name] = outcome.worker_pid or os.getpid()


def run(
    ctx: context.RequestContext,
    cells: list[CellMapping],
    conductor: Conductor | None = None,
) -> DemoReport:
    """Register the hosts, boot six servers and move them around, with
    ``conductor`` (default: in this process)."""
    register_hosts(ctx, cells)
    conductor = conductor or LocalConductor()
    demo = _Scenario(ctx, conductor)
    web = InstanceGroup(uuid=GROUP_UUID, name="web", policy="anti-affinity")
    webs = [
        demo.boot(f"web-{i}", "m1.small", image=IMAGES["cirros"], group=web)
        for i in (1, 2, 3)
    ]
    db = demo.boot(
        "db-1", "m1.medium", image=IMAGES["cirros"], availability_zone="az-2"
    )
    arm = demo.boot("arm-1", "m1.small", image=IMAGES["cirros-arm"])
    # An admin pins the first placement with zone:host.
    demo.boot(
        "pinned-1",
        "m1.small",
        image=IMAGES["cirros"],
        availability_zone="az-2:c1-h3",
    )

    demo.run(
        "db-1",
        "resize to m1.large",
        lambda: conductor.resize(ctx, db, FLAVORS["m1.large"]),
    )
    demo.run(
        "db-1", "confirm resize", lambda: conductor.confirm_resize(ctx, db)
    )
    # An admin sends web-1 to a host of the other cell: the spec travels
    # with it through the crash-safe transfer.
    demo.run(
        "web-1",
        "migrate to c2-h4",
        lambda: conductor.migrate(
            ctx, webs[0], host="c2-h4", allow_cross_cell=True
        ),
    )
    down = compute_api.show_server(ctx, webs[1]).host
    _set_forced_down(ctx, cells, down)
    demo.events.append(Event("-", f"{down} forced down", "", ""))
    # Every other x86 host of its cell runs a web member: only another
    # cell can take it without breaking the anti-affinity policy.
    demo.run(
        "web-2",
        "evacuate (any cell)",
        lambda: conductor.evacuate(ctx, webs[1], allow_cross_cell=True),
    )
    # The only other aarch64 host does not exist: the image's
    # architecture, stored in the spec, keeps the server where it is.
    demo.run(
        "arm-1",
        "migrate (any cell)",
        lambda: conductor.migrate(ctx, arm, allow_cross_cell=True),
        may_fail=True,
    )
    return DemoReport(
        servers=_servers(ctx, cells, demo),
        events=demo.events,
        hosts=_hosts(ctx, cells),
    )


def _set_forced_down(
    ctx: context.RequestContext, cells: list[CellMapping], host: str | None
) -> None:
    for cell in cells:
        with context.target_cell(ctx, cell) as cctx:
            for node in ComputeNode.get_all(cctx):
                if node.host == host:
                    node.forced_down = True
                    node.save()


def _hosts(
    ctx: context.RequestContext, cells: list[CellMapping]
) -> list[dict[str, Any]]:
    hosts = []
    for cell in cells:
        with context.target_cell(ctx, cell) as cctx:
            for node in ComputeNode.get_all(cctx, with_usage=True):
                hosts.append(
                    {
                        "cell": cell.name,
                        "host": node.host,
                        "availability_zone": node.availability_zone,
                        "architecture": node.architecture,
                        "up": not node.forced_down,
                        "free_vcpus": node.free.vcpus,
                        "free_memory_mb": node.free.memory_mb,
                        "servers": node.running_instances,
                    }
                )
    return hosts


def _servers(
    ctx: context.RequestContext, cells: list[CellMapping], demo: _Scenario
) -> list[dict[str, Any]]:
    nodes: dict[str | None, ComputeNode] = {}
    for cell in cells:
        with context.target_cell(ctx, cell) as cctx:
            nodes.update((n.host, n) for n in ComputeNode.get_all(cctx))
    servers = []
    for uuid, name in demo.names.items():
        view = compute_api.show_server(ctx, uuid).to_dict()
        node = nodes.get(view["host"])
        image = IMAGES.get(view["image"] or "", {})
        placed = demo.placed_by[name]
        event = demo.events[placed - 1]
        servers.append(
            {
                "name": name,
                **view,
                "cell": view["location"],
                "host_availability_zone": node and node.availability_zone,
                "host_architecture": node and node.architecture,
                "image_architecture": image.get("properties", {}).get(
                    "hw_architecture"
                ),
                "placed_by": {
                    "event": placed,
                    "action": event.action,
                    "why": event.why,
                },
                "built_by_pid": demo.built_by[name],
            }
        )
    return servers
