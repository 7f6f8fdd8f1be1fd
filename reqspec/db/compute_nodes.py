"""SQL for ``compute_nodes`` (cell database): hosts and their capacity."""

import math
from typing import Any
from typing import cast
from typing import NamedTuple
from typing import TYPE_CHECKING

from oslo_db import exception as db_exc
from oslo_serialization import jsonutils
import sqlalchemy as sa

from reqspec import exception
from reqspec.db import base
from reqspec.db import cell_models
from reqspec.db import transactions

if TYPE_CHECKING:
    from reqspec.context import RequestContext

_table = cast(sa.Table, cell_models.ComputeNode.__table__)
_c = _table.c

#: The columns an operator sets; the others identify the node or are
#: bookkeeping.
SETTABLE = (
    "availability_zone",
    "vcpus",
    "memory_mb",
    "local_gb",
    "cpu_allocation_ratio",
    "ram_allocation_ratio",
    "disk_allocation_ratio",
    "architecture",
    "hypervisor_type",
    "aggregates",
    "disabled",
    "forced_down",
)
#: The columns a node is read with.
COLUMNS = ("id", "uuid", "host", "node", *SETTABLE, "generation")


class Resources(NamedTuple):
    """An amount of the three resources a flavor asks for."""

    vcpus: int = 0
    memory_mb: int = 0
    disk_gb: int = 0

    def __add__(self, other: object) -> "Resources":
        assert isinstance(other, Resources)
        # Spelled out: a claim adds these per server and per node.
        return Resources(
            self.vcpus + other.vcpus,
            self.memory_mb + other.memory_mb,
            self.disk_gb + other.disk_gb,
        )

    def __sub__(self, other: "Resources") -> "Resources":
        return Resources(*(a - b for a, b in zip(self, other, strict=True)))


#: How each resource of ``Resources`` is counted, for messages.
UNITS = {"vcpus": "VCPU", "memory_mb": "MiB of RAM", "disk_gb": "GiB of disk"}


def capacity(node: dict[str, Any]) -> Resources:
    """What a node can hold: its size times its allocation ratios."""
    return Resources(
        math.floor(node["vcpus"] * node["cpu_allocation_ratio"]),
        math.floor(node["memory_mb"] * node["ram_allocation_ratio"]),
        math.floor(node["local_gb"] * node["disk_allocation_ratio"]),
    )


_select = sa.select(*(_c[name] for name in COLUMNS))


def _row(row: Any) -> dict[str, Any]:
    values = dict(row._mapping)
    values["aggregates"] = jsonutils.loads(values["aggregates"] or "[]")
    values["disabled"] = bool(values["disabled"])
    values["forced_down"] = bool(values["forced_down"])
    return values


@transactions.cell_reader
def get_all(ctx: "RequestContext") -> list[dict[str, Any]]:
    stmt = _select.order_by(_c.host, _c.node)
    return [_row(r) for r in ctx.connection.execute(stmt)]


@transactions.cell_reader
def get_by_host_and_node(
    ctx: "RequestContext", host: str, node: str
) -> dict[str, Any] | None:
    stmt = _select.where(_c.host == host, _c.node == node)
    row = ctx.connection.execute(stmt).first()
    return None if row is None else _row(row)


@transactions.cell_writer
def create(ctx: "RequestContext", values: dict[str, Any]) -> int:
    values = dict(values, generation=1, created_at=base.utcnow())
    values["aggregates"] = jsonutils.dumps(sorted(values["aggregates"]))
    try:
        result = ctx.connection.execute(_table.insert().values(**values))
    except db_exc.DBDuplicateEntry as err:
        raise exception.ComputeNodeExists(
            host=values["host"], node=values["node"], database=ctx.database
        ) from err
    return int(result.inserted_primary_key[0])  # type: ignore[index]


@transactions.cell_writer
def update(
    ctx: "RequestContext", host: str, node: str, values: dict[str, Any]
) -> None:
    if "aggregates" in values:
        values = dict(values)
        values["aggregates"] = jsonutils.dumps(sorted(values["aggregates"]))
    stmt = (
        _table.update()
        .where(_c.host == host, _c.node == node)
        .values(
            generation=_c.generation + 1, updated_at=base.utcnow(), **values
        )
    )
    if ctx.connection.execute(stmt).rowcount != 1:
        raise exception.ComputeHostNotFound(
            host=host, node=node, database=ctx.database
        )


_lock = (
    _table.update()
    .where(_c.host == sa.bindparam("lock_host"))
    .where(_c.node == sa.bindparam("lock_node"))
    .values(generation=_c.generation + 1)
)


_lock_returning = _lock.returning(*(_c[name] for name in COLUMNS))


def lock(ctx: "RequestContext", host: str, node: str) -> dict[str, Any]:
    """Take the node's claim lock inside the caller's write transaction.

    The lock is a write (a generation bump): a row lock on PostgreSQL and
    MySQL, the database write lock on SQLite. Because it is the first
    statement of a claim, the reads that follow see every claim committed
    before it (this matters on MySQL, whose snapshot starts at the first
    plain read).
    """
    params = {"lock_host": host, "lock_node": node}
    if ctx.connection.dialect.update_returning:
        # One round trip instead of two (PostgreSQL, SQLite 3.35+).
        row = ctx.connection.execute(_lock_returning, params).first()
    else:
        found = ctx.connection.execute(_lock, params).rowcount == 1
        row = (
            ctx.connection.execute(
                _select.where(_c.host == host, _c.node == node)
            ).first()
            if found
            else None
        )
    if row is None:
        raise exception.ComputeHostNotFound(
            host=host, node=node, database=ctx.database
        )
    return _row(row)


_pair = sa.tuple_(_c.host, _c.node)
_lock_many = (
    _table.update()
    .where(_pair.in_(sa.bindparam("pairs", expanding=True)))
    .values(generation=_c.generation + 1)
)
_lock_many_returning = _lock_many.returning(*(_c[name] for name in COLUMNS))
_select_many = _select.where(_pair.in_(sa.bindparam("pairs", expanding=True)))


def lock_many(
    ctx: "RequestContext", nodes: list[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """``lock`` for many nodes with one statement (a batch of claims).

    The database locks them in the order it finds them, not the global
    order single claims use; a deadlock with a concurrent multi-node claim
    is then possible, and the database breaks it by aborting one
    transaction, which is run again whole (``reqspec.db.transactions``).
    """
    params = {"pairs": nodes}
    if ctx.connection.dialect.update_returning:
        rows = ctx.connection.execute(_lock_many_returning, params).all()
    else:
        ctx.connection.execute(_lock_many, params)
        rows = ctx.connection.execute(_select_many, params).all()
    found = {(r.host, r.node): _row(r) for r in rows}
    for host, node in nodes:
        if (host, node) not in found:
            raise exception.ComputeHostNotFound(
                host=host, node=node, database=ctx.database
            )
    return found
