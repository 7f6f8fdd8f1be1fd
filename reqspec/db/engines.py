"""The process's databases: one engine and pool per URL and settings.

Every database reqspec talks to (the API database, each cell database) gets
one engine, created on first use and kept for the life of the process; its
connection pool is reused by every call. Nothing here decides *which*
database a call uses: that is the context's job (see
``reqspec.db.transactions``, which also runs the transactions), and so is
*how* its engine is configured: the context's settings
(``ctx.settings.database``, resolved once from ``[api_database]`` and
``[database]``) give each database an ``EngineSettings``.

A database is keyed by its URL *and* those engine settings. Two contexts
whose settings agree share one pool; two whose settings differ for the
same URL (another pool size, timeout or ``wsrep_sync_wait``) get one each,
rather than whichever came first silently serving both.

Each engine is built once, explicitly: every engine option comes from the
settings, and oslo.db is never left to read ``CONF`` on its own. Engines
are oslo.db's, except for SQLite files (``reqspec.db.sqlite_files``) and
two changes on servers (``reqspec.db.server_engines``).

Cell databases (every database but the API database) get pools sized by
``[database] cell_pool_size`` and ``cell_max_overflow``, a connect
timeout, and their idle connections closed after ``cell_pool_idle_timeout``
seconds by one background thread: a process that has reached many cells
keeps connections open only to those it is using. Pools hand out the
most recently returned connection first (LIFO), so connections beyond
what the load needs stay idle long enough to be closed.
"""

import dataclasses
import functools
import logging
import os
import threading
import time
from typing import Any

from oslo_db.sqlalchemy import engines as oslo_engines
from oslo_db.sqlalchemy import exc_filters
import sqlalchemy as sa

from reqspec.conf import database as database_opts
from reqspec.conf import settings as conf_settings
from reqspec.conf.settings import EngineSettings
from reqspec.db import server_engines
from reqspec.db import sqlite_files
from reqspec.db import urls

LOG = logging.getLogger(__name__)


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
    # Applied by server_engines, and only on Galera (oslo.db would set it
    # on every MySQL server).
    sync_wait = engine_args.pop("mysql_wsrep_sync_wait", None)
    if sync_wait is None:
        sync_wait = database_opts.DEFAULT_WSREP_SYNC_WAIT
    parsed = sa.engine.make_url(url)
    if sqlite_files.is_sqlite_file(parsed):
        engine = sqlite_files.create_file_engine(parsed, engine_args, create)
    else:
        engine = oslo_engines.create_engine(
            url,
            _engine_target=functools.partial(
                server_engines.create_server_engine,
                wsrep_sync_wait=sync_wait,
            ),
            **engine_args,
        )
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


@dataclasses.dataclass(frozen=True)
class Database:
    """A database URL with its engine (and so its connection pool)."""

    url: str
    engine: sa.engine.Engine
    #: Seconds an unused pooled connection stays open (None: forever).
    idle_timeout: float | None = None

    def dispose(self) -> None:
        self.engine.dispose()


_lock = threading.Lock()
_databases: dict[tuple[str, EngineSettings], Database] = {}


def database(url: str, settings: EngineSettings | None = None) -> Database:
    """The process-wide ``Database`` for ``url`` built with ``settings``,
    created on first use. Without settings: the API database's engine
    settings of a configuration that sets nothing (tests and tools that
    need an engine on a URL rather than a context's database)."""
    if settings is None:
        settings = conf_settings.defaults().database.api_engine
    key = (url, settings)
    db = _databases.get(key)
    if db is not None:
        return db
    with _lock:
        db = _databases.get(key)
        if db is None:
            # A cell mapping may hold anything: refuse it here, typed,
            # rather than as a SQLAlchemy error on first use.
            urls.check(url, "a database")
            engine = create_engine(
                url,
                # oslo.db's checkin hook yields to eventlet with a sleep(0)
                # on every checkin; reqspec does not run under eventlet.
                thread_checkin=False,
                # Fail on first use with a clear error instead of retrying
                # an unreachable server for minutes at engine start.
                max_retries=0,
                **engine_options(url, settings),
            )
            db = Database(
                url=url, engine=engine, idle_timeout=settings.idle_timeout
            )
            _databases[key] = db
            if db.idle_timeout:
                _start_reaper()
    return db


def engine_options(url: str, settings: EngineSettings) -> dict[str, Any]:
    """The engine arguments (oslo.db's) for ``url`` with ``settings``."""
    options: dict[str, Any] = {
        "max_pool_size": settings.max_pool_size,
        "max_overflow": settings.max_overflow,
        "pool_timeout": settings.pool_timeout,
        "connection_recycle_time": settings.connection_recycle_time,
        "connection_debug": settings.connection_debug,
        "connection_trace": settings.connection_trace,
        "mysql_sql_mode": settings.mysql_sql_mode,
        "mysql_wsrep_sync_wait": settings.mysql_wsrep_sync_wait,
        "sqlite_synchronous": settings.sqlite_synchronous,
        "connection_parameters": settings.connection_parameters,
    }
    backend = sa.engine.make_url(url).get_backend_name()
    if settings.connect_timeout is not None and backend in (
        "postgresql",
        "mysql",
    ):
        # Both drivers take it as a URL parameter; without it a server
        # that accepts the TCP connection and then stays silent holds a
        # connecting thread for as long as TCP keeps the socket.
        params = f"connect_timeout={settings.connect_timeout}"
        if backend == "mysql" and settings.read_timeout is not None:
            # PyMySQL's connect_timeout covers the TCP connect only; the
            # server's greeting is read under read_timeout.
            params += f"&read_timeout={settings.read_timeout}"
        options["connection_parameters"] = params
    return options


def open_connections(url: str) -> int:
    """Connections the pools of ``url`` hold open now (in use or idle)."""
    with _lock:
        found = [db for db in _databases.values() if db.url == url]
    total = 0
    for db in found:
        pool = db.engine.pool
        idle = _idle_queue(pool)
        if idle is None:
            continue
        with idle.mutex:
            live = sum(r.dbapi_connection is not None for r in idle.queue)
        total += live + int(pool.checkedout())  # type: ignore[attr-defined]
    return total


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
    if db.idle_timeout is None:
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


def dispose(url: str) -> None:
    """Close the pools of ``url`` and forget its engines."""
    with _lock:
        found = [key for key in _databases if key[0] == url]
        dbs = [_databases.pop(key) for key in found]
    for db in dbs:
        db.dispose()


def dispose_all() -> None:
    """Close every pooled connection and forget every engine (tests, CLI)."""
    with _lock:
        for db in _databases.values():
            db.dispose()
        _databases.clear()
