"""Engines: one per URL for the life of the process, pooled, durable."""

import datetime
import os
from typing import cast

from oslo_db import exception as db_exc
import pytest
import sqlalchemy as sa

from reqspec import conf
from reqspec.db import api_models
from reqspec.db import engines
from tests.conftest import Env

CONF = conf.CONF


def test_one_database_object_per_url(tmp_path: object) -> None:
    url = engines.sqlite_url(os.path.join(str(tmp_path), "a.sqlite"))
    first = engines.database(url)
    assert engines.database(url) is first
    assert first.engine is engines.database(url).engine
    engines.dispose(url)
    assert engines.database(url) is not first
    engines.dispose(url)


def test_sqlite_files_are_pooled_durable_and_wait_for_locks(
    tmp_path: object,
) -> None:
    url = engines.sqlite_url(os.path.join(str(tmp_path), "b.sqlite"))
    engine = engines.database(url).engine
    try:
        assert isinstance(engine.pool, sa.pool.QueuePool)
        with engine.connect() as conn:
            pragma = conn.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA synchronous").scalar() == 2  # FULL
            assert pragma("PRAGMA foreign_keys").scalar() == 1
        with engine.connect() as conn:
            first = conn.connection.dbapi_connection
        with engine.connect() as conn:
            # The same DBAPI connection comes back from the pool.
            assert conn.connection.dbapi_connection is first
    finally:
        engines.dispose(url)


def test_sqlite_transactions_are_real(tmp_path: object) -> None:
    # pysqlite on its own does not BEGIN before a SELECT; a writer that
    # fails after its first statement must leave nothing behind.
    url = engines.sqlite_url(os.path.join(str(tmp_path), "c.sqlite"))
    engine = engines.database(url).engine
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        with pytest.raises(RuntimeError), engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            raise RuntimeError("boom")
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
    finally:
        engines.dispose(url)


def test_api_database_defaults_to_a_file_in_the_state_path(
    tmp_path: object,
) -> None:
    CONF.set_override("state_path", str(tmp_path))
    assert engines.api_database_url() == engines.sqlite_url(
        os.path.join(str(tmp_path), "api.sqlite")
    )
    CONF.set_override("connection", "sqlite:////x.db", group="api_database")
    assert engines.api_database_url() == "sqlite:////x.db"


def test_engines_are_reused_across_calls(db: Env) -> None:
    from reqspec import objects

    objects.CellMapping.get_all(db.ctx)
    engine = engines.database(db.api_url).engine
    objects.CellMapping.get_all(db.ctx)
    objects.CellMapping.get_by_name(db.ctx, "cell1")
    assert engines.database(db.api_url).engine is engine


def _kill_the_pooled_connection(db: Env) -> None:
    """Have the server end the (idle) connection the pool holds."""
    engine = engines.database(db.api_url).engine
    with engine.connect() as conn:
        dbapi_con = conn.connection.dbapi_connection
        if db.backend == "postgresql":
            kill = (
                f"SELECT pg_terminate_backend({dbapi_con.get_backend_pid()})"
            )
        else:
            kill = f"KILL CONNECTION {dbapi_con.thread_id()}"
    admin = sa.create_engine(db.api_url, poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(kill)
    admin.dispose()


def _count_pings(db: Env, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    dialect = engines.database(db.api_url).engine.dialect
    pings: list[object] = []
    real = dialect.do_ping

    def counting(dbapi_con: object) -> bool:
        pings.append(dbapi_con)
        return real(dbapi_con)

    monkeypatch.setattr(dialect, "do_ping", counting)
    return pings


@pytest.mark.backends("postgresql", "mysql")
def test_busy_server_connections_are_not_pinged(
    db: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reqspec import objects

    objects.CellMapping.get_all(db.ctx)
    pings = _count_pings(db, monkeypatch)
    for _ in range(5):
        objects.CellMapping.get_by_name(db.ctx, "cell1")
    assert pings == []
    monkeypatch.setattr(engines, "IDLE_PING_SECONDS", 0.0)
    objects.CellMapping.get_by_name(db.ctx, "cell1")
    assert len(pings) == 1


@pytest.mark.backends("postgresql", "mysql")
def test_an_idle_connection_the_server_dropped_is_replaced(
    db: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reqspec import objects

    objects.CellMapping.get_all(db.ctx)
    _kill_the_pooled_connection(db)
    # As if the connection had sat idle past the threshold.
    monkeypatch.setattr(engines, "IDLE_PING_SECONDS", 0.0)
    assert objects.CellMapping.get_by_name(db.ctx, "cell1").name == "cell1"


@pytest.mark.backends("postgresql", "mysql")
def test_a_busy_connection_the_server_dropped_fails_once(db: Env) -> None:
    # Not pinged (used a moment ago): the call fails cleanly, nothing was
    # written, and the pool is replaced for the next call.
    from reqspec import exception
    from reqspec import objects

    objects.CellMapping.get_all(db.ctx)
    _kill_the_pooled_connection(db)
    with pytest.raises(exception.DatabaseUnavailable, match="nothing was"):
        objects.CellMapping.get_by_name(db.ctx, "cell1")
    assert objects.CellMapping.get_by_name(db.ctx, "cell1").name == "cell1"


def test_no_event_per_transaction_yet_errors_are_translated(db: Env) -> None:
    # oslo.db's commit/rollback listeners would give every connection a
    # joined event dispatcher (see engines._drop_savepoint_bookkeeping).
    engine = engines.database(db.api_url).engine
    assert not engine._has_events
    cells = cast(sa.Table, api_models.CellMapping.__table__)
    row = {
        "uuid": db.cells[0].uuid,
        "name": "again",
        "database_connection": "sqlite://",
        "created_at": datetime.datetime(2026, 1, 1),
    }
    # ...while the handle_error filter still types what the driver says.
    with pytest.raises(db_exc.DBDuplicateEntry), engine.begin() as conn:
        conn.execute(cells.insert(), row)
    # A listener added later is dispatched as usual.
    seen: list[str] = []
    listener = lambda conn: seen.append("commit")  # noqa: E731
    sa.event.listen(engine, "commit", listener)
    try:
        with engine.begin() as conn:
            conn.execute(sa.select(1))
    finally:
        sa.event.remove(engine, "commit", listener)
    assert seen == ["commit"]
