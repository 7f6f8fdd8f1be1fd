"""Reader and writer decorators: the context picks the database.

Every function in the db layer that runs SQL takes the request context as
its first argument and is decorated here:

* ``reader``/``writer``: the database the context addresses; the API
  database for an untargeted context, the cell's for a targeted one.
* ``api_reader``/``api_writer``: always the API database (cell mappings,
  instance mappings), whatever the context targets.
* ``cell_reader``/``cell_writer``: a cell database; an untargeted context is
  an error (``CellNotTargeted``), never a silent fallback.

Inside the function ``ctx.connection`` is the SQLAlchemy Core connection of
the current transaction. Calls nest: a reader or writer called inside
another on the same context and database joins its transaction (a writer
inside a reader is a ``TypeError``); a call on another database runs its
own transaction inside, and ``ctx.connection`` is the outer one's again
after it. The transactions a context runs are kept on it per thread
(``RequestContext.transaction_state``).

Each transaction is a plain Core ``connect()``/``begin()`` on the
database's engine (oslo.db's, with its error translation). oslo.db's
enginefacade did this scoping before; its context stack and thread-local
bookkeeping cost about 10 us per transaction (a tenth of an SQLite read)
and reqspec used none of its other modes (sessions, independent or async
transactions, reader replicas).

What a failure becomes, decided once here for every database function:

* A transaction the database aborted to break a deadlock or a
  serialization conflict (MySQL 1213/1205/1020, PostgreSQL 40001/40P01,
  SQLite busy/locked) was rolled back whole, so the outermost call runs it
  again. On Galera this includes a certification failure, which arrives at
  COMMIT as 1213 ("Deadlock found" or "WSREP detected deadlock/conflict"):
  another node committed a conflicting change first. The run again starts
  from the top of the function, so a generation check sees the other
  node's save and ends in ``RequestSpecConflict``. (oslo.db's
  ``wrap_db_retry``, with jittered backoff.) A nested call
  never retries on its own: its enclosing transaction is gone, and re-running
  only the inner part would commit half of the outer one. When every attempt
  is aborted: ``DatabaseBusy``.
* A connection that cannot be made (whatever the driver's wording) or is
  lost, or a Galera node that cannot serve (1047: not synced, or not in
  the primary component): ``DatabaseUnavailable``; ``DatabaseMissing``
  when it is an SQLite file that does not exist (reads and writes never
  create one). Not retried: if it was
  lost while committing, the change may have been saved
  (``outcome_unknown``), and only the caller can tell whether doing it
  again is right. SQLAlchemy
  has already invalidated the pool, so the next call starts on a fresh
  connection.
* A missing table: ``DatabaseNotUpgraded``. Any other driver error:
  ``DatabaseError``. Both were rolled back.

Errors raised by the function itself (``ReqspecError`` and the rest) pass
through unchanged, after the rollback.
"""

from collections.abc import Callable
import functools
import sqlite3
import threading
from typing import Any
from typing import Concatenate
from typing import ParamSpec
from typing import TYPE_CHECKING
from typing import TypeVar

from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
import sqlalchemy as sa

from reqspec import exception
from reqspec.db import engines
from reqspec.db import error_codes
from reqspec.db import sqlite_files
from reqspec.db import urls

if TYPE_CHECKING:
    from reqspec.context import RequestContext

P = ParamSpec("P")
R = TypeVar("R")

#: Attempts of one transaction the database keeps aborting.
MAX_ATTEMPTS = 6

# SQLite primary result codes SQLITE_BUSY and SQLITE_LOCKED (extended codes
# such as SQLITE_BUSY_SNAPSHOT carry them in the low byte).
_SQLITE_RETRY_CODES = frozenset({5, 6})
_SQLITE_RETRY_MESSAGES = ("database is locked", "database table is locked")


class _Counter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self) -> None:
        with self._lock:
            self.value += 1


_aborted = _Counter()


def aborted_attempts() -> int:
    """Transaction attempts this process saw the database abort (deadlock,
    serialization failure, Galera certification failure) since it started;
    each was run again, or ended in ``DatabaseBusy``."""
    return _aborted.value


def _database(url: str, ctx: "RequestContext", label: str) -> engines.Database:
    # The context's settings say how this database's engine is built
    # (pool sizes, timeouts: a cell's, unless it is the API database).
    try:
        return engines.database(url, ctx.settings.database.engine_for(url))
    except exception.InvalidDatabaseURL as err:
        # The engine layer does not know which database the URL is for.
        raise exception.InvalidDatabaseURL(
            database=label, reason=err.kwargs["reason"]
        ) from None


def _context_database(ctx: "RequestContext") -> engines.Database:
    cell = ctx.cell
    if cell is None:
        return _api_database(ctx)
    return _database(cell.database_connection, ctx, ctx.database)


def _api_database(ctx: "RequestContext") -> engines.Database:
    database = ctx.settings.database
    try:
        return engines.database(database.api_connection, database.api_engine)
    except exception.InvalidDatabaseURL as err:
        raise exception.InvalidDatabaseURL(
            database="the API database", reason=err.kwargs["reason"]
        ) from None


def _cell_database(ctx: "RequestContext") -> engines.Database:
    if ctx.cell is None:
        raise exception.CellNotTargeted(operation="This call")
    return _database(ctx.cell.database_connection, ctx, ctx.database)


class _Transaction:
    """A decorator running the function in a transaction on one database."""

    def __init__(
        self, pick: Callable[["RequestContext"], engines.Database], write: bool
    ) -> None:
        self._pick = pick
        self._write = write

    def __call__(
        self, fn: Callable[Concatenate["RequestContext", P], R]
    ) -> Callable[Concatenate["RequestContext", P], R]:
        write = self._write

        def attempt(
            db: engines.Database,
            ctx: "RequestContext",
            state: Any,
            args: Any,
            kwargs: Any,
        ) -> R:
            connected = committing = False
            try:
                connection = db.engine.connect()
                try:
                    transaction = connection.begin()
                    connected = True
                    with _Running(state, db.url, connection, write):
                        try:
                            result = fn(ctx, *args, **kwargs)
                            committing = True
                            if write:
                                transaction.commit()
                            else:
                                transaction.rollback()
                        except BaseException:
                            # After a failed commit this only ends the
                            # (already rolled back) transaction.
                            transaction.rollback()
                            raise
                finally:
                    connection.close()
                return result
            except Exception as err:
                typed = _classify(
                    err,
                    ctx,
                    connected,
                    committing=write and committing,
                    url=db.url,
                )
                if isinstance(typed, db_exc.DBDeadlock):
                    _aborted.add()
                if typed is err:
                    raise
                raise typed from err

        retrying = _retry(attempt)
        pick = self._pick

        @functools.wraps(fn)
        def wrapper(
            ctx: "RequestContext", /, *args: P.args, **kwargs: P.kwargs
        ) -> R:
            db = pick(ctx)
            state = ctx.transaction_state()
            running: dict[str, tuple[sa.Connection, bool]] | None = getattr(
                state, "running", None
            )
            if running is None:
                running = state.running = {}
            outer = running.get(db.url)
            if outer is not None:
                # Joining the caller's transaction: its outermost call
                # decides about errors and retries.
                connection, writing = outer
                if write and not writing:
                    raise TypeError(
                        f"{fn.__qualname__} writes, inside a read-only "
                        "transaction on the same database"
                    )
                with _Running(state, db.url, connection, writing):
                    return fn(ctx, *args, **kwargs)
            try:
                return retrying(db, ctx, state, args, kwargs)
            except db_exc.DBDeadlock as err:
                raise exception.DatabaseBusy(
                    database=ctx.database,
                    attempts=MAX_ATTEMPTS,
                    reason=_first_line(err),
                ) from err

        return wrapper


class _Running:
    """While a function runs in a transaction: that transaction's
    connection is ``ctx.connection``, and the one later calls on the same
    context and database join. What was there before comes back after (a
    call on another database, or one joining, nests inside another)."""

    __slots__ = ("_before", "_before_entry", "_entry", "_state", "_url")

    def __init__(
        self, state: Any, url: str, connection: sa.Connection, write: bool
    ) -> None:
        self._state = state
        self._url = url
        self._entry = (connection, write)

    def __enter__(self) -> None:
        state = self._state
        self._before = getattr(state, "connection", None)
        self._before_entry = state.running.get(self._url)
        state.connection = self._entry[0]
        state.running[self._url] = self._entry

    def __exit__(self, *exc_info: object) -> None:
        state = self._state
        state.connection = self._before
        if self._before_entry is None:
            del state.running[self._url]
        else:
            state.running[self._url] = self._before_entry


_retry = oslo_db_api.wrap_db_retry(
    max_retries=MAX_ATTEMPTS - 1,
    retry_interval=0.05,
    inc_retry_interval=True,
    max_retry_interval=1,
    retry_on_deadlock=True,
)


def _classify(
    err: Exception,
    ctx: "RequestContext",
    connected: bool,
    committing: bool,
    url: str,
) -> Exception:
    """The exception a failed attempt raises (see the module docstring)."""
    if isinstance(err, exception.ReqspecError):
        return err
    driver_error = isinstance(err, (db_exc.DBError, sa.exc.DBAPIError))
    if isinstance(err, db_exc.DBDeadlock):
        return err
    if driver_error and not connected:
        # SQLite files are opened, never created (engines.create_engine).
        path = sqlite_files.missing_sqlite_file(url)
        if path is not None:
            return exception.DatabaseMissing(database=ctx.database, path=path)
    if isinstance(err, db_exc.DBNonExistentDatabase) or (
        driver_error and not connected and urls.is_missing_database(err)
    ):
        return exception.DatabaseNotFound(
            database=ctx.database, url=urls.mask(url)
        )
    if _is_retryable(err):
        return db_exc.DBDeadlock(err)
    if (
        isinstance(err, db_exc.DBConnectionError)
        or _is_disconnect(err)
        # oslo.db recognises lost connections, but not every driver's
        # wording of a failure to connect at all (libpq's current one
        # among them): whatever fails before a connection is had is one.
        or (driver_error and not connected)
    ):
        if committing:
            reason = (
                f"{_first_line(err)}; the connection was lost while "
                "committing, so the change may or may not have been saved"
            )
        else:
            reason = f"{_first_line(err)}; nothing was written"
        return exception.DatabaseUnavailable(
            database=ctx.database,
            reason=reason,
            outcome_unknown=committing,
        )
    if _is_missing_table(err):
        return exception.DatabaseNotUpgraded(
            database=ctx.database, reason=_first_line(err)
        )
    if driver_error:
        return exception.DatabaseError(
            database=ctx.database, reason=_first_line(err)
        )
    return err


def _sqlalchemy_error(err: BaseException) -> sa.exc.DBAPIError | None:
    """SQLAlchemy's exception under oslo.db's wrapper, if any."""
    current: BaseException | None = err
    for _ in range(4):
        if current is None or isinstance(current, sa.exc.DBAPIError):
            return current
        current = getattr(current, "inner_exception", None) or getattr(
            current, "__cause__", None
        )
    return None


def _is_retryable(err: Exception) -> bool:
    wrapped = _sqlalchemy_error(err)
    orig = wrapped.orig if wrapped is not None else None
    if orig is None:
        return False
    pgcode = getattr(orig, "pgcode", None)
    if pgcode is not None:
        return pgcode in error_codes.PG_RETRY
    if isinstance(orig, sqlite3.OperationalError):
        code = getattr(orig, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in _SQLITE_RETRY_CODES
        return str(orig).startswith(_SQLITE_RETRY_MESSAGES)
    args: tuple[Any, ...] = getattr(orig, "args", ())
    return bool(args) and args[0] in error_codes.MYSQL_RETRY


def _is_missing_table(err: Exception) -> bool:
    # oslo.db classifies SQLite's "no such table" but deliberately passes
    # MySQL's no-such-table through, and PostgreSQL's undefined-table too.
    if isinstance(err, db_exc.DBNonExistentTable):
        return True
    wrapped = _sqlalchemy_error(err)
    orig = wrapped.orig if wrapped is not None else None
    if getattr(orig, "pgcode", None) == error_codes.PG_UNDEFINED_TABLE:
        return True
    args: tuple[object, ...] = getattr(orig, "args", ())
    return bool(args) and args[0] == error_codes.MYSQL_NO_SUCH_TABLE


def _is_disconnect(err: Exception) -> bool:
    wrapped = _sqlalchemy_error(err)
    return wrapped is not None and wrapped.connection_invalidated


def _first_line(err: BaseException) -> str:
    inner = getattr(err, "inner_exception", None) or err
    # The driver's own message, without SQLAlchemy's "(driver.Error)" tag.
    text = str(getattr(inner, "orig", None) or inner).strip()
    return text.splitlines()[0] if text else type(err).__name__


reader = _Transaction(_context_database, write=False)
writer = _Transaction(_context_database, write=True)
api_reader = _Transaction(_api_database, write=False)
api_writer = _Transaction(_api_database, write=True)
cell_reader = _Transaction(_cell_database, write=False)
cell_writer = _Transaction(_cell_database, write=True)
