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

Cell databases (every database but the API database) get pools sized by
``[database] cell_pool_size`` and ``cell_max_overflow``, a connect
timeout, and their idle connections closed after ``cell_pool_idle_timeout``
seconds by one background thread: a process that has reached many cells
keeps connections open only to those it is using. Pools hand out the
most recently returned connection first (LIFO), so connections beyond
what the load needs stay idle long enough to be closed.

On a Galera node (MariaDB with ``wsrep_on``), every new connection sets
``wsrep_sync_wait`` (``mysql_wsrep_sync_wait``; reqspec uses 3 when it is
unset): a read, UPDATE or DELETE then waits until the node has applied
every write the cluster committed before it, so a spec saved through one
node is read back through any other. oslo.db would set it on any MySQL server,
and a server without Galera may not know the variable at all.
"""

import dataclasses
import functools
import logging
import os
import threading
import time
from typing import Any
import urllib.parse

from oslo_db.sqlalchemy import enginefacade
from oslo_db.sqlalchemy import engines as oslo_engines
from oslo_db.sqlalchemy import exc_filters
from oslo_db.sqlalchemy import orm as oslo_orm
import sqlalchemy as sa

from reqspec import conf
from reqspec import exception
from reqspec.db import urls

CONF = conf.CONF
LOG = logging.getLogger(__name__)

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


def _create_sqlite_file_engine(
    url: sa.engine.URL, engine_args: dict[str, Any], create: bool
) -> sa.engine.Engine:
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
    _drop_savepoint_bookkeeping(engine)
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


def create_engine(
    url: str, create: bool = False, **engine_args: Any
) -> sa.engine.Engine:
    """An engine for ``url``: oslo.db's, except for SQLite files.

    It does not connect: an unreachable server is reported on first use
    (oslo.db would otherwise retry for minutes before failing).

    An SQLite file is only opened, never created (connecting to a missing
    one fails; ``DatabaseMissing`` is what callers see), unless ``create``
    is true: then its directory and the file are made on first connect.
    Only commands meant to create a database pass it (``db sync``, plain
    ``alembic upgrade``); every engine of ``database()`` opens only.
    """
    engine_args.setdefault("max_retries", 0)
    engine_args.setdefault("mysql_sql_mode", "TRADITIONAL")
    # Applied here, and only on Galera (oslo.db would set it everywhere).
    sync_wait = engine_args.pop("mysql_wsrep_sync_wait", None)
    if sync_wait is None:
        sync_wait = conf.database.DEFAULT_WSREP_SYNC_WAIT
    parsed = sa.engine.make_url(url)
    if is_sqlite_file(parsed):
        if create:
            directory = os.path.dirname(os.path.abspath(parsed.database or ""))
            os.makedirs(directory, exist_ok=True)
        return _create_sqlite_file_engine(parsed, engine_args, create)
    engine: sa.engine.Engine = oslo_engines.create_engine(
        url,
        _engine_target=functools.partial(
            _create_server_engine, wsrep_sync_wait=sync_wait
        ),
        **engine_args,
    )
    _drop_savepoint_bookkeeping(engine)
    return engine


def _create_server_engine(
    url: sa.engine.URL, wsrep_sync_wait: int, **engine_args: Any
) -> tuple[sa.engine.Engine, sa.engine.Engine]:
    # oslo.db asks for pool_pre_ping, a SELECT 1 round trip before every
    # transaction: on a local PostgreSQL that is a third of the time of a
    # one-row read. Ping only connections that sat idle long enough for a
    # server restart or a firewall to have dropped them; a connection lost
    # in between still fails cleanly (DatabaseUnavailable) and SQLAlchemy
    # then replaces the whole pool.
    engine_args["pool_pre_ping"] = False
    engine_args["pool_use_lifo"] = True
    engine = sa.create_engine(url, **engine_args)
    _ping_when_idle(engine)
    if engine.dialect.name == "mysql":
        _sync_wait_on_galera(engine, wsrep_sync_wait)
    return engine, engine


def _sync_wait_on_galera(engine: sa.engine.Engine, sync_wait: int) -> None:
    error = engine.dialect.loaded_dbapi.Error

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_con: Any, record: Any) -> None:
        cursor = dbapi_con.cursor()
        try:
            try:
                # MySQL without wsrep does not know the variable.
                cursor.execute("SELECT @@GLOBAL.wsrep_on")
                galera = bool(cursor.fetchone()[0])
            except error:
                galera = False
            record.info["galera"] = galera
            if galera:
                cursor.execute("SET SESSION wsrep_sync_wait = %s", [sync_wait])
        finally:
            cursor.close()


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
    #: Seconds an unused pooled connection stays open (None: forever).
    idle_timeout: float | None = None

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
            # A cell mapping may hold anything: refuse it here, typed,
            # rather than as a SQLAlchemy error on first use.
            urls.check(url, "a database")
            manager = _TransactionContextManager()
            extra = {}
            api_sync_wait = CONF.api_database.mysql_wsrep_sync_wait
            if api_sync_wait is not None and url == api_database_url():
                extra["mysql_wsrep_sync_wait"] = api_sync_wait
            manager.configure(
                **extra,
                connection=url,
                # oslo.db's checkin hook yields to eventlet with a sleep(0)
                # on every checkin; reqspec does not run under eventlet.
                thread_checkin=False,
                # Fail on first use with a clear error instead of retrying
                # an unreachable server for minutes at engine start.
                max_retries=0,
                **_cell_settings(url),
            )
            idle = None
            if url != api_database_url():
                idle = CONF.database.cell_pool_idle_timeout or None
            db = Database(
                url=url,
                manager=manager,
                reader=manager.reader.connection,
                writer=manager.writer.connection,
                idle_timeout=idle,
            )
            _databases[url] = db
            if idle:
                _start_reaper()
    return db


def _cell_settings(url: str) -> dict[str, Any]:
    """Engine settings of a cell database (none for the API database)."""
    if url == api_database_url():
        return {}
    settings: dict[str, Any] = {
        "max_pool_size": CONF.database.cell_pool_size,
        "max_overflow": CONF.database.cell_max_overflow,
    }
    if sa.engine.make_url(url).get_backend_name() in ("postgresql", "mysql"):
        # Both drivers take it as a URL parameter; without it a server
        # that accepts the TCP connection and then stays silent holds a
        # connecting thread for as long as TCP keeps the socket.
        params = f"connect_timeout={CONF.database.cell_connect_timeout}"
        if sa.engine.make_url(url).get_backend_name() == "mysql":
            # PyMySQL's connect_timeout covers the TCP connect only; the
            # server's greeting is read under read_timeout.
            params += f"&read_timeout={CONF.database.cell_read_timeout}"
        settings["connection_parameters"] = params
    return settings


def open_connections(url: str) -> int:
    """Connections the pool of ``url`` holds open now (in use or idle)."""
    db = _databases.get(url)
    if db is None or not db.manager.is_started:
        return 0
    pool = db.engine.pool
    idle = _idle_queue(pool)
    if idle is None:
        return 0
    with idle.mutex:
        live = sum(r.dbapi_connection is not None for r in idle.queue)
    return live + int(pool.checkedout())  # type: ignore[attr-defined]


def _idle_queue(pool: sa.pool.Pool) -> Any:
    """QueuePool's queue of idle connection records; its mutex also
    guards every checkout, so a record is only touched while nobody can
    take it. None for other pools."""
    if not isinstance(pool, sa.pool.QueuePool):
        return None
    return pool._pool


def close_idle(db: Database, now: float | None = None) -> int:
    """Close the pooled connections of ``db`` unused for longer than its
    ``idle_timeout``; returns how many. The pool slot stays and connects
    again when next needed."""
    if db.idle_timeout is None or not db.manager.is_started:
        return 0
    idle = _idle_queue(db.engine.pool)
    if idle is None:
        return 0
    now = time.monotonic() if now is None else now
    closed = 0
    with idle.mutex:
        for record in idle.queue:
            since = record.info.get("idle_since") if record.info else None
            if (
                record.dbapi_connection is not None
                and since is not None
                and now - since > db.idle_timeout
            ):
                record.close()
                closed += 1
    return closed


_reaper: threading.Thread | None = None
_reaper_pid = 0


def _start_reaper() -> None:
    # Called under _lock. A thread does not survive a fork: a child
    # starts its own when it creates its first cell engine.
    global _reaper, _reaper_pid
    if (
        _reaper is not None
        and _reaper.is_alive()
        and _reaper_pid == os.getpid()
    ):
        return
    _reaper = threading.Thread(
        target=_reap_forever, name="reqspec-idle-reaper", daemon=True
    )
    _reaper_pid = os.getpid()
    _reaper.start()


def _reap_forever() -> None:
    while True:
        with _lock:
            watched = [db for db in _databases.values() if db.idle_timeout]
        for db in watched:
            try:
                close_idle(db)
            except Exception:
                # The driver failed to close a dead connection; the next
                # checkout replaces it anyway. Keep the thread alive.
                LOG.warning("closing idle connections failed", exc_info=True)
        shortest = min((db.idle_timeout or 60 for db in watched), default=60)
        time.sleep(max(0.1, min(shortest / 4, 10.0)))


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
