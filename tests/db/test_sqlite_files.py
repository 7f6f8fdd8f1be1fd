"""SQLite files: opened never created, pooled, durable, real transactions."""

import os
import pathlib
import sqlite3

from oslo_db import exception as db_exc
import pytest
import sqlalchemy as sa

from reqspec.conf import settings as conf_settings
from reqspec.db import engines
from reqspec.db import sqlite_files


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
    url = conf_settings.sqlite_url(str(path))
    assert sqlite_files.missing_sqlite_file(url) == str(path)
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
    assert path.exists() and sqlite_files.missing_sqlite_file(url) is None


def test_a_path_that_needs_escaping_in_a_uri_opens(
    tmp_path: pathlib.Path,
) -> None:
    url = conf_settings.sqlite_url(_existing(tmp_path, "odd #%name.sqlite"))
    try:
        with engines.database(url).engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    finally:
        engines.dispose(url)
    assert sorted(p.name for p in tmp_path.iterdir())[0] == "odd #%name.sqlite"


def test_sqlite_files_are_pooled_durable_and_wait_for_locks(
    tmp_path: object,
) -> None:
    url = conf_settings.sqlite_url(_existing(tmp_path, "b.sqlite"))
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
                -sqlite_files.SQLITE_CACHE_KIB
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
    url = conf_settings.sqlite_url(_existing(tmp_path, "c.sqlite"))
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
