"""SQL for reading a Nova API database's ``request_specs`` table.

A foreign database: reqspec never writes to it and never migrates it. Rows
are read in id order, a batch at a time, each batch in its own short
transaction (keyset pagination: memory stays flat, nothing is held open
on Nova's database while reqspec writes its own).
"""

import os
from typing import Any
from typing import NamedTuple

from oslo_db import exception as db_exc
import sqlalchemy as sa

from reqspec import exception
from reqspec.db import engines

LABEL = "the Nova API database"

# Only the columns every Nova release had (id, instance_uuid, spec).
_table = sa.table(
    "request_specs",
    sa.column("id", sa.Integer),
    sa.column("instance_uuid", sa.String),
    sa.column("spec", sa.Text),
)
_count = sa.select(sa.func.count()).select_from(_table)
_batch = (
    sa.select(_table.c.id, _table.c.instance_uuid, _table.c.spec)
    .where(_table.c.id > sa.bindparam("after_id"))
    .order_by(_table.c.id)
    .limit(sa.bindparam("batch_size"))
)


class NovaRow(NamedTuple):
    id: int
    instance_uuid: str
    spec: str


class NovaSource:
    """A read-only connection pool on one Nova API database."""

    def __init__(self, url: str) -> None:
        self._engine: sa.engine.Engine | None = None
        parsed = sa.engine.make_url(url)
        if engines.is_sqlite_file(parsed) and not os.path.exists(
            parsed.database or ""
        ):
            # Opening it would create an empty database file: refuse.
            raise exception.DatabaseUnavailable(
                database=LABEL, reason=f"no such file {parsed.database}"
            )
        try:
            self._engine = engines.create_engine(url, max_retries=0)
        except (db_exc.DBConnectionError, sa.exc.OperationalError) as err:
            raise _unavailable(err) from err
        self.masked_url = parsed.render_as_string(hide_password=True)
        self._check_table()

    def _check_table(self) -> None:
        assert self._engine is not None
        try:
            with self._engine.connect() as conn:
                found = sa.inspect(conn).has_table("request_specs")
        except (db_exc.DBConnectionError, sa.exc.OperationalError) as err:
            raise _unavailable(err) from err
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
            raise _unavailable(err) from err

    def count(self) -> int:
        """How many rows the table has."""
        return int(self._execute(_count, {})[0][0])

    def batch_after(self, after_id: int, batch_size: int) -> list[NovaRow]:
        """Up to ``batch_size`` rows with ids above ``after_id``."""
        rows = self._execute(
            _batch, {"after_id": after_id, "batch_size": batch_size}
        )
        return [NovaRow(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def _unavailable(err: Exception) -> exception.DatabaseUnavailable:
    inner = getattr(err, "inner_exception", None) or err
    text = str(getattr(inner, "orig", None) or inner).strip()
    return exception.DatabaseUnavailable(
        database=LABEL, reason=text.splitlines()[0] if text else repr(err)
    )
