"""Engines: one per URL for the life of the process, pooled, durable."""

import datetime
import os
import pathlib
import sqlite3
import time
from typing import cast

from oslo_db import exception as db_exc
import pytest
import sqlalchemy as sa

from reqspec import conf
from reqspec.db import api_models
from reqspec.db import engines
from tests.conftest import Env
from tests.fixtures.proxy import Proxy

CONF = conf.CONF


def _existing(directory: object, name: str) -> str:
    """An empty SQLite database file (reqspec itself only opens them)."""
    path = os.path.join(str(directory), name)
    sqlite3.connect(path).close()
    return path


def test_a_missing_sqlite_file_is_opened_never_created(
    tmp_path: pathlib.Path,
) -> None:
    """Issue 13: connecting used to create the directory and an empty
    database file."""
    path = tmp_path / "nowhere" / "cell.sqlite"
    url = engines.sqlite_url(str(path))
    assert engines.missing_sqlite_file(url) == str(path)
    try:
        with pytest.raises(db_exc.DBError, match="unable to open"):
            engines.database(url).engine.connect()
    finally:
        engines.dispose(url)
    assert list(tmp_path.iterdir()) == []
    # A command meant to create a database may.
    engine = engines.create_engine(url, create=True)
    try:
        with engine.connect():
            pass
    finally:
        engine.dispose()
    assert path.exists() and engines.missing_sqlite_file(url) is None


def test_a_path_that_needs_escaping_in_a_uri_opens(
    tmp_path: pathlib.Path,
) -> None:
    url = engines.sqlite_url(_existing(tmp_path, "odd #%name.sqlite"))
    try:
        with engines.database(url).engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    finally:
        engines.dispose(url)
    assert sorted(p.name for p in tmp_path.iterdir())[0] == "odd #%name.sqlite"


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
    url = engines.sqlite_url(_existing(tmp_path, "b.sqlite"))
    engine = engines.database(url).engine
    try:
        assert isinstance(engine.pool, sa.pool.QueuePool)
        with engine.connect() as conn:
            pragma = conn.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA synchronous").scalar() == 2  # FULL
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            # A small private page cache: memory must not grow by 2 MiB
            # per pooled connection of every cell (benchmarks/cells.py).
            assert pragma("PRAGMA cache_size").scalar() == (
                -engines.SQLITE_CACHE_KIB
            )
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
    url = engines.sqlite_url(_existing(tmp_path, "c.sqlite"))
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


def server_connections(url: str) -> int:
    """Connections to the database of ``url``, as its server counts them
    (for SQLite: this process's open descriptors of the file)."""
    parsed = sa.engine.make_url(url)
    name = parsed.database or ""
    if parsed.get_backend_name() == "sqlite":
        fds = os.listdir("/proc/self/fd")
        paths = []
        for fd in fds:
            try:
                paths.append(os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:
                continue
        return paths.count(os.path.abspath(name))
    if parsed.get_backend_name() == "postgresql":
        query = "SELECT count(*) FROM pg_stat_activity WHERE datname = :n"
    else:
        query = (
            "SELECT count(*) FROM information_schema.processlist WHERE db = :n"
        )
    admin = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            # Less the one asking.
            return int(conn.execute(sa.text(query), {"n": name}).scalar()) - 1
    finally:
        admin.dispose()


def test_cell_databases_get_pools_of_their_own_size(
    db: Env, empty_database_url: str
) -> None:
    CONF.set_override("cell_pool_size", 2, group="database")
    CONF.set_override("cell_max_overflow", 1, group="database")
    pool = engines.database(empty_database_url).engine.pool
    assert (pool.size(), pool._max_overflow) == (2, 1)  # type: ignore[attr-defined]
    engines.dispose(db.api_url)
    api_pool = engines.database(db.api_url).engine.pool
    assert api_pool.size() == CONF.database.max_pool_size  # type: ignore[attr-defined]
    url = engines.database(empty_database_url).engine.url
    if db.backend == "sqlite":
        assert "connect_timeout" not in url.query
    else:
        assert url.query["connect_timeout"] == "10"
    if db.backend == "mysql":
        assert url.query["read_timeout"] == "60"


def test_idle_cell_connections_are_closed(
    db: Env, empty_database_url: str
) -> None:
    CONF.set_override("cell_pool_idle_timeout", 0.3, group="database")
    engine = engines.database(empty_database_url).engine
    held = [engine.connect() for _ in range(3)]
    for conn in held:
        conn.exec_driver_sql("SELECT 1")
    for conn in held:
        conn.close()
    assert engines.open_connections(empty_database_url) == 3
    assert server_connections(empty_database_url) == 3
    deadline = time.monotonic() + 10
    while (
        engines.open_connections(empty_database_url)
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert engines.open_connections(empty_database_url) == 0
    assert server_connections(empty_database_url) == 0
    # The pool connects again when next needed.
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1


def test_a_busy_connection_is_not_closed_as_idle(tmp_path: object) -> None:
    CONF.set_override("cell_pool_idle_timeout", 0.01, group="database")
    path = os.path.join(str(tmp_path), "c.sqlite")
    sqlite3.connect(path).close()  # reqspec opens SQLite files, never makes
    url = engines.sqlite_url(path)
    db = engines.database(url)
    with db.engine.connect() as conn:
        time.sleep(0.05)
        assert engines.close_idle(db) == 0
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    assert engines.close_idle(db, now=time.monotonic() + 1) == 1
    engines.dispose(url)


@pytest.mark.backends("postgresql", "mysql")
def test_a_silent_cell_server_fails_to_connect_in_time(
    db: Env, empty_database_url: str
) -> None:
    CONF.set_override("cell_connect_timeout", 2, group="database")
    CONF.set_override("cell_read_timeout", 2, group="database")
    proxy = Proxy(empty_database_url)
    try:
        proxy.set_mode("blackhole")
        engine = engines.database(proxy.url).engine
        start = time.monotonic()
        # oslo.db's filters turn the driver's error into its own type.
        with pytest.raises(
            (sa.exc.OperationalError, db_exc.DBConnectionError)
        ):
            engine.connect()
        assert 1.5 < time.monotonic() - start < 10
    finally:
        proxy.close()
        engines.dispose(proxy.url)


def _session_sync_wait(url: str) -> int:
    with engines.database(url).engine.connect() as conn:
        return int(
            conn.exec_driver_sql("SELECT @@SESSION.wsrep_sync_wait").scalar()
        )


@pytest.mark.backends("mysql")
@pytest.mark.galera
def test_causal_reads_are_asked_of_galera_nodes_only(db: Env) -> None:
    cell_url = db.cells[0].database_connection
    engines.dispose(cell_url)
    engines.dispose(db.api_url)
    # A plain MariaDB keeps its own setting (0); a Galera node gets 3.
    expected = 3 if db.backend == "galera" else 0
    assert _session_sync_wait(cell_url) == expected
    assert _session_sync_wait(db.api_url) == expected


@pytest.mark.backends()
@pytest.mark.galera
def test_sync_wait_is_configurable_per_database_group(db: Env) -> None:
    cell_url = db.cells[0].database_connection
    CONF.set_override("mysql_wsrep_sync_wait", 1, group="database")
    CONF.set_override("mysql_wsrep_sync_wait", 7, group="api_database")
    engines.dispose(cell_url)
    engines.dispose(db.api_url)
    try:
        assert _session_sync_wait(cell_url) == 1
        assert _session_sync_wait(db.api_url) == 7
        CONF.clear_override("mysql_wsrep_sync_wait", group="api_database")
        engines.dispose(db.api_url)
        assert _session_sync_wait(db.api_url) == 1
    finally:
        # Later tests get engines with the default again.
        engines.dispose(cell_url)
        engines.dispose(db.api_url)


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
