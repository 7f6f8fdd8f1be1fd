"""SQL for ``instances``, called directly, checked against the tables."""

from typing import Any
from typing import cast

from oslo_utils import uuidutils
import pytest
import sqlalchemy as sa

from reqspec import exception
from reqspec.db import cell_models
from reqspec.db import compute_nodes
from reqspec.db import engines
from reqspec.db import instances
from reqspec.db import request_specs
from tests.conftest import Env
from tests.db.test_compute_nodes import values as node_values

SERVERS = cast(sa.Table, cell_models.Instance.__table__)
SPECS = cast(sa.Table, cell_models.RequestSpec.__table__)


def stored(env: Env, cell: int = 0) -> dict[str, tuple[Any, ...]]:
    """uuid -> (status, host, vcpus, has a spec row), read from the cell's
    tables outside the module under test."""
    url = env.cells[cell].database_connection
    s = SERVERS.c
    with engines.database(url).engine.connect() as conn:
        specs = {r[0] for r in conn.execute(sa.select(SPECS.c.instance_uuid))}
        rows = conn.execute(sa.select(s.uuid, s.status, s.host, s.vcpus))
        return {r[0]: (*r[1:], r[0] in specs) for r in rows}


def server(host: str | None = "h1", vcpus: int = 1, **extra: Any) -> dict:
    return {
        "uuid": uuidutils.generate_uuid(),
        "project_id": "p1",
        "status": "ACTIVE",
        "host": host,
        "node": host,
        "vcpus": vcpus,
        "memory_mb": 512,
        "disk_gb": 1,
        **extra,
    }


def spec_row(uuid: str) -> request_specs.SpecRow:
    return request_specs.SpecRow(0, uuid, "p1", 0, "{}")


@pytest.fixture
def cell(db: Env) -> Any:
    """cell1, with one node h1 of 4 VCPUs."""
    ctx = db.cell_context(0)
    compute_nodes.create(ctx, node_values("h1"))
    return ctx


def test_create_writes_the_row_and_refuses_a_duplicate(
    db: Env, cell: Any
) -> None:
    values = server(group_uuid="g1")
    row_id = instances.create(cell, values)
    assert stored(db) == {values["uuid"]: ("ACTIVE", "h1", 1, False)}
    assert stored(db, 1) == {}
    row = instances.get_by_uuid(cell, values["uuid"])
    assert row is not None and row["id"] == row_id
    assert row["group_uuid"] == "g1" and row["old_host"] is None
    with pytest.raises(exception.InstanceExists):
        instances.create(cell, dict(values, vcpus=2))
    assert stored(db)[values["uuid"]][2] == 1
    assert instances.get_by_uuid(cell, uuidutils.generate_uuid()) is None
    assert instances.get_by_uuid(db.cell_context(1), values["uuid"]) is None


def test_create_claims_and_refuses_what_does_not_fit(
    db: Env, cell: Any
) -> None:
    instances.create(cell, server(vcpus=3))
    big = server(vcpus=2)
    with pytest.raises(exception.ComputeResourcesUnavailable) as caught:
        instances.create(cell, big)
    assert "needs 2 VCPU, 1 free" in caught.value.message
    assert big["uuid"] not in stored(db)
    # A server on no host (shelved offloaded) holds nothing.
    instances.create(cell, server(host=None, vcpus=8))
    assert instances.count(cell) == 2


def test_reads_by_uuids_group_and_all(db: Env, cell: Any) -> None:
    made = [server(group_uuid="g1" if i < 2 else None) for i in range(3)]
    for values in made:
        instances.create(cell, values)
    uuids = [v["uuid"] for v in made]
    # More uuids than one IN list: the missing ones are skipped.
    missing = [
        uuidutils.generate_uuid() for _ in range(request_specs.IN_CHUNK)
    ]
    asked = [uuids[0], *missing, uuids[1], uuids[2]]
    got = instances.get_by_uuids(cell, asked)
    assert sorted(r["uuid"] for r in got) == sorted(uuids)
    assert [r["uuid"] for r in instances.get_by_group(cell, "g1")] == uuids[:2]
    assert [r["uuid"] for r in instances.get_all(cell)] == uuids
    assert instances.get_all(db.cell_context(1)) == []
    assert instances.count(cell) == 3


def test_update_only_from_the_expected_state(db: Env, cell: Any) -> None:
    values = server()
    uuid = values["uuid"]
    instances.create(cell, values)
    with pytest.raises(exception.InstanceConflict):
        instances.update(cell, uuid, {"status": "BUILD"}, {"vcpus": 2}, "x")
    assert stored(db)[uuid] == ("ACTIVE", "h1", 1, False)
    # Growing past the node's size is refused, and nothing is written.
    with pytest.raises(exception.ComputeResourcesUnavailable):
        instances.update(cell, uuid, {"status": "ACTIVE"}, {"vcpus": 5}, "x")
    assert stored(db)[uuid] == ("ACTIVE", "h1", 1, False)
    after = instances.update(
        cell,
        uuid,
        {"status": "ACTIVE"},
        {"status": "RESIZED", "vcpus": 4},
        "x",
    )
    assert (after["status"], after["vcpus"]) == ("RESIZED", 4)
    assert stored(db)[uuid] == ("RESIZED", "h1", 4, False)
    with pytest.raises(exception.InstanceNotFound):
        instances.update(
            cell, uuidutils.generate_uuid(), {}, {"status": "X"}, "x"
        )


def test_create_many_leaves_out_what_does_not_fit_with_its_spec(
    db: Env, cell: Any
) -> None:
    batch = [server(vcpus=2), server(vcpus=3), server(vcpus=2)]
    uuids = [v["uuid"] for v in batch]
    refused = instances.create_many(cell, batch, [spec_row(u) for u in uuids])
    # Fitted in order: 2 of 4 VCPUs, then 3 does not fit, then 2 does.
    assert list(refused) == [uuids[1]]
    assert "needs 3 VCPU, 2 free" in refused[uuids[1]].message
    assert stored(db) == {
        uuids[0]: ("ACTIVE", "h1", 2, True),
        uuids[2]: ("ACTIVE", "h1", 2, True),
    }
    # A server already there (left out of the sums, so its claim fits):
    # its insert fails, and nothing of the batch is written.
    again = [server(vcpus=0), batch[0]]
    with pytest.raises(exception.InstanceExists):
        instances.create_many(
            cell, again, [spec_row(v["uuid"]) for v in again]
        )
    assert stored(db).keys() == {uuids[0], uuids[2]}


def test_destroy_and_destroy_with_spec(db: Env, cell: Any) -> None:
    kept, gone = server(), server()
    instances.create_many(
        cell, [kept, gone], [spec_row(kept["uuid"]), spec_row(gone["uuid"])]
    )
    instances.destroy_with_spec(cell, gone["uuid"])
    assert stored(db) == {kept["uuid"]: ("ACTIVE", "h1", 1, True)}
    # Either may be gone already.
    instances.destroy_with_spec(cell, gone["uuid"])
    instances.destroy(cell, kept["uuid"])
    # destroy leaves the spec to its own module.
    assert stored(db) == {}
    assert request_specs.get_by_instance_uuid(cell, kept["uuid"]) is not None
    with pytest.raises(exception.InstanceNotFound):
        instances.destroy(cell, kept["uuid"])
