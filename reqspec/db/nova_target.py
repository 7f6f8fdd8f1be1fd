"""SQL for writing a Nova API database's ``request_specs`` table.

The one place reqspec writes to a Nova database (``export-nova``): rows of
Nova's shape (id, instance_uuid, spec, created_at, updated_at), matched by
instance uuid. The database and its table must exist already (Nova's own
``nova-manage api_db sync`` makes them); nothing else is touched, and an
SQLite file keeps its journal mode (reqspec's own engines would switch it
to WAL).
"""

from collections.abc import Iterator
import contextlib
import datetime
import os
from typing import NamedTuple

from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import exc_filters
import sqlalchemy as sa

from reqspec import exception
from reqspec.db import base
from reqspec.db import engines
from reqspec.db import nova_source
from reqspec.db import sqlite_files

_table = sa.table(
    "request_specs",
    sa.column("id", sa.Integer),
    sa.column("instance_uuid", sa.String),
    sa.column("spec", sa.Text),
    sa.column("created_at", sa.DateTime),
    sa.column("updated_at", sa.DateTime),
)
_select = sa.select(_table.c.instance_uuid, _table.c.spec).where(
    _table.c.instance_uuid.in_(sa.bindparam("uuids", expanding=True))
)
_insert = _table.insert()
_update = (
    _table.update()
    .where(_table.c.instance_uuid == sa.bindparam("match_uuid"))
    .values(spec=sa.bindparam("new_spec"), updated_at=sa.bindparam("now"))
)

#: Largest number of uuids sent in one IN (...) list.
IN_CHUNK = 1000


class Row(NamedTuple):
    instance_uuid: str
    spec: str
    created_at: datetime.datetime | None
    updated_at: datetime.datetime | None


class NovaTarget:
    """A connection pool on the Nova API database specs are written to."""

    def __init__(self, url: str) -> None:
        parsed = sa.engine.make_url(url)
        if sqlite_files.is_sqlite_file(parsed):
            if not os.path.exists(parsed.database or ""):
                raise exception.DatabaseUnavailable(
                    database=nova_source.LABEL,
                    reason=f"no such file {parsed.database}",
                )
            self._engine = sa.create_engine(parsed, poolclass=sa.pool.NullPool)
            exc_filters.register_engine(self._engine)
        else:
            try:
                self._engine = engines.create_engine(url, max_retries=0)
            except (db_exc.DBConnectionError, sa.exc.OperationalError) as err:
                raise nova_source.unavailable(err) from err
        self.masked_url = parsed.render_as_string(hide_password=True)
        try:
            with self._engine.connect() as conn:
                found = sa.inspect(conn).has_table("request_specs")
        except (db_exc.DBConnectionError, sa.exc.OperationalError) as err:
            self.close()
            raise nova_source.unavailable(err) from err
        if not found:
            self.close()
            raise exception.NotANovaDatabase(
                database=nova_source.LABEL,
                reason="table request_specs is missing",
            )

    def specs_of(self, uuids: list[str]) -> dict[str, str]:
        """The stored spec text of each listed instance that has a row."""
        found: dict[str, str] = {}
        with self._connection() as conn:
            for start in range(0, len(uuids), IN_CHUNK):
                chunk = uuids[start : start + IN_CHUNK]
                for row in conn.execute(_select, {"uuids": chunk}):
                    found[str(row[0])] = str(row[1])
        return found

    def write(self, inserts: list[Row], updates: list[Row]) -> None:
        """Insert and replace rows, all in one transaction."""
        if not inserts and not updates:
            return
        now = base.utcnow()
        with self._connection(begin=True) as conn:
            if inserts:
                conn.execute(
                    _insert,
                    [
                        {
                            "instance_uuid": r.instance_uuid,
                            "spec": r.spec,
                            "created_at": r.created_at or now,
                            "updated_at": r.updated_at,
                        }
                        for r in inserts
                    ],
                )
            for r in updates:
                conn.execute(
                    _update,
                    {
                        "match_uuid": r.instance_uuid,
                        "new_spec": r.spec,
                        "now": now,
                    },
                )

    @contextlib.contextmanager
    def _connection(
        self, begin: bool = False
    ) -> Iterator[sa.engine.Connection]:
        try:
            with (
                self._engine.begin() if begin else self._engine.connect()
            ) as conn:
                yield conn
        except (db_exc.DBConnectionError, sa.exc.OperationalError) as err:
            raise nova_source.unavailable(err) from err

    def close(self) -> None:
        self._engine.dispose()
