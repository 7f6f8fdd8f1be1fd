"""SQL for the ``cell_mappings`` table of the API database."""

from typing import Any
from typing import cast
from typing import TYPE_CHECKING

from oslo_db import exception as db_exc
import sqlalchemy as sa

from reqspec import exception
from reqspec.db import api_models
from reqspec.db import transactions

if TYPE_CHECKING:
    from reqspec.context import RequestContext

_table = cast(sa.Table, api_models.CellMapping.__table__)
_c = _table.c
_columns = (_c.id, _c.uuid, _c.name, _c.database_connection)


@transactions.api_reader
def get_by_name(ctx: "RequestContext", name: str) -> Any:
    stmt = sa.select(*_columns).where(_c.name == name)
    return ctx.connection.execute(stmt).first()


@transactions.api_reader
def get_by_uuid(ctx: "RequestContext", uuid: str) -> Any:
    stmt = sa.select(*_columns).where(_c.uuid == uuid)
    return ctx.connection.execute(stmt).first()


@transactions.api_reader
def get_all(ctx: "RequestContext") -> list[Any]:
    stmt = sa.select(*_columns).order_by(_c.name)
    return list(ctx.connection.execute(stmt))


@transactions.api_writer
def create(ctx: "RequestContext", values: dict[str, Any]) -> int:
    try:
        result = ctx.connection.execute(_table.insert().values(**values))
    except db_exc.DBDuplicateEntry as err:
        raise exception.CellMappingExists(name=values["name"]) from err
    return int(result.inserted_primary_key[0])  # type: ignore[index]


@transactions.api_writer
def destroy(ctx: "RequestContext", uuid: str) -> None:
    result = ctx.connection.execute(_table.delete().where(_c.uuid == uuid))
    if result.rowcount != 1:
        raise exception.CellMappingNotFound(cell=uuid)


@transactions.api_writer
def update(ctx: "RequestContext", uuid: str, values: dict[str, Any]) -> None:
    stmt = _table.update().where(_c.uuid == uuid).values(**values)
    try:
        result = ctx.connection.execute(stmt)
    except db_exc.DBDuplicateEntry as err:
        raise exception.CellMappingExists(name=values.get("name")) from err
    if result.rowcount != 1:
        raise exception.CellMappingNotFound(cell=uuid)


@transactions.api_reader
def count_instance_mappings(ctx: "RequestContext", cell_id: int) -> int:
    """Servers mapped to the cell, or moving from or to it."""
    mappings = cast(sa.Table, api_models.InstanceMapping.__table__)
    m = mappings.c
    stmt = (
        sa.select(sa.func.count())
        .select_from(mappings)
        .where(
            sa.or_(
                m.cell_id == cell_id,
                m.move_source_cell_id == cell_id,
                m.move_target_cell_id == cell_id,
            )
        )
    )
    return int(ctx.connection.execute(stmt).scalar_one())
