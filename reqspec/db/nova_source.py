"""SQL for reading a Nova API database's ``request_specs`` table.

A foreign database: reqspec never writes to it and never migrates it, and
the connection itself makes sure: an SQLite file is opened read-only (a
``mode=ro`` URI, none of the WAL or pragma setup reqspec's own databases
get), PostgreSQL sessions start with ``default_transaction_read_only`` and
MySQL/MariaDB sessions with ``SET SESSION TRANSACTION READ ONLY``. Rows are
read in id order, a batch at a time, each batch in its own short
transaction (keyset pagination: memory stays flat, nothing is held open
on Nova's database while reqspec writes its own).
"""

import datetime
import os
import sqlite3
from typing import Any
from typing import NamedTuple
import urllib.parse

from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import exc_filters
import sqlalchemy as sa

from reqspec import exception
from reqspec.db import engines
from reqspec.db import sqlite_files

LABEL = "the Nova API database"

# The columns every Nova release had (the table came with timestamps).
_table = sa.table(
    "request_specs",
    sa.column("id", sa.Integer),
    sa.column("instance_uuid", sa.String),
    sa.column("spec", sa.Text),
    sa.column("created_at", sa.DateTime),
    sa.column("updated_at", sa.DateTime),
)
_count = sa.select(sa.func.count()).select_from(_table)
_batch = (
    sa.select(
        _table.c.id,
        _table.c.instance_uuid,
        _table.c.spec,
        _table.c.created_at,
        _table.c.updated_at,
    )
    .where(_table.c.id > sa.bindparam("after_id"))
    .order_by(_table.c.id)
    .limit(sa.bindparam("batch_size"))
)


class NovaRow(NamedTuple):
    id: int
    instance_uuid: str
    spec: str
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None


class NovaSource:
    """A read-only connection pool on one Nova API database."""

    def __init__(self, url: str) -> None:
        self._engine: sa.engine.Engine | None = None
        parsed = sa.engine.make_url(url)
        if sqlite_files.is_sqlite_file(parsed) and not os.path.exists(
            parsed.database or ""
        ):
            # Opening it would create an empty database file: refuse.
            raise exception.DatabaseUnavailable(
                database=LABEL, reason=f"no such file {parsed.database}"
            )
        try:
            self._engine = read_only_engine(parsed)
        except (db_exc.DBConnectionError, sa.exc.OperationalError) as err:
            raise unavailable(err) from err
        self.masked_url = parsed.render_as_string(hide_password=True)
        self._check_table()

    def _check_table(self) -> None:
        assert self._engine is not None
        try:
            with self._engine.connect() as conn:
                found = sa.inspect(conn).has_table("request_specs")
        except (db_exc.DBConnectionError, sa.exc.OperationalError) as err:
            raise unavailable(err) from err
        if not found:
            raise exception.NotANovaDatabase(
                database=LABEL, reason="table request_specs is missing"
            )

    def _execute(
        self, stmt: sa.Executable, params: dict[str, int]
    ) -> list[Any]:
        assert self._engine is not None
        try:
            with self._engine.connect() as conn:
                return list(conn.execute(stmt, params))
        except (db_exc.DBConnectionError, sa.exc.OperationalError) as err:
            raise unavailable(err) from err

    def count(self) -> int:
        """How many rows the table has."""
        return int(self._execute(_count, {})[0][0])

    def batch_after(self, after_id: int, batch_size: int) -> list[NovaRow]:
        """Up to ``batch_size`` rows with ids above ``after_id``."""
        rows = self._execute(
            _batch, {"after_id": after_id, "batch_size": batch_size}
        )
        return [
            NovaRow(int(r[0]), str(r[1]), str(r[2]), r[3], r[4]) for r in rows
        ]

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def read_only_engine(url: sa.engine.URL) -> sa.engine.Engine:
    """An engine on ``url`` whose every connection refuses to write."""
    if sqlite_files.is_sqlite_file(url):
        path = os.path.abspath(url.database or "")
        uri = "file:" + sqlite_uri_path(path) + "?mode=ro"

        def _connect() -> sqlite3.Connection:
            return sqlite3.connect(uri, uri=True, check_same_thread=False)

        engine = sa.create_engine(
            "sqlite://", creator=_connect, poolclass=sa.pool.NullPool
        )
        exc_filters.register_engine(engine)
        return engine
    engine = engines.create_engine(
        url.render_as_string(hide_password=False), max_retries=0
    )
    statement = _READ_ONLY_SESSION.get(url.get_backend_name())
    if statement is not None:

        @sa.event.listens_for(engine, "connect")
        def _read_only(dbapi_con: Any, record: Any) -> None:
            cursor = dbapi_con.cursor()
            try:
                cursor.execute(statement)
            finally:
                cursor.close()
            dbapi_con.commit()  # psycopg2 opened a transaction for it

        # oslo.db connected once to test the URL, before the hook existed.
        engine.dispose()
    return engine


#: The session setting that makes a server refuse writes on a connection.
_READ_ONLY_SESSION = {
    "postgresql": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
    "mysql": "SET SESSION TRANSACTION READ ONLY",
}


def sqlite_uri_path(path: str) -> str:
    """``path`` quoted for an SQLite ``file:`` URI."""
    return urllib.parse.quote(path)


def unavailable(err: Exception) -> exception.DatabaseUnavailable:
    inner = getattr(err, "inner_exception", None) or err
    text = str(getattr(inner, "orig", None) or inner).strip()
    return exception.DatabaseUnavailable(
        database=LABEL, reason=text.splitlines()[0] if text else repr(err)
    )
