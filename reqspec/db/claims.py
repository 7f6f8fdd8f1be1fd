"""Capacity claims (cell database): what the servers of a cell hold on
each node, and the check that a server's new holding fits.

A server holds resources on the node it runs on (``host``/``node``) and,
while a resize waits for confirmation, on its source (``old_*``). Usage
is never stored: it is summed from ``instances`` when asked. Every write
that adds resources to a node is a *claim*: in the writer's transaction
it locks the node (``compute_nodes.lock``), adds up what the other
servers hold there and refuses with ``ComputeResourcesUnavailable`` if
the result would not fit. Concurrent claims on one node are serialised
by the lock, so two schedulers that picked the same host cannot both
fill it. ``reqspec.db.instances`` calls these inside its writers.
"""

from collections.abc import Callable
from collections.abc import Sequence
from typing import Any
from typing import cast
from typing import TYPE_CHECKING

import sqlalchemy as sa

from reqspec import exception
from reqspec.db import cell_models
from reqspec.db import compute_nodes
from reqspec.db import transactions
from reqspec.db import value_lists
from reqspec.db.compute_nodes import Resources

if TYPE_CHECKING:
    from reqspec.context import RequestContext

_table = cast(sa.Table, cell_models.Instance.__table__)
_c = _table.c

Node = tuple[str, str]

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


def held(values: dict[str, Any] | None, node: Node) -> Resources:
    """What one server's row holds on ``node``."""
    total = Resources()
    if values is None:
        return total
    if (values.get("host"), values.get("node")) == node:
        total += Resources(
            values["vcpus"], values["memory_mb"], values["disk_gb"]
        )
    if (values.get("old_host"), values.get("old_node")) == node:
        total += Resources(
            values["old_vcpus"], values["old_memory_mb"], values["old_disk_gb"]
        )
    return total


def _nodes(values: dict[str, Any]) -> list[Node]:
    found: set[Node] = set()
    for h, n in (("host", "node"), ("old_host", "old_node")):
        host, node = values.get(h), values.get(n)
        if host is not None and node is not None:
            found.add((host, node))
    # Sorted: claims lock nodes in one global order, so two claims that
    # touch the same two nodes cannot deadlock.
    return sorted(found)


def _refusal(
    node: Node, want: Resources, used: Resources, limit: Resources
) -> exception.ComputeResourcesUnavailable | None:
    """Why ``want`` does not fit next to ``used`` within ``limit``, or
    None if it does."""
    for field, w, u, cap in zip(
        Resources._fields, want, used, limit, strict=True
    ):
        if u + w > cap:
            unit = compute_nodes.UNITS[field]
            return exception.ComputeResourcesUnavailable(
                host=node[0],
                node=node[1],
                reason=f"needs {w} {unit}, {max(cap - u, 0)} free",
            )
    return None


def claim(
    ctx: "RequestContext",
    uuid: str,
    after: dict[str, Any],
    read_before: Callable[[], dict[str, Any] | None],
) -> dict[str, Any] | None:
    """Lock the nodes ``after`` (server ``uuid``'s new row) holds
    resources on, then read the row as it was (``read_before``, under the
    locks) and check every node on which the server's holding grows.
    Returns what ``read_before`` read. Call it inside a writer."""
    locked = {node: compute_nodes.lock(ctx, *node) for node in _nodes(after)}
    before = read_before()
    for node, row in locked.items():
        new, old = held(after, node), held(before, node)
        if all(n <= o for n, o in zip(new, old, strict=True)):
            continue  # nothing grows here (confirm, revert, rebuild)
        others = _usage(ctx, uuid, node).get(node, (Resources(), 0))[0]
        refused = _refusal(node, new, others, compute_nodes.capacity(row))
        if refused is not None:
            raise refused
    return before


def _held_on(match: value_lists.Match) -> sa.CompoundSelect:
    """What the servers not in the list ``uuids`` hold per node of the
    list ``hosts``, both halves of a resize counted."""
    return sa.union_all(
        *(
            sa.select(
                host_col,
                node_col,
                sa.func.sum(v),
                sa.func.sum(m),
                sa.func.sum(d),
            )
            .where(
                match("hosts", host_col),
                match("uuids", _c.uuid, negate=True),
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


_held_on_hosts = value_lists.ListStatement(_held_on)


def claim_many(
    ctx: "RequestContext", servers: Sequence[dict[str, Any]]
) -> tuple[
    list[dict[str, Any]], dict[str, exception.ComputeResourcesUnavailable]
]:
    """Claim for new servers (rows not written yet), in order: returns
    those that fit and, under its uuid, why each other one does not.
    Call it inside a writer, which then inserts the ones that fit.

    Every node is locked once (one statement) and what the cell's other
    servers hold there is summed once (one query). Servers of the batch
    already in the table are left out of the sums: their insert then
    fails (``InstanceExists``) rather than their claim.
    """
    nodes = sorted({(s["host"], s["node"]) for s in servers})
    if len(nodes) == 1:
        locked = {nodes[0]: compute_nodes.lock(ctx, *nodes[0])}
    else:
        locked = compute_nodes.lock_many(ctx, nodes)
    used = dict.fromkeys(nodes, Resources())
    rows = _held_on_hosts.execute(
        ctx.connection,
        {},
        hosts=sorted({host for host, _ in nodes}),
        uuids=[s["uuid"] for s in servers],
    )
    for host, node, vcpus, memory, disk in rows:
        if (host, node) in used:
            # SUM() comes back as Decimal on MySQL.
            used[host, node] += Resources(int(vcpus), int(memory), int(disk))
    refused: dict[str, exception.ComputeResourcesUnavailable] = {}
    accepted = []
    for values in servers:
        node = (values["host"], values["node"])
        want = held(values, node)
        why = _refusal(
            node, want, used[node], compute_nodes.capacity(locked[node])
        )
        if why is None:
            used[node] += want
            accepted.append(values)
        else:
            refused[values["uuid"]] = why
    return accepted, refused
