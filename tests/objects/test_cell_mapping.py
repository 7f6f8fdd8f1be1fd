"""Cell mappings in the API database."""

import pytest

from reqspec import context
from reqspec import exception
from reqspec import objects
from tests.conftest import Env


def test_create_and_find(db: Env) -> None:
    cell = objects.CellMapping(
        db.ctx,
        name="cell3",
        database_connection="mysql+pymysql://u:secret@db3/cell3",
    )
    cell.create()
    assert cell.id and cell.uuid
    assert objects.CellMapping.get_by_name(db.ctx, "cell3") == cell
    assert objects.CellMapping.get_by_uuid(db.ctx, cell.uuid) == cell
    names = [c.name for c in objects.CellMapping.get_all(db.ctx)]
    assert names == ["cell1", "cell2", "cell3"]
    assert "secret" not in cell.masked_connection
    assert "cell3" in cell.identity


def test_found_from_a_targeted_context(db: Env) -> None:
    with context.target_cell(db.ctx, db.cells[0]) as cctx:
        assert objects.CellMapping.get_by_name(cctx, "cell2") == db.cells[1]


def test_duplicate_name(db: Env) -> None:
    with pytest.raises(exception.CellMappingExists, match="cell1"):
        objects.CellMapping(
            db.ctx, name="cell1", database_connection="sqlite://"
        ).create()


def test_unknown_cell(db: Env) -> None:
    with pytest.raises(exception.CellMappingNotFound, match="nope"):
        objects.CellMapping.get_by_name(db.ctx, "nope")
    with pytest.raises(exception.Invalid, match="cell uuid"):
        objects.CellMapping.get_by_uuid(db.ctx, "not-a-uuid")


def test_destroy(db: Env) -> None:
    db.cells[1].destroy()
    with pytest.raises(exception.CellMappingNotFound):
        objects.CellMapping.get_by_name(db.ctx, "cell2")
    with pytest.raises(exception.CellMappingNotFound):
        db.cells[1].destroy()
