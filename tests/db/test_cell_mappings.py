"""SQL for ``cell_mappings``, called directly, checked against the table."""

from typing import cast

from oslo_utils import uuidutils
import pytest
import sqlalchemy as sa

from reqspec import exception
from reqspec.db import api_models
from reqspec.db import cell_mappings
from reqspec.db import engines
from tests.conftest import Env

TABLE = cast(sa.Table, api_models.CellMapping.__table__)


def stored(env: Env) -> dict[str, tuple[str, str]]:
    """uuid -> (name, database_connection), read outside the module."""
    c = TABLE.c
    with engines.database(env.api_url).engine.connect() as conn:
        rows = conn.execute(sa.select(c.uuid, c.name, c.database_connection))
        return {r[0]: (r[1], r[2]) for r in rows}


def test_create_update_destroy(db: Env) -> None:
    uuid = uuidutils.generate_uuid()
    values = {"uuid": uuid, "name": "cell9", "database_connection": "x://"}
    row_id = cell_mappings.create(db.ctx, values)
    assert stored(db)[uuid] == ("cell9", "x://")
    assert cell_mappings.get_by_uuid(db.ctx, uuid).id == row_id
    with pytest.raises(exception.CellMappingExists):
        cell_mappings.create(
            db.ctx, dict(values, uuid=uuidutils.generate_uuid())
        )
    cell_mappings.update(db.ctx, uuid, {"name": "cell10"})
    assert stored(db)[uuid] == ("cell10", "x://")
    with pytest.raises(exception.CellMappingExists):
        cell_mappings.update(db.ctx, uuid, {"name": "cell1"})
    cell_mappings.destroy(db.ctx, uuid)
    assert uuid not in stored(db)
    with pytest.raises(exception.CellMappingNotFound):
        cell_mappings.destroy(db.ctx, uuid)
    with pytest.raises(exception.CellMappingNotFound):
        cell_mappings.update(db.ctx, uuid, {"name": "x"})


def test_reads(db: Env) -> None:
    # The fixture registered cell1 and cell2.
    assert [r.name for r in cell_mappings.get_all(db.ctx)] == [
        "cell1",
        "cell2",
    ]
    row = cell_mappings.get_by_name(db.ctx, "cell2")
    assert stored(db)[row.uuid] == ("cell2", row.database_connection)
    assert cell_mappings.get_by_name(db.ctx, "nope") is None
    assert cell_mappings.get_by_uuid(db.ctx, uuidutils.generate_uuid()) is None
    assert cell_mappings.count_instance_mappings(db.ctx, row.id) == 0
