"""Connection strings: parse, check the driver, mask, and check existence.

Every command that is handed a URL (``cell create``/``cell update``,
``import-nova``) or reads one from configuration or a cell mapping asks
these questions before trusting it, so that a typo is one typed error
naming the database instead of a SQLAlchemy traceback, and so that a
database that does not exist is reported rather than created:

* ``parse``: is it an SQLAlchemy URL naming a database at all?
* ``check_driver``: is its dialect known and its driver importable here?
* ``check_exists``: for an SQLite file, does the file exist? (Cheap, no
  connection; a server is asked on first use, and ``is_missing_database``
  recognises its answer.)
* ``verify``: all of the above plus one real connection (``SELECT 1``).

``mask`` never raises, so a message can always show a URL, however broken,
without its password.
"""

import os
import re

import sqlalchemy as sa

from reqspec import exception
from reqspec.db import error_codes

#: What an operator should have typed.
EXAMPLE = "dialect+driver://user:password@host/database"

# libpq's wording when the server is up but the database is not there.
_PG_MISSING = re.compile(r'database "[^"]*" does not exist')


def mask(url: str) -> str:
    """``url`` with its password hidden; a placeholder if it is not a URL."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError, TypeError):
        return "<not a database URL>"


def is_sqlite_file(url: sa.engine.URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database not in (
        None,
        "",
        ":memory:",
    )


def parse(url: str, label: str) -> sa.engine.URL:
    """The parsed URL, or ``InvalidDatabaseURL`` naming ``label``."""
    try:
        parsed = sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError, TypeError):
        raise exception.InvalidDatabaseURL(
            database=label,
            reason=f"{url!r} is not a database URL (expected {EXAMPLE})",
        ) from None
    # "sqlite://" is an in-memory database; a server URL without one
    # would silently use the login's default database.
    if not parsed.database and parsed.get_backend_name() != "sqlite":
        raise exception.InvalidDatabaseURL(
            database=label,
            reason=f"{mask(url)} names no database (expected {EXAMPLE})",
        )
    return parsed


def check_driver(url: sa.engine.URL, label: str) -> None:
    """``InvalidDatabaseURL`` unless the dialect and its driver load."""
    try:
        dialect = url.get_dialect()
    except sa.exc.NoSuchModuleError:
        raise exception.InvalidDatabaseURL(
            database=label,
            reason=f"SQLAlchemy has no dialect {url.drivername!r} (expected "
            f"e.g. mysql+pymysql, postgresql+psycopg2, sqlite)",
        ) from None
    try:
        dialect.import_dbapi()
    except ImportError as err:
        raise exception.InvalidDatabaseURL(
            database=label,
            reason=f"the driver of {url.drivername!r} is not installed "
            f"({err}); install it or use another driver",
        ) from None


def check(url: str, label: str) -> sa.engine.URL:
    """``parse`` and ``check_driver``: the URL is usable on this host."""
    parsed = parse(url, label)
    check_driver(parsed, label)
    return parsed


def check_exists(url: str, label: str) -> None:
    """``check``, then ``DatabaseMissing`` (a ``DatabaseNotFound``) for a
    missing SQLite file.

    A command that only reads, or that needs a schema already there, calls
    this first: opening a missing SQLite file would create it.
    """
    parsed = check(url, label)
    path = parsed.database or ""
    if is_sqlite_file(parsed) and not os.path.exists(path):
        raise exception.DatabaseMissing(database=label, path=path)


def is_missing_database(err: BaseException) -> bool:
    """Whether a driver error says the database does not exist."""
    current: BaseException | None = err
    for _ in range(5):
        if current is None:
            return False
        orig = getattr(current, "orig", None)
        if orig is not None:
            current = orig
        args = getattr(current, "args", ())
        if args and args[0] == error_codes.MYSQL_UNKNOWN_DATABASE:
            return True
        if _PG_MISSING.search(str(current)):
            return True
        current = getattr(current, "inner_exception", None) or getattr(
            current, "__cause__", None
        )
    return False


def first_line(err: BaseException) -> str:
    """The driver's own message, first line only."""
    inner = getattr(err, "inner_exception", None) or err
    text = str(getattr(inner, "orig", None) or inner).strip()
    return text.splitlines()[0] if text else type(err).__name__


def verify(url: str, label: str, *, may_create: bool = False) -> None:
    """``check``, then connect once and run ``SELECT 1``.

    ``may_create``: an SQLite file that does not exist yet is accepted when
    its directory does (``db sync`` will create it); a server database
    must always exist, as reqspec never creates one.
    """
    parsed = check(url, label)
    if is_sqlite_file(parsed):
        path = parsed.database or ""
        if not os.path.exists(path):
            directory = os.path.dirname(os.path.abspath(path))
            if may_create and os.path.isdir(directory):
                return
            raise exception.DatabaseMissing(database=label, path=path)
    # Plain SQLAlchemy, no pool and no oslo.db retries: one quick attempt.
    engine = sa.create_engine(parsed, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as err:
        if is_missing_database(err):
            raise exception.DatabaseNotFound(
                database=label, url=mask(url)
            ) from None
        raise exception.DatabaseUnavailable(
            database=label, reason=first_line(err)
        ) from None
    finally:
        engine.dispose()
