"""SQL for ``instance_mappings`` (API database): where each spec lives.

A row is read together with the cell mappings it points at (its cell and,
during a move, the move's source and target), in one query. Every change
is a conditional UPDATE (``expected`` column values in the WHERE clause)
so that concurrent conductors, and a heal racing a conductor, can never
both take the same step: the one whose row count is 0 lost. The same
for many rows at once is ``reqspec.db.mapping_batches``.
"""

from collections.abc import Callable
import datetime
import functools
from typing import Any
from typing import cast
from typing import TYPE_CHECKING

from oslo_db import exception as db_exc
import sqlalchemy as sa

from reqspec import exception
from reqspec.db import api_models
from reqspec.db import base
from reqspec.db import conditional_updates
from reqspec.db import transactions

if TYPE_CHECKING:
    from reqspec.context import RequestContext

_table = cast(sa.Table, api_models.InstanceMapping.__table__)
_c = _table.c
_insert = _table.insert()
_cells = cast(sa.Table, api_models.CellMapping.__table__)

#: Columns of the mapping itself, in the order rows are returned.
COLUMNS = (
    "id",
    "instance_uuid",
    "project_id",
    "move_step",
    "move_host",
    "move_node",
    "fault",
)
#: Cell references, each returned as a dict of the cell's columns or None.
CELL_REFERENCES = {
    "cell": _c.cell_id,
    "move_source": _c.move_source_cell_id,
    "move_target": _c.move_target_cell_id,
}
_CELL_COLUMNS = ("id", "uuid", "name", "database_connection")


def _select() -> sa.Select[Any]:
    columns: list[Any] = [_c[name] for name in COLUMNS]
    joined: Any = _table
    for ref, fk_column in CELL_REFERENCES.items():
        alias = _cells.alias(ref)
        columns += [
            alias.c[name].label(f"{ref}_{name}") for name in _CELL_COLUMNS
        ]
        joined = joined.outerjoin(alias, fk_column == alias.c.id)
    return sa.select(*columns).select_from(joined)


_select_all = _select().order_by(_c.id)
_select_one = _select().where(_c.instance_uuid == sa.bindparam("uuid"))
_select_moving = _select_all.where(_c.move_step.is_not(None))
_select_unscheduled = _select_all.where(
    _c.cell_id.is_(None), _c.move_step.is_(None)
)


def _row(row: Any) -> dict[str, Any]:
    values = row._mapping
    out = {name: values[name] for name in COLUMNS}
    for ref in CELL_REFERENCES:
        if values[f"{ref}_id"] is None:
            out[ref] = None
        else:
            out[ref] = {n: values[f"{ref}_{n}"] for n in _CELL_COLUMNS}
    return out


@transactions.api_reader
def get_by_instance_uuid(
    ctx: "RequestContext", instance_uuid: str
) -> dict[str, Any] | None:
    row = ctx.connection.execute(_select_one, {"uuid": instance_uuid}).first()
    return None if row is None else _row(row)


@transactions.api_reader
def get_all(
    ctx: "RequestContext",
    moving_only: bool = False,
    unscheduled_only: bool = False,
    idle_for: float | None = None,
) -> list[dict[str, Any]]:
    """Every mapping by id; only those with a move recorded, or only
    those of servers waiting to be built (no cell, no move); with
    ``idle_for``, only rows nobody changed for that many seconds."""
    stmt = _select_all
    if moving_only:
        stmt = _select_moving
    elif unscheduled_only:
        stmt = _select_unscheduled
    if idle_for is not None:
        since = base.utcnow() - datetime.timedelta(seconds=idle_for)
        stmt = stmt.where(
            sa.func.coalesce(_c.updated_at, _c.created_at) <= since
        )
    return [_row(r) for r in ctx.connection.execute(stmt)]


@transactions.api_reader
def get_page(
    ctx: "RequestContext",
    project_id: str | None,
    limit: int,
    before_id: int | None = None,
) -> list[dict[str, Any]]:
    """Up to ``limit`` mappings, newest (highest id) first, only those of
    ``project_id`` unless it is None, only below ``before_id`` if given.
    The primary key orders them: unique, so pages never overlap."""
    stmt = _select().order_by(_c.id.desc()).limit(limit)
    if project_id is not None:
        stmt = stmt.where(_c.project_id == project_id)
    if before_id is not None:
        stmt = stmt.where(_c.id < before_id)
    return [_row(r) for r in ctx.connection.execute(stmt)]


@transactions.api_writer
def create(
    ctx: "RequestContext",
    instance_uuid: str,
    project_id: str | None,
    then: Callable[[], object] | None = None,
) -> int:
    """Insert an unscheduled mapping; returns its id. ``ctx`` must address
    the API database.

    ``then`` runs after the insert, inside the same transaction: a writer
    it calls on the same context and database joins it (the spec's own
    ``create``), so either both rows exist or neither does.
    """
    try:
        result = ctx.connection.execute(
            _insert,
            {
                "instance_uuid": instance_uuid,
                "project_id": project_id,
                "created_at": base.utcnow(),
            },
        )
    except db_exc.DBDuplicateEntry as err:
        raise exception.InstanceExists(
            instance_uuid=instance_uuid, database=ctx.database
        ) from err
    if then is not None:
        then()
    return int(result.inserted_primary_key[0])  # type: ignore[index]


@transactions.api_writer
def update(
    ctx: "RequestContext",
    instance_uuid: str,
    expected: dict[str, Any],
    values: dict[str, Any],
) -> bool:
    """Set ``values`` if every ``expected`` column still holds its value
    (None matches NULL; a tuple: any of its values). False, and nothing
    written, otherwise."""
    stmt, params = conditional_updates.statement(
        _table, "instance_uuid", instance_uuid, expected, values
    )
    return ctx.connection.execute(stmt, params).rowcount == 1


@transactions.api_writer
def destroy(ctx: "RequestContext", instance_uuid: str) -> bool:
    result = ctx.connection.execute(
        _table.delete().where(_c.instance_uuid == instance_uuid)
    )
    return result.rowcount == 1


_own_columns = [_c[name] for name in COLUMNS]
# Memoized like the statements it extends.
_returning_own = functools.lru_cache(maxsize=8)(
    lambda stmt: stmt.returning(*_own_columns)
)
_select_own = sa.select(*_own_columns).where(
    _c.instance_uuid == sa.bindparam("uuid")
)


@transactions.api_writer
def record_move(
    ctx: "RequestContext",
    instance_uuid: str,
    source: int | None,
    values: dict[str, Any],
    then: Callable[[], object] | None = None,
) -> dict[str, Any] | None:
    """Record a move of a server in cell ``source`` (None: unscheduled)
    with no move recorded; returns the mapping's own columns (``COLUMNS``:
    its cells are ``source`` and the move's, which the caller knows), in
    one transaction. None (nothing written) if it is not in that state.

    ``then`` runs after the record, in the same transaction, as for
    ``create``: the move's first read joins the record's transaction.
    """
    stmt, params = conditional_updates.statement(
        _table,
        "instance_uuid",
        instance_uuid,
        {"move_step": None, "cell_id": source},
        values,
    )
    conn = ctx.connection
    if conn.dialect.update_returning:
        # PostgreSQL, SQLite: the row comes back with the UPDATE.
        row = conn.execute(_returning_own(stmt), params).first()
    elif conn.execute(stmt, params).rowcount == 1:
        # MariaDB has no UPDATE ... RETURNING.
        row = conn.execute(_select_own, {"uuid": instance_uuid}).first()
    else:
        row = None
    if row is None:
        return None
    if then is not None:
        then()
    return dict(row._mapping)
