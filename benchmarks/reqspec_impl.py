"""The library, through its public API only."""

from collections.abc import Iterator
from typing import Any

from reqspec import conf
from reqspec import context
from reqspec import objects
from reqspec.lifecycle import transfer

#: A host big enough to take every moved server.
HOST = "bench-compute-1"


class ReqspecStore:
    name = "reqspec"

    def __init__(self, api_url: str, cell_url: str) -> None:
        conf.CONF.set_override("connection", api_url, group="api_database")
        self.ctx = context.get_admin_context()
        self.cell = objects.CellMapping(
            self.ctx, name="bench-cell", database_connection=cell_url
        )
        self.cell.create()
        with context.target_cell(self.ctx, self.cell) as cctx:
            objects.ComputeNode(
                cctx,
                host=HOST,
                node=HOST,
                availability_zone=None,
                architecture="x86_64",
                hypervisor_type="kvm",
                vcpus=10**7,
                memory_mb=10**9,
                local_gb=10**9,
            ).create()

    def prepare(self, spec: objects.RequestSpec) -> objects.RequestSpec:
        spec._context = self.ctx
        return spec

    def create(self, spec: objects.RequestSpec) -> None:
        spec.create()

    def get(self, uuid: str) -> objects.RequestSpec:
        return objects.RequestSpec.get_by_instance_uuid(self.ctx, uuid)

    def get_many(self, uuids: list[str]) -> list[objects.RequestSpec]:
        return objects.RequestSpec.get_by_instance_uuids(self.ctx, uuids)

    def resize(self, spec: objects.RequestSpec, new_flavor: Any) -> None:
        spec.flavor = new_flavor
        spec.save()

    def prepare_move(self, spec: objects.RequestSpec) -> None:
        objects.InstanceMapping(
            self.ctx,
            instance_uuid=spec.instance_uuid,
            project_id=spec.project_id,
        ).create(spec=spec)

    def move(self, uuid: str) -> None:
        transfer.move(self.ctx, uuid, None, self.cell, HOST, HOST)

    def iterate(self, batch_size: int) -> Iterator[objects.RequestSpec]:
        return objects.RequestSpec.iter_all(self.ctx, batch_size)
