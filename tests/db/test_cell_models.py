"""A cell database's tables: what the schema itself refuses, whatever
code writes to it. That the tables equal the migrated schema, and that
``request_specs`` is the same table as the API database's, is
``test_migrations``'s."""

from collections.abc import Iterator
from typing import Any
from typing import cast

from oslo_db import exception as db_exc
from oslo_utils import uuidutils
import pytest
import sqlalchemy as sa

from reqspec.db import cell_models
from reqspec.db import engines
from tests.conftest import Env

NODES = cast(sa.Table, cell_models.ComputeNode.__table__)
SERVERS = cast(sa.Table, cell_models.Instance.__table__)


@pytest.fixture
def conn(db: Env) -> Iterator[sa.Connection]:
    """A connection of cell1's database, each statement its own
    transaction, through reqspec's engine (oslo.db's error filters)."""
    engine = engines.database(db.cells[0].database_connection).engine
    with engine.connect() as connection:
        yield connection.execution_options(isolation_level="AUTOCOMMIT")


def node(host: str, name: str) -> dict[str, Any]:
    return {
        "uuid": uuidutils.generate_uuid(),
        "host": host,
        "node": name,
        "vcpus": 1,
        "memory_mb": 1,
        "local_gb": 1,
        "cpu_allocation_ratio": 1.0,
        "ram_allocation_ratio": 1.0,
        "disk_allocation_ratio": 1.0,
        "disabled": False,
        "forced_down": False,
        "generation": 1,
    }


def test_a_node_is_one_host_and_node_pair(conn: sa.Connection) -> None:
    first = node("h1", "n1")
    conn.execute(NODES.insert(), first)
    conn.execute(NODES.insert(), node("h1", "n2"))  # a second hypervisor
    with pytest.raises(db_exc.DBDuplicateEntry):
        conn.execute(NODES.insert(), node("h1", "n1"))
    with pytest.raises(db_exc.DBDuplicateEntry):
        conn.execute(NODES.insert(), dict(first, host="h2"))
    pairs = conn.execute(sa.select(NODES.c.host, NODES.c.node)).all()
    assert sorted(tuple(p) for p in pairs) == [("h1", "n1"), ("h1", "n2")]


def test_a_server_is_in_a_cell_once(conn: sa.Connection) -> None:
    row = {
        "uuid": uuidutils.generate_uuid(),
        "status": "ACTIVE",
        "vcpus": 1,
        "memory_mb": 1,
        "disk_gb": 1,
    }
    conn.execute(SERVERS.insert(), row)
    with pytest.raises(db_exc.DBDuplicateEntry):
        conn.execute(SERVERS.insert(), dict(row, status="BUILD"))
    # What a server holds is always known: no NULL sizes.
    with pytest.raises(db_exc.DBError):
        conn.execute(
            SERVERS.insert(),
            dict(row, uuid=uuidutils.generate_uuid(), vcpus=None),
        )
    statuses = conn.execute(sa.select(SERVERS.c.status)).scalars().all()
    assert statuses == ["ACTIVE"]
