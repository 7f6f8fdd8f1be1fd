"""SQL for ``instances`` (cell database): servers, where they run and
what they hold.

Every write that makes a server hold more on a node claims it first, in
the same transaction (``reqspec.db.claims``): a server that would not
fit is refused with ``ComputeResourcesUnavailable`` and nothing is
written.
"""

from collections.abc import Sequence
from typing import Any
from typing import cast
from typing import TYPE_CHECKING

from oslo_db import exception as db_exc
import sqlalchemy as sa

from reqspec import exception
from reqspec.db import base
from reqspec.db import cell_models
from reqspec.db import claims
from reqspec.db import conditional_updates
from reqspec.db import request_specs
from reqspec.db import transactions
from reqspec.db import value_lists

if TYPE_CHECKING:
    from reqspec.context import RequestContext

_table = cast(sa.Table, cell_models.Instance.__table__)
_c = _table.c
_insert = _table.insert()

COLUMNS = (
    "id",
    "uuid",
    "project_id",
    "user_id",
    "status",
    "host",
    "node",
    "vcpus",
    "memory_mb",
    "disk_gb",
    "group_uuid",
    "old_host",
    "old_node",
    "old_vcpus",
    "old_memory_mb",
    "old_disk_gb",
    "old_flavor",
    "new_flavor",
)
_select = sa.select(*(_c[name] for name in COLUMNS))


def _row(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


@transactions.cell_reader
def get_by_uuid(ctx: "RequestContext", uuid: str) -> dict[str, Any] | None:
    row = ctx.connection.execute(_select.where(_c.uuid == uuid)).first()
    return None if row is None else _row(row)


_select_many = value_lists.ListStatement(
    lambda match: _select.where(match("uuids", _c.uuid))
)


@transactions.cell_reader
def get_by_uuids(
    ctx: "RequestContext", uuids: list[str]
) -> list[dict[str, Any]]:
    """The servers of ``uuids`` that this cell holds, in no set order."""
    found = []
    for start in range(0, len(uuids), request_specs.IN_CHUNK):
        chunk = uuids[start : start + request_specs.IN_CHUNK]
        result = _select_many.execute(ctx.connection, {}, uuids=chunk)
        found += [_row(r) for r in result]
    return found


@transactions.cell_reader
def get_by_group(
    ctx: "RequestContext", group_uuid: str
) -> list[dict[str, Any]]:
    stmt = _select.where(_c.group_uuid == group_uuid).order_by(_c.id)
    return [_row(r) for r in ctx.connection.execute(stmt)]


@transactions.cell_reader
def get_all(ctx: "RequestContext") -> list[dict[str, Any]]:
    return [_row(r) for r in ctx.connection.execute(_select.order_by(_c.id))]


@transactions.cell_writer
def create(ctx: "RequestContext", values: dict[str, Any]) -> int:
    """Insert a server and claim what it holds, in one transaction.

    ``InstanceExists`` if the cell already has a server with this uuid,
    ``ComputeResourcesUnavailable`` if it does not fit; nothing is
    written in either case.
    """
    uuid = values["uuid"]

    def existing() -> None:
        if get_by_uuid(ctx, uuid) is not None:
            raise exception.InstanceExists(
                instance_uuid=uuid, database=ctx.database
            )

    claims.claim(ctx, uuid, values, existing)
    try:
        result = ctx.connection.execute(
            _table.insert().values(created_at=base.utcnow(), **values)
        )
    except db_exc.DBDuplicateEntry as err:
        raise exception.InstanceExists(
            instance_uuid=uuid, database=ctx.database
        ) from err
    return int(result.inserted_primary_key[0])  # type: ignore[index]


_touch = (
    _table.update()
    .where(_c.uuid == sa.bindparam("touch_uuid"))
    .values(status=_c.status)
)


@transactions.cell_writer
def update(
    ctx: "RequestContext",
    uuid: str,
    expected: dict[str, Any],
    values: dict[str, Any],
    action: str,
) -> dict[str, Any]:
    """Change a server if it still matches ``expected``, claiming what it
    newly holds. Returns the new row.

    ``InstanceNotFound`` if it is gone, ``InstanceConflict`` if it no
    longer matches, ``ComputeResourcesUnavailable`` if the claim fails;
    nothing is written in any of these cases.
    """

    def current() -> dict[str, Any]:
        row = ctx.connection.execute(
            _select.where(_c.uuid == uuid).with_for_update()
        ).first()
        if row is None:
            raise exception.InstanceNotFound(instance_uuid=uuid)
        found = _row(row)
        if any(found[k] != v for k, v in expected.items()):
            raise exception.InstanceConflict(instance_uuid=uuid, action=action)
        return found

    # A write first: the row lock on PostgreSQL and MySQL, and on SQLite
    # the database write lock. A SQLite transaction that read first and
    # then writes fails outright ("database is locked", not retried) if
    # another writer committed in between. On Galera a row lock (and the
    # FOR UPDATE above) holds on one node only; the write is what
    # certification sees, so a concurrent change through another node
    # fails at COMMIT and this transaction is run again.
    ctx.connection.execute(_touch, {"touch_uuid": uuid})
    before = current()
    after = {**before, **values}
    claims.claim(ctx, uuid, after, current)
    stmt, params = conditional_updates.statement(
        _table, "uuid", uuid, expected, values
    )
    result = ctx.connection.execute(stmt, params)
    if result.rowcount != 1:
        raise exception.InstanceConflict(instance_uuid=uuid, action=action)
    return after


@transactions.cell_writer
def destroy(ctx: "RequestContext", uuid: str) -> None:
    result = ctx.connection.execute(_table.delete().where(_c.uuid == uuid))
    if result.rowcount != 1:
        raise exception.InstanceNotFound(instance_uuid=uuid)


@transactions.cell_writer
def create_many(
    ctx: "RequestContext",
    servers: Sequence[dict[str, Any]],
    specs: Sequence[request_specs.SpecRow],
) -> dict[str, exception.ComputeResourcesUnavailable]:
    """Insert servers, claiming what they hold, and their specs, in one
    transaction: the target half of one or many moves.

    The servers are claimed in order (``claims.claim_many``: every node
    locked once, its usage summed once); one that does not fit is left
    out (with the reason returned under its uuid) and so is its spec.
    ``InstanceExists`` or ``RequestSpecExists``, and nothing written, if
    any is already there.
    """
    accepted, refused = claims.claim_many(ctx, servers)
    if accepted:
        now = base.utcnow()
        try:
            ctx.connection.execute(
                _insert, [dict(v, created_at=now) for v in accepted]
            )
        except db_exc.DBDuplicateEntry as err:
            # Inserted by a concurrent finisher since the check above.
            raise exception.InstanceExists(
                instance_uuid=accepted[0]["uuid"], database=ctx.database
            ) from err
        request_specs.create_many(
            ctx, [s for s in specs if s.instance_uuid not in refused]
        )
    return refused


@transactions.cell_writer
def destroy_with_spec(ctx: "RequestContext", uuid: str) -> None:
    """Delete a server and its spec from the cell, in one transaction;
    either may be gone already."""
    request_specs.destroy_many(ctx, [uuid])
    ctx.connection.execute(_table.delete().where(_c.uuid == uuid))


@transactions.cell_reader
def count(ctx: "RequestContext") -> int:
    """Servers in the targeted cell."""
    stmt = sa.select(sa.func.count()).select_from(_table)
    return int(ctx.connection.execute(stmt).scalar_one())
