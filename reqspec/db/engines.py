"""One oslo.db transaction factory per database URL, created once.

Every database reqspec talks to (the API database, each cell database) gets
one ``enginefacade`` transaction context manager, keyed by its URL and kept
for the life of the process; its engine and connection pool are reused by
every call. Nothing here decides *which* database a call uses: that is the
context's job (see ``reqspec.db.transactions``).

One departure from oslo.db's defaults: oslo.db gives SQLite files a
``NullPool``, which opens a new connection (and re-runs every connect
hook) per transaction, several times the cost of the statement itself.
SQLite files here get a real pool, WAL journaling with synchronous=FULL (a
committed spec survives a power cut), a busy timeout so concurrent writers
wait instead of failing, and SQLAlchemy's documented recipe for correct
transactions on pysqlite (explicit BEGIN). Server backends use oslo.db's
engine with one change: instead of a ping before every transaction, only a
connection that sat idle in the pool is pinged before reuse.
"""

import dataclasses
import os
import threading
import time
from typing import Any

from oslo_db.sqlalchemy import enginefacade
from oslo_db.sqlalchemy import engines as oslo_engines
from oslo_db.sqlalchemy import exc_filters
from oslo_db.sqlalchemy import orm as oslo_orm
import sqlalchemy as sa

from reqspec import conf
from reqspec import exception

CONF = conf.CONF

#: Seconds a SQLite writer waits for another writer's lock.
SQLITE_BUSY_TIMEOUT = 60


def is_sqlite_file(url: sa.engine.URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database not in (
        None,
        "",
        ":memory:",
    )


def _create_sqlite_file_engine(
    url: sa.engine.URL, engine_args: dict[str, Any]
) -> sa.engine.Engine:
    synchronous = (
        "FULL" if engine_args.get("sqlite_synchronous", True) else "OFF"
    )
    engine = sa.create_engine(
        url,
        poolclass=sa.pool.QueuePool,
        pool_size=engine_args.get("max_pool_size") or 5,
        max_overflow=engine_args.get("max_overflow") or 10,
        connect_args={
            "timeout": SQLITE_BUSY_TIMEOUT,
            "check_same_thread": False,
        },
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_con: Any, record: Any) -> None:
        # Hand transaction control to SQLAlchemy (see do_begin below).
        dbapi_con.isolation_level = None
        dbapi_con.execute("PRAGMA journal_mode=WAL")
        dbapi_con.execute(f"PRAGMA synchronous={synchronous}")
        dbapi_con.execute("PRAGMA foreign_keys=ON")
        record.info["pid"] = os.getpid()

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
    _drop_savepoint_bookkeeping(engine)
    return engine


def _drop_savepoint_bookkeeping(engine: sa.engine.Engine) -> None:
    """Keep oslo.db's error translation, drop its per-transaction events.

    Besides its ``handle_error`` filter (a dialect event, paid only when
    something fails), ``exc_filters.register_engine`` listens to every
    commit and rollback, to keep the cause of a failed savepoint rollback;
    reqspec uses no savepoints. Any connection-level listener makes
    SQLAlchemy give every connection a joined event dispatcher and
    dispatch seven events through it per transaction (begin, execute,
    cursor execute, commit...): about 25 us of a 250 us PostgreSQL read.
    """
    dispatch: Any = engine.dispatch
    names: list[str] = list(dispatch._event_names)
    for name in names:
        for fn in list(getattr(dispatch, name)):
            if getattr(fn, "__module__", None) == exc_filters.__name__:
                sa.event.remove(engine, name, fn)
    if not any(getattr(dispatch, name) for name in names):
        # SQLAlchemy sets this on the first listener and never clears it;
        # a listener added later sets it again.
        engine._has_events = False


def create_engine(url: str, **engine_args: Any) -> sa.engine.Engine:
    """An engine for ``url``: oslo.db's, except for SQLite files.

    It does not connect: an unreachable server is reported on first use
    (oslo.db would otherwise retry for minutes before failing).
    """
    engine_args.setdefault("max_retries", 0)
    engine_args.setdefault("mysql_sql_mode", "TRADITIONAL")
    parsed = sa.engine.make_url(url)
    if is_sqlite_file(parsed):
        directory = os.path.dirname(os.path.abspath(parsed.database or ""))
        os.makedirs(directory, exist_ok=True)
        return _create_sqlite_file_engine(parsed, engine_args)
    engine: sa.engine.Engine = oslo_engines.create_engine(
        url, _engine_target=_create_server_engine, **engine_args
    )
    _drop_savepoint_bookkeeping(engine)
    return engine


def _create_server_engine(
    url: sa.engine.URL, **engine_args: Any
) -> tuple[sa.engine.Engine, sa.engine.Engine]:
    # oslo.db asks for pool_pre_ping, a SELECT 1 round trip before every
    # transaction: on a local PostgreSQL that is a third of the time of a
    # one-row read. Ping only connections that sat idle long enough for a
    # server restart or a firewall to have dropped them; a connection lost
    # in between still fails cleanly (DatabaseUnavailable) and SQLAlchemy
    # then replaces the whole pool.
    engine_args["pool_pre_ping"] = False
    engine = sa.create_engine(url, **engine_args)
    _ping_when_idle(engine)
    return engine, engine


#: Seconds a pooled server connection may sit unused and still be handed
#: out without a ping.
IDLE_PING_SECONDS = 5.0


def _ping_when_idle(engine: sa.engine.Engine) -> None:
    dialect = engine.dialect

    @sa.event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_con: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_con: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None:
            return  # just connected
        if time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_con)
        except dialect.loaded_dbapi.Error as err:
            # The pool retries the checkout on a new connection.
            raise sa.exc.DisconnectionError(str(err)) from err


class _TransactionFactory(enginefacade._TransactionFactory):
    # The one hook oslo.db offers for choosing how engines are built.
    def _setup_for_connection(
        self,
        sql_connection: str | None,
        engine_kwargs: dict[str, Any],
        maker_kwargs: dict[str, Any],
    ) -> tuple[sa.engine.Engine, Any]:
        if sql_connection is None:
            raise exception.DatabaseNotConfigured(database="A database")
        engine = create_engine(sql_connection, **engine_kwargs)
        return engine, oslo_orm.get_maker(engine=engine, **maker_kwargs)


class _TransactionContextManager(enginefacade._TransactionContextManager):
    def _create_root_factory(self) -> _TransactionFactory:
        return _TransactionFactory()


@dataclasses.dataclass(frozen=True)
class Database:
    """A database URL with its transaction context managers.

    ``reader`` and ``writer`` are enginefacade managers in connection
    (Core) mode, built once here rather than per call.
    """

    url: str
    manager: enginefacade._TransactionContextManager
    reader: enginefacade._TransactionContextManager
    writer: enginefacade._TransactionContextManager

    @property
    def engine(self) -> sa.engine.Engine:
        return self.manager.writer.get_engine()

    def dispose(self) -> None:
        if self.manager.is_started:
            self.engine.dispose()


_lock = threading.Lock()
_databases: dict[str, Database] = {}


def database(url: str) -> Database:
    """The process-wide ``Database`` for ``url``, created on first use."""
    db = _databases.get(url)
    if db is not None:
        return db
    with _lock:
        db = _databases.get(url)
        if db is None:
            manager = _TransactionContextManager()
            manager.configure(
                connection=url,
                # oslo.db's checkin hook yields to eventlet with a sleep(0)
                # on every checkin; reqspec does not run under eventlet.
                thread_checkin=False,
                # Fail on first use with a clear error instead of retrying
                # an unreachable server for minutes at engine start.
                max_retries=0,
            )
            db = Database(
                url=url,
                manager=manager,
                reader=manager.reader.connection,
                writer=manager.writer.connection,
            )
            _databases[url] = db
    return db


def api_database_url() -> str:
    """``[api_database] connection``, or an SQLite file in the state path."""
    url: str | None = CONF.api_database.connection
    if url:
        return url
    return sqlite_url(os.path.join(CONF.state_path, "api.sqlite"))


def sqlite_url(path: str) -> str:
    return "sqlite:///" + os.path.abspath(path)


def dispose(url: str) -> None:
    """Close the pool of ``url`` and forget its engine."""
    with _lock:
        db = _databases.pop(url, None)
    if db is not None:
        db.dispose()


def dispose_all() -> None:
    """Close every pooled connection and forget every engine (tests, CLI)."""
    with _lock:
        for db in _databases.values():
            db.dispose()
        _databases.clear()
