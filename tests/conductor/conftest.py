"""A small cloud where each of the server's constraints rules out a host.

cell1  a1 az-1 x86_64   runs the other member of the server's
                        anti-affinity group
       a2 az-1 x86_64   where the server boots
       a3 az-2 x86_64   wrong zone
       a4 az-1 aarch64  wrong architecture for the server's image
       a5 az-1 x86_64   the only valid destination of a move
cell2  b1 az-1 x86_64   valid, but in another cell
"""

import dataclasses
from typing import Any

import pytest

from reqspec import compute_api
from reqspec.objects import InstanceMapping
from reqspec.objects import RequestSpec
from tests.fixtures import cloud

HOSTS = (
    (0, "a1", "az-1", "x86_64"),
    (0, "a2", "az-1", "x86_64"),
    (0, "a3", "az-2", "x86_64"),
    (0, "a4", "az-1", "aarch64"),
    (0, "a5", "az-1", "x86_64"),
    (1, "b1", "az-1", "x86_64"),
)
ZONES = {host: zone for _, host, zone, _ in HOSTS}
ARCHES = {host: arch for _, host, _, arch in HOSTS}


@dataclasses.dataclass
class Placed:
    env: Any
    member: str
    server: str

    def view(self) -> compute_api.ServerView:
        return compute_api.show_server(self.env.ctx, self.server)

    def state(self) -> tuple[Any, ...]:
        """Everything a failed move must leave as it was."""
        mapping = InstanceMapping.get_by_instance_uuid(
            self.env.ctx, self.server
        )
        index = [c.uuid for c in self.env.cells].index(
            mapping.cell_mapping.uuid
        )
        spec = RequestSpec.get_by_instance_uuid(
            self.env.cell_context(index), self.server
        )
        view = self.view()
        return (
            mapping.cell_mapping.name,
            mapping.move_step,
            spec.generation,
            spec.to_document(),
            view.host,
            view.status,
        )

    def assert_constraints_hold(self) -> None:
        view = self.view()
        assert view.host is not None
        assert ZONES[view.host] == "az-1"
        assert ARCHES[view.host] == "x86_64"
        assert view.host != self.view_of(self.member).host

    def view_of(self, uuid: str) -> compute_api.ServerView:
        return compute_api.show_server(self.env.ctx, uuid)


@pytest.fixture
def placed(db: Any) -> Placed:
    for cell, host, zone, arch in HOSTS:
        cloud.add_host(db, cell, host, zone=zone, arch=arch)
    member = cloud.boot(db, group=cloud.group(), availability_zone="az-1:a1")
    server = cloud.boot(
        db,
        group=cloud.group(),
        availability_zone="az-1",
        image=cloud.X86,
    )
    placed = Placed(db, member, server)
    assert placed.view().host == "a2"
    return placed
