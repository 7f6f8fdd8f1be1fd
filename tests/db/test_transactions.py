"""The transaction decorators: the context picks the database."""

import dataclasses
import pathlib
import sqlite3
import threading

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
    return _rows(ctx.connection)


def _rows(connection: sa.Connection) -> int:
    return int(
        connection.execute(
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


_UUID = "00000000-0000-0000-0000-0000000000bb"


@transactions.writer
def _insert(ctx: context.RequestContext, then: object = None) -> None:
    ctx.connection.execute(
        sa.text(
            "INSERT INTO request_specs "
            "(instance_uuid, project_id, generation, spec) "
            f"VALUES ('{_UUID}', 'p', 1, '{{}}')"
        )
    )
    if callable(then):
        then(ctx)


@transactions.reader
def _count_and_connection(
    ctx: context.RequestContext,
) -> tuple[int, sa.Connection]:
    return _count(ctx), ctx.connection


def test_a_nested_call_joins_the_transaction_of_its_caller(db: Env) -> None:
    seen: list[tuple[int, sa.Connection]] = []

    def inside(ctx: context.RequestContext) -> None:
        outer = ctx.connection
        seen.append(_count_and_connection(ctx))
        # Back in the caller, its connection is the context's again.
        assert ctx.connection is outer

    for ctx in (db.ctx, db.cell_context(0)):
        seen.clear()
        _insert(ctx, then=inside)
        # The nested reader saw the uncommitted row, on the same connection.
        assert seen[0][0] == 1
        assert _count(ctx) == 1


def test_a_failure_in_a_nested_call_rolls_back_the_caller(db: Env) -> None:
    def fail(ctx: context.RequestContext) -> None:
        _insert_then_fail(ctx)  # joins, inserts a second row, raises

    with pytest.raises(RuntimeError, match="after the insert"):
        _insert(db.ctx, then=fail)
    assert _count(db.ctx) == 0


def test_a_writer_cannot_join_a_read_only_transaction(db: Env) -> None:
    @transactions.reader
    def read_then_write(ctx: context.RequestContext) -> None:
        _insert(ctx)

    with pytest.raises(TypeError, match="inside a read-only transaction"):
        read_then_write(db.ctx)
    assert _count(db.ctx) == 0


def test_a_call_on_another_database_nests_and_restores(db: Env) -> None:
    cctx = db.cell_context(0)
    api_counts: list[int] = []

    def on_the_api_database(ctx: context.RequestContext) -> None:
        cell_connection = ctx.connection
        # An API-only reader inside a cell writer: its own transaction on
        # the API database, which does not see the cell's uncommitted row.
        api_counts.append(_api_count(ctx))
        assert ctx.connection is cell_connection
        # And a cell call after it still joins the cell transaction.
        assert _count(ctx) == 1

    _insert(cctx, then=on_the_api_database)
    assert api_counts == [0]
    assert _count(cctx) == 1 and _count(db.ctx) == 0
    with pytest.raises(RuntimeError, match="no transaction is running"):
        _ = cctx.connection


@transactions.api_reader
def _api_count(ctx: context.RequestContext) -> int:
    return _rows(ctx.connection)


def test_threads_sharing_a_context_run_their_own_transactions(
    db: Env,
) -> None:
    inside = threading.Barrier(2, timeout=30)
    connections: list[sa.Connection] = []

    @transactions.reader
    def hold(ctx: context.RequestContext) -> None:
        mine = ctx.connection
        connections.append(mine)
        inside.wait()  # both threads are in a transaction at once
        assert ctx.connection is mine

    errors: list[BaseException] = []

    def run() -> None:
        try:
            hold(db.ctx)
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert connections[0] is not connections[1]


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
