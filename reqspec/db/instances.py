"""SQL for ``instances`` (cell database): servers, and capacity claims.

A server holds resources on the node it runs on (``host``/``node``) and,
while a resize waits for confirmation, on its source (``old_*``). Every
write that adds resources to a node is a *claim*: in one transaction it
locks the node (``compute_nodes.lock``), adds up what the other servers
hold there and refuses with ``ComputeResourcesUnavailable`` if the result
would not fit. Concurrent claims on one node are serialised by the lock,
so two schedulers that picked the same host cannot both fill it.
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
from reqspec.db import compute_nodes
from reqspec.db import request_specs
from reqspec.db import transactions
from reqspec.db.compute_nodes import Resources

if TYPE_CHECKING:
    from reqspec.context import RequestContext

_table = cast(sa.Table, cell_models.Instance.__table__)
_c = _table.c

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

Node = tuple[str, str]


def _row(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


@transactions.cell_reader
def get_by_uuid(ctx: "RequestContext", uuid: str) -> dict[str, Any] | None:
    row = ctx.connection.execute(_select.where(_c.uuid == uuid)).first()
    return None if row is None else _row(row)


_select_many = _select.where(
    _c.uuid.in_(sa.bindparam("uuids", expanding=True))
)


@transactions.cell_reader
def get_by_uuids(
    ctx: "RequestContext", uuids: list[str]
) -> list[dict[str, Any]]:
    """The servers of ``uuids`` that this cell holds, in no set order."""
    found = []
    for start in range(0, len(uuids), request_specs.IN_CHUNK):
        chunk = uuids[start : start + request_specs.IN_CHUNK]
        result = ctx.connection.execute(_select_many, {"uuids": chunk})
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


_usage_main = (
    sa.select(
        _c.host,
        _c.node,
        sa.func.sum(_c.vcpus),
        sa.func.sum(_c.memory_mb),
        sa.func.sum(_c.disk_gb),
        sa.func.count(),
    )
    .where(_c.host.is_not(None))
    .group_by(_c.host, _c.node)
)
_usage_old = (
    sa.select(
        _c.old_host,
        _c.old_node,
        sa.func.sum(_c.old_vcpus),
        sa.func.sum(_c.old_memory_mb),
        sa.func.sum(_c.old_disk_gb),
        sa.func.count(),
    )
    .where(_c.old_host.is_not(None))
    .group_by(_c.old_host, _c.old_node)
)


def _usage(
    ctx: "RequestContext",
    exclude_uuid: str | None,
    node: Node | None = None,
) -> dict[Node, tuple[Resources, int]]:
    """What servers hold per node, and how many run there."""
    usage: dict[Node, tuple[Resources, int]] = {}
    for stmt, host_col, node_col, counts in (
        (_usage_main, _c.host, _c.node, True),
        (_usage_old, _c.old_host, _c.old_node, False),
    ):
        if exclude_uuid is not None:
            stmt = stmt.where(_c.uuid != exclude_uuid)
        if node is not None:
            stmt = stmt.where(host_col == node[0], node_col == node[1])
        for host, name, vcpus, memory, disk, count in ctx.connection.execute(
            stmt
        ):
            held, running = usage.get((host, name), (Resources(), 0))
            # SUM() comes back as Decimal on MySQL.
            held += Resources(int(vcpus), int(memory), int(disk))
            usage[(host, name)] = (held, running + (count if counts else 0))
    return usage


@transactions.cell_reader
def usage_by_node(
    ctx: "RequestContext", exclude_uuid: str | None = None
) -> dict[Node, tuple[Resources, int]]:
    """Resources held and servers running per (host, node), leaving out
    ``exclude_uuid`` (a server being moved or rebuilt)."""
    return _usage(ctx, exclude_uuid)


def _held(values: dict[str, Any] | None, node: Node) -> Resources:
    """What one server's row holds on ``node``."""
    held = Resources()
    if values is None:
        return held
    if (values.get("host"), values.get("node")) == node:
        held += Resources(
            values["vcpus"], values["memory_mb"], values["disk_gb"]
        )
    if (values.get("old_host"), values.get("old_node")) == node:
        held += Resources(
            values["old_vcpus"], values["old_memory_mb"], values["old_disk_gb"]
        )
    return held


def _nodes(values: dict[str, Any]) -> list[Node]:
    found: set[Node] = set()
    for h, n in (("host", "node"), ("old_host", "old_node")):
        host, node = values.get(h), values.get(n)
        if host is not None and node is not None:
            found.add((host, node))
    # Sorted: claims lock nodes in one global order, so two claims that
    # touch the same two nodes cannot deadlock.
    return sorted(found)


def _claim(
    ctx: "RequestContext",
    uuid: str,
    after: dict[str, Any],
    read_before: Any,
) -> dict[str, Any] | None:
    """Lock the nodes ``after`` holds resources on, then check every node
    on which the server's holding grows. Returns the row as it was."""
    locked = {node: compute_nodes.lock(ctx, *node) for node in _nodes(after)}
    before = read_before()
    for node, row in locked.items():
        new, old = _held(after, node), _held(before, node)
        if all(n <= o for n, o in zip(new, old, strict=True)):
            continue  # nothing grows here (confirm, revert, rebuild)
        others = _usage(ctx, uuid, node).get(node, (Resources(), 0))[0]
        limit = compute_nodes.capacity(row)
        for field, want, used, cap in zip(
            Resources._fields, new, others, limit, strict=True
        ):
            if used + want > cap:
                unit = compute_nodes.UNITS[field]
                raise exception.ComputeResourcesUnavailable(
                    host=node[0],
                    node=node[1],
                    reason=f"needs {want} {unit}, {max(cap - used, 0)} free",
                )
    return before


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

    _claim(ctx, uuid, values, existing)
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
    _claim(ctx, uuid, after, current)
    stmt = _table.update().where(_c.uuid == uuid)
    for name, value in expected.items():
        stmt = stmt.where(_c[name].is_not_distinct_from(value))
    result = ctx.connection.execute(
        stmt.values(updated_at=base.utcnow(), **values)
    )
    if result.rowcount != 1:
        raise exception.InstanceConflict(instance_uuid=uuid, action=action)
    return after


@transactions.cell_writer
def destroy(ctx: "RequestContext", uuid: str) -> None:
    result = ctx.connection.execute(_table.delete().where(_c.uuid == uuid))
    if result.rowcount != 1:
        raise exception.InstanceNotFound(instance_uuid=uuid)


_held_on_hosts = sa.union_all(
    *(
        sa.select(
            host_col, node_col, sa.func.sum(v), sa.func.sum(m), sa.func.sum(d)
        )
        .where(
            host_col.in_(sa.bindparam("hosts", expanding=True)),
            _c.uuid.not_in(sa.bindparam("uuids", expanding=True)),
        )
        .group_by(host_col, node_col)
        for host_col, node_col, v, m, d in (
            (_c.host, _c.node, _c.vcpus, _c.memory_mb, _c.disk_gb),
            (
                _c.old_host,
                _c.old_node,
                _c.old_vcpus,
                _c.old_memory_mb,
                _c.old_disk_gb,
            ),
        )
    )
)


@transactions.cell_writer
def create_many(
    ctx: "RequestContext",
    servers: Sequence[dict[str, Any]],
    specs: Sequence[request_specs.SpecRow],
) -> dict[str, exception.ComputeResourcesUnavailable]:
    """Insert servers, claiming what they hold, and their specs, in one
    transaction: the target half of one or many moves.

    Every node is locked once (one statement), what the cell's
    other servers hold there is summed once (one query), and the
    servers are fitted in order; one that does not fit is left out (with
    the reason returned under its uuid) and so is its spec.
    ``InstanceExists`` or ``RequestSpecExists``, and nothing written, if
    any is already there.
    """
    nodes = sorted({(s["host"], s["node"]) for s in servers})
    if len(nodes) == 1:
        locked = {nodes[0]: compute_nodes.lock(ctx, *nodes[0])}
    else:
        locked = compute_nodes.lock_many(ctx, nodes)
    # Servers of the batch already there are left out of the sums: the
    # insert then fails on them (InstanceExists), rather than the claim.
    used = dict.fromkeys(nodes, Resources())
    for host, node, vcpus, memory, disk in ctx.connection.execute(
        _held_on_hosts,
        {
            "hosts": sorted({host for host, _ in nodes}),
            "uuids": [s["uuid"] for s in servers],
        },
    ):
        if (host, node) in used:
            # SUM() comes back as Decimal on MySQL.
            used[host, node] += Resources(int(vcpus), int(memory), int(disk))
    refused: dict[str, exception.ComputeResourcesUnavailable] = {}
    accepted = []
    for values in servers:
        node = (values["host"], values["node"])
        want = _held(values, node)
        limit = compute_nodes.capacity(locked[node])
        have = used[node]
        for field, w, u, cap in zip(
            Resources._fields, want, have, limit, strict=True
        ):
            if u + w > cap:
                unit = compute_nodes.UNITS[field]
                refused[values["uuid"]] = (
                    exception.ComputeResourcesUnavailable(
                        host=node[0],
                        node=node[1],
                        reason=f"needs {w} {unit}, {max(cap - u, 0)} free",
                    )
                )
                break
        else:
            used[node] = have + want
            accepted.append(values)
    if accepted:
        now = base.utcnow()
        try:
            ctx.connection.execute(
                _table.insert(), [dict(v, created_at=now) for v in accepted]
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
