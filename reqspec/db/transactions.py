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
the current transaction. Calls nest: a writer called inside a writer on the
same context and database joins its transaction. Writers are retried on
deadlock (the whole transaction, so a retry is always safe), and a lost or
unreachable server surfaces as ``DatabaseUnavailable``.
"""

from collections.abc import Callable
import functools
from typing import Concatenate
from typing import ParamSpec
from typing import TYPE_CHECKING
from typing import TypeVar

from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
import sqlalchemy as sa

from reqspec import exception
from reqspec.db import engines

if TYPE_CHECKING:
    from reqspec.context import RequestContext

P = ParamSpec("P")
R = TypeVar("R")


def _context_database(ctx: "RequestContext") -> engines.Database:
    cell = ctx.cell
    if cell is None:
        return engines.database(engines.api_database_url())
    return engines.database(cell.database_connection)


def _api_database(ctx: "RequestContext") -> engines.Database:
    return engines.database(engines.api_database_url())


def _cell_database(ctx: "RequestContext") -> engines.Database:
    if ctx.cell is None:
        raise exception.CellNotTargeted(operation="This call")
    return engines.database(ctx.cell.database_connection)


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
        pick = self._pick
        write = self._write

        @functools.wraps(fn)
        def wrapper(
            ctx: "RequestContext", /, *args: P.args, **kwargs: P.kwargs
        ) -> R:
            db = pick(ctx)
            manager = db.writer if write else db.reader
            try:
                with manager.using(ctx):
                    return fn(ctx, *args, **kwargs)
            except (db_exc.DBConnectionError, sa.exc.OperationalError) as err:
                # oslo.db recognises lost connections, but not every
                # driver's wording of a failure to connect at all (libpq's
                # current one among them): those arrive unclassified.
                raise exception.DatabaseUnavailable(
                    database=ctx.database, reason=_first_line(err)
                ) from err
            except (db_exc.DBError, sa.exc.ProgrammingError) as err:
                if not _is_missing_table(err):
                    raise
                raise exception.DatabaseNotUpgraded(
                    database=ctx.database, reason=_first_line(err)
                ) from err

        if write:
            # The retry wraps the whole transaction, so it is always safe.
            return _retry_on_deadlock(wrapper)
        return wrapper


_retry_on_deadlock = oslo_db_api.wrap_db_retry(
    max_retries=5,
    retry_interval=0.05,
    inc_retry_interval=True,
    max_retry_interval=1,
    retry_on_deadlock=True,
)


def _is_missing_table(err: Exception) -> bool:
    # oslo.db classifies SQLite's "no such table" but deliberately passes
    # MySQL's 1146 through, and PostgreSQL's undefined-table error too.
    if isinstance(err, db_exc.DBNonExistentTable):
        return True
    # oslo.db wraps unclassified driver errors in a bare DBError.
    inner = getattr(err, "inner_exception", None) or err
    orig = getattr(inner, "orig", None)
    if getattr(orig, "pgcode", None) == "42P01":
        return True
    args: tuple[object, ...] = getattr(orig, "args", ())
    return bool(args) and args[0] == 1146


def _first_line(err: Exception) -> str:
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
