"""The transaction decorators: the context picks the database."""

import dataclasses
import pathlib
import sqlite3

import pytest
import sqlalchemy as sa

from reqspec import context
from reqspec import exception
from reqspec.conf import settings as conf_settings
from reqspec.db import engines
from reqspec.db import migration
from reqspec.db import transactions
from reqspec.objects import CellMapping
from reqspec.objects import RequestSpec
from tests.conftest import Env


@transactions.reader
def _current_database(ctx: context.RequestContext) -> str:
    return str(ctx.connection.engine.url)


@transactions.api_reader
def _api_database(ctx: context.RequestContext) -> str:
    return str(ctx.connection.engine.url)


@transactions.cell_reader
def _cell_database(ctx: context.RequestContext) -> str:
    return str(ctx.connection.engine.url)


@transactions.writer
def _insert_then_fail(ctx: context.RequestContext) -> None:
    ctx.connection.execute(
        sa.text(
            "INSERT INTO request_specs "
            "(instance_uuid, project_id, generation, spec) "
            "VALUES ('00000000-0000-0000-0000-0000000000aa', 'p', 1, '{}')"
        )
    )
    raise RuntimeError("after the insert")


@transactions.reader
def _count(ctx: context.RequestContext) -> int:
    return int(
        ctx.connection.execute(
            sa.text("SELECT count(*) FROM request_specs")
        ).scalar_one()
    )


def _same(url: str, other: str) -> bool:
    return (
        sa.engine.make_url(url).database == sa.engine.make_url(other).database
    )


def test_context_selects_the_database(db: Env) -> None:
    assert _same(_current_database(db.ctx), db.api_url)
    for i, cell in enumerate(db.cells):
        cctx = db.cell_context(i)
        assert _same(_current_database(cctx), cell.database_connection)
        # API-only functions stay on the API database when targeted.
        assert _same(_api_database(cctx), db.api_url)
        assert _same(_cell_database(cctx), cell.database_connection)


def test_cell_functions_refuse_an_untargeted_context(db: Env) -> None:
    with pytest.raises(exception.CellNotTargeted, match="target_cell"):
        _cell_database(db.ctx)


def test_a_failed_writer_leaves_nothing(db: Env) -> None:
    for ctx in (db.ctx, db.cell_context(0)):
        with pytest.raises(RuntimeError):
            _insert_then_fail(ctx)
        assert _count(ctx) == 0


@dataclasses.dataclass
class _Cell:
    uuid: str
    name: str
    database_connection: str


def test_missing_schema_is_a_clear_error(tmp_path: object) -> None:
    sqlite3.connect(f"{tmp_path}/empty.sqlite").close()
    cell = _Cell(
        "00000000-0000-0000-0000-000000000001",
        "empty",
        f"sqlite:///{tmp_path}/empty.sqlite",
    )
    ctx = context.get_admin_context()
    with (
        context.target_cell(ctx, cell) as cctx,
        pytest.raises(exception.DatabaseNotUpgraded, match="db sync"),
    ):
        _count(cctx)


def test_unreachable_server_is_a_typed_error() -> None:
    cell = _Cell(
        "00000000-0000-0000-0000-000000000002",
        "gone",
        "postgresql+psycopg2://nobody@127.0.0.1:9/nowhere",
    )
    ctx = context.get_admin_context()
    with (
        context.target_cell(ctx, cell) as cctx,
        pytest.raises(
            exception.DatabaseUnavailable, match="cell gone"
        ) as info,
    ):
        _count(cctx)
    assert "Connection refused" in str(info.value)


def test_targeting_a_cell_whose_sqlite_file_is_missing_creates_nothing(
    db: Env, tmp_path: pathlib.Path
) -> None:
    """Issue 13: a read created the directory and an empty database, then
    said DatabaseNotUpgraded. The API database is each backend's; the cell
    is an SQLite file that is not there."""
    path = tmp_path / "cells" / "lost.sqlite"
    cell = CellMapping(
        db.ctx,
        name="lost",
        database_connection=conf_settings.sqlite_url(str(path)),
    )
    cell.create()  # registering a cell creates no database
    with context.target_cell(db.ctx, cell) as cctx:
        reads = [
            lambda: RequestSpec.get_by_instance_uuid(
                cctx, "6f1c8a9e-3b7d-4e2a-9c5f-0a1b2c3d4e5f"
            ),
            lambda: list(RequestSpec.iter_all(cctx)),
            lambda: _count(cctx),
        ]
        for read in reads:
            with pytest.raises(exception.DatabaseMissing) as info:
                read()
            assert isinstance(info.value, exception.DatabaseUnavailable)
            assert str(path) in info.value.message
            assert "cell lost" in info.value.message
            assert "reqspec-manage db sync" in info.value.message
    with pytest.raises(exception.DatabaseMissing):
        migration.db_version("cell", cell.database_connection)
    assert list(tmp_path.iterdir()) == []
    # db sync is what creates it; then the same reads work.
    migration.db_sync("cell", cell.database_connection)
    with context.target_cell(db.ctx, cell) as cctx:
        assert list(RequestSpec.iter_all(cctx)) == []
    engines.dispose(cell.database_connection)
