"""The API database's tables: what the schema itself refuses, whatever
code writes to it (the SQL modules turn these errors into typed ones).
That the tables equal the migrated schema is ``test_migrations``'s."""

from collections.abc import Iterator
from typing import Any
from typing import cast

from oslo_db import exception as db_exc
from oslo_utils import uuidutils
import pytest
import sqlalchemy as sa

from reqspec.db import api_models
from reqspec.db import engines
from tests.conftest import Env

CELLS = cast(sa.Table, api_models.CellMapping.__table__)
MAPPINGS = cast(sa.Table, api_models.InstanceMapping.__table__)


@pytest.fixture
def conn(db: Env) -> Iterator[sa.Connection]:
    """A connection of the API database, each statement its own
    transaction, through reqspec's engine (oslo.db's error filters)."""
    engine = engines.database(db.api_url).engine
    with engine.connect() as connection:
        yield connection.execution_options(isolation_level="AUTOCOMMIT")


def mapping(cell_id: Any = None) -> dict[str, Any]:
    return {"instance_uuid": uuidutils.generate_uuid(), "cell_id": cell_id}


def test_keys_are_unique(db: Env, conn: sa.Connection) -> None:
    cell = {"uuid": db.cells[0].uuid, "name": "x", "database_connection": ""}
    with pytest.raises(db_exc.DBDuplicateEntry):
        conn.execute(CELLS.insert(), cell)
    with pytest.raises(db_exc.DBDuplicateEntry):
        conn.execute(
            CELLS.insert(),
            dict(cell, uuid=uuidutils.generate_uuid(), name="cell1"),
        )
    row = mapping()
    conn.execute(MAPPINGS.insert(), row)
    with pytest.raises(db_exc.DBDuplicateEntry):
        conn.execute(MAPPINGS.insert(), row)
    count = conn.execute(sa.select(sa.func.count()).select_from(MAPPINGS))
    assert count.scalar_one() == 1


def test_mappings_point_at_cells_that_exist(
    db: Env, conn: sa.Connection
) -> None:
    with pytest.raises(db_exc.DBReferenceError):
        conn.execute(MAPPINGS.insert(), mapping(cell_id=10_000))
    for column in ("move_source_cell_id", "move_target_cell_id"):
        with pytest.raises(db_exc.DBReferenceError):
            conn.execute(MAPPINGS.insert(), {**mapping(), column: 10_000})
    conn.execute(MAPPINGS.insert(), mapping(cell_id=db.cells[0].id))
    # A cell with servers mapped to it cannot go.
    with pytest.raises(db_exc.DBReferenceError):
        conn.execute(CELLS.delete().where(CELLS.c.id == db.cells[0].id))
    conn.execute(CELLS.delete().where(CELLS.c.id == db.cells[1].id))
    names = conn.execute(sa.select(CELLS.c.name)).scalars().all()
    assert names == ["cell1"]
