"""SQLite files as reqspec opens them.

oslo.db gives SQLite files a ``NullPool``, which opens a new connection
(and re-runs every connect hook) per transaction, several times the cost
of the statement itself. SQLite files here get a real pool, WAL
journaling with synchronous=FULL (a committed spec survives a power cut),
a busy timeout so concurrent writers wait instead of failing, and
SQLAlchemy's documented recipe for correct transactions on pysqlite
(explicit BEGIN). A file is only opened, never created, unless the
caller asks for it (``reqspec.db.engines.create_engine``).
"""

import os
import time
from typing import Any
import urllib.parse

from oslo_db.sqlalchemy import exc_filters
import sqlalchemy as sa

#: Seconds a SQLite writer waits for another writer's lock.
SQLITE_BUSY_TIMEOUT = 60

#: KiB of private page cache per SQLite connection (SQLite's default is
#: 2 MiB). Every cell database has its own pool, so a process's memory
#: would grow with the number of cells by that much per connection; the
#: operating system's page cache already keeps a file's hot pages, so a
#: small private one costs reads nothing measurable and a 500-row write
#: transaction about a millisecond.
SQLITE_CACHE_KIB = 256


def is_sqlite_file(url: sa.engine.URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database not in (
        None,
        "",
        ":memory:",
    )


def create_file_engine(
    url: sa.engine.URL, engine_args: dict[str, Any], create: bool
) -> sa.engine.Engine:
    """An engine for the SQLite file at ``url``, taking the pool sizes and
    ``sqlite_synchronous`` of oslo.db's ``engine_args``; ``create``: make
    the file (and its directory) on first connect rather than refuse."""
    if create:
        directory = os.path.dirname(os.path.abspath(url.database or ""))
        os.makedirs(directory, exist_ok=True)
    synchronous = (
        "FULL" if engine_args.get("sqlite_synchronous", True) else "OFF"
    )
    engine = sa.create_engine(
        url,
        poolclass=sa.pool.QueuePool,
        pool_use_lifo=True,
        pool_size=engine_args.get("max_pool_size") or 5,
        max_overflow=engine_args.get("max_overflow") or 10,
        connect_args={
            "timeout": SQLITE_BUSY_TIMEOUT,
            "check_same_thread": False,
        },
    )

    if not create and url.query.get("uri") != "true":
        opened = _open_existing(url)

        @sa.event.listens_for(engine, "do_connect")
        def _open_only(
            dialect: Any, record: Any, cargs: list[Any], cparams: Any
        ) -> None:
            cargs[:1] = [opened]
            cparams["uri"] = True

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_con: Any, record: Any) -> None:
        # Hand transaction control to SQLAlchemy (see do_begin below).
        dbapi_con.isolation_level = None
        dbapi_con.execute("PRAGMA journal_mode=WAL")
        dbapi_con.execute(f"PRAGMA synchronous={synchronous}")
        dbapi_con.execute("PRAGMA foreign_keys=ON")
        dbapi_con.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        record.info["pid"] = os.getpid()

    @sa.event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_con: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_con: Any, record: Any, proxy: Any) -> None:
        # A pooled connection must not cross a fork.
        if record.info.get("pid") != os.getpid():
            record.dbapi_connection = proxy.dbapi_connection = None
            raise sa.exc.DisconnectionError("connection belongs to a parent")

    # SQLAlchemy's recipe emits BEGIN from a "begin" event through
    # exec_driver_sql, the whole statement machinery, an eighth of the time
    # of a one-row read. The dialect's own begin hook does the same on the
    # driver connection, and SQLAlchemy still wraps its errors.
    def _do_begin(dbapi_con: Any) -> None:
        dbapi_con.execute("BEGIN")

    engine.dialect.do_begin = _do_begin  # type: ignore[method-assign,assignment]

    # oslo.db's filters turn driver errors into DBDuplicateEntry,
    # DBDeadlock, DBConnectionError... on this engine too.
    exc_filters.register_engine(engine)
    return engine


def missing_sqlite_file(url: str | sa.engine.URL) -> str | None:
    """The path of ``url``'s SQLite file if it is one and does not exist
    (what ``DatabaseMissing`` reports); None otherwise."""
    parsed = sa.engine.make_url(url)
    if not is_sqlite_file(parsed):
        return None
    path = os.path.abspath(parsed.database or "")
    return None if os.path.exists(path) else path


def _open_existing(url: sa.engine.URL) -> str:
    """A URI of the same SQLite file, opened read/write but never created.

    sqlite3 creates a missing file on connect; a reader aimed at a cell
    whose file is not there would leave an empty database (and its
    directory) behind. Opened as a ``mode=rw`` URI, connecting fails
    instead.
    """
    path = os.path.abspath(url.database or "")
    # In a URI, '?', '#' and '%' in the path must be escaped.
    return "file:" + urllib.parse.quote(path, safe="/") + "?mode=rw"
