"""The process's databases: one per URL and engine settings, cell pools of
their own size, idle connections closed."""

import datetime
import os
import sqlite3
import time
from typing import cast

from oslo_db import exception as db_exc
import pytest
import sqlalchemy as sa

from reqspec import context
from reqspec.conf import settings as conf_settings
from reqspec.conf.settings import EngineSettings
from reqspec.db import api_models
from reqspec.db import engines
from tests.conftest import Env
from tests.fixtures import settings as test_settings
from tests.fixtures.proxy import Proxy


def _existing(directory: object, name: str) -> str:
    """An empty SQLite database file (reqspec itself only opens them)."""
    path = os.path.join(str(directory), name)
    sqlite3.connect(path).close()
    return path


def test_one_database_object_per_url(tmp_path: object) -> None:
    url = conf_settings.sqlite_url(os.path.join(str(tmp_path), "a.sqlite"))
    first = engines.database(url)
    assert engines.database(url) is first
    assert first.engine is engines.database(url).engine
    engines.dispose(url)
    assert engines.database(url) is not first
    engines.dispose(url)


def _cell_engine(**options: object) -> EngineSettings:
    """A cell database's engine settings with ``[database]`` ``options``."""
    return test_settings.make(database=options).database.cell_engine


def test_engines_are_reused_across_calls(db: Env) -> None:
    from reqspec import objects

    objects.CellMapping.get_all(db.ctx)
    engine = engines.database(db.api_url).engine
    objects.CellMapping.get_all(db.ctx)
    objects.CellMapping.get_by_name(db.ctx, "cell1")
    assert engines.database(db.api_url).engine is engine
    # Another context with the same settings shares the engine too.
    other = context.get_admin_context(
        settings=test_settings.make(api_database={"connection": db.api_url})
    )
    objects.CellMapping.get_all(other)
    assert engines.database(db.api_url).engine is engine


def test_one_url_with_other_engine_settings_gets_a_pool_of_its_own(
    tmp_path: object,
) -> None:
    url = conf_settings.sqlite_url(_existing(tmp_path, "c.sqlite"))
    small, large = _cell_engine(cell_pool_size=1), _cell_engine()
    try:
        assert engines.database(url, small) is engines.database(
            url, _cell_engine(cell_pool_size=1)
        )
        assert engines.database(url, small) is not engines.database(url, large)
        sizes = [engines.database(url, s).engine.pool for s in (small, large)]
        assert [p.size() for p in sizes] == [1, 5]  # type: ignore[attr-defined]
        first = engines.database(url, small)
    finally:
        engines.dispose(url)
    # dispose() closed and forgot both.
    assert engines.open_connections(url) == 0
    try:
        assert engines.database(url, small) is not first
    finally:
        engines.dispose(url)


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
    settings = test_settings.make(
        api_database={"connection": db.api_url},
        database={"cell_pool_size": 2, "cell_max_overflow": 1},
    ).database
    cell = settings.engine_for(empty_database_url)
    pool = engines.database(empty_database_url, cell).engine.pool
    assert (pool.size(), pool._max_overflow) == (2, 1)  # type: ignore[attr-defined]
    api = settings.engine_for(db.api_url)
    assert api == settings.api_engine
    api_pool = engines.database(db.api_url, api).engine.pool
    assert api_pool.size() == api.max_pool_size  # type: ignore[attr-defined]
    url = engines.database(empty_database_url, cell).engine.url
    if db.backend == "sqlite":
        assert "connect_timeout" not in url.query
    else:
        assert url.query["connect_timeout"] == "10"
    if db.backend == "mysql":
        assert url.query["read_timeout"] == "60"


def test_idle_cell_connections_are_closed(
    db: Env, empty_database_url: str
) -> None:
    cell = _cell_engine(cell_pool_idle_timeout=0.3)
    engine = engines.database(empty_database_url, cell).engine
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
    path = os.path.join(str(tmp_path), "c.sqlite")
    sqlite3.connect(path).close()  # reqspec opens SQLite files, never makes
    url = conf_settings.sqlite_url(path)
    db = engines.database(url, _cell_engine(cell_pool_idle_timeout=0.01))
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
    impatient = _cell_engine(cell_connect_timeout=2, cell_read_timeout=2)
    proxy = Proxy(empty_database_url)
    try:
        proxy.set_mode("blackhole")
        engine = engines.database(proxy.url, impatient).engine
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
