"""SQL for ``compute_nodes``, called directly, checked against the table."""

from typing import Any
from typing import cast

from oslo_utils import uuidutils
import pytest
import sqlalchemy as sa

from reqspec import exception
from reqspec.context import RequestContext
from reqspec.db import cell_models
from reqspec.db import compute_nodes
from reqspec.db import engines
from reqspec.db import transactions
from tests.conftest import Env

TABLE = cast(sa.Table, cell_models.ComputeNode.__table__)


def stored(env: Env, cell: int = 0) -> dict[str, tuple[Any, ...]]:
    """host -> (vcpus, aggregates as stored, generation, disabled)."""
    c = TABLE.c
    url = env.cells[cell].database_connection
    with engines.database(url).engine.connect() as conn:
        rows = conn.execute(
            sa.select(c.host, c.vcpus, c.aggregates, c.generation, c.disabled)
        )
        return {r[0]: (r[1], r[2], r[3], bool(r[4])) for r in rows}


def values(host: str, **extra: Any) -> dict[str, Any]:
    return {
        "uuid": uuidutils.generate_uuid(),
        "host": host,
        "node": host,
        "vcpus": 4,
        "memory_mb": 4096,
        "local_gb": 40,
        "cpu_allocation_ratio": 1.0,
        "ram_allocation_ratio": 1.0,
        "disk_allocation_ratio": 1.0,
        "aggregates": ["b", "a"],
        "disabled": False,
        "forced_down": False,
        **extra,
    }


def test_create_and_update(db: Env) -> None:
    ctx = db.cell_context(0)
    compute_nodes.create(ctx, values("h1"))
    # Aggregates are stored sorted, as JSON.
    assert stored(db) == {"h1": (4, '["a", "b"]', 1, False)}
    assert stored(db, 1) == {}
    with pytest.raises(exception.ComputeNodeExists):
        compute_nodes.create(ctx, values("h1"))
    compute_nodes.update(ctx, "h1", "h1", {"vcpus": 8, "disabled": True})
    assert stored(db) == {"h1": (8, '["a", "b"]', 2, True)}
    with pytest.raises(exception.ComputeHostNotFound):
        compute_nodes.update(ctx, "h2", "h2", {"vcpus": 1})
    row = compute_nodes.get_by_host_and_node(ctx, "h1", "h1")
    assert row is not None
    assert row["aggregates"] == ["a", "b"] and row["disabled"] is True
    assert compute_nodes.get_by_host_and_node(ctx, "h1", "other") is None
    assert [r["host"] for r in compute_nodes.get_all(ctx)] == ["h1"]


def test_capacity_is_size_times_ratio() -> None:
    node = {
        "vcpus": 4,
        "cpu_allocation_ratio": 1.5,
        "memory_mb": 1000,
        "ram_allocation_ratio": 1.0,
        "local_gb": 10,
        "disk_allocation_ratio": 0.55,
    }
    assert compute_nodes.capacity(node) == compute_nodes.Resources(6, 1000, 5)


@transactions.cell_writer
def _lock(ctx: RequestContext, *pairs: tuple[str, str]) -> Any:
    if len(pairs) == 1:
        return compute_nodes.lock(ctx, *pairs[0])
    return compute_nodes.lock_many(ctx, list(pairs))


def test_locks_bump_the_generation(db: Env) -> None:
    ctx = db.cell_context(0)
    compute_nodes.create(ctx, values("h1"))
    compute_nodes.create(ctx, values("h2"))
    assert _lock(ctx, ("h1", "h1"))["generation"] == 2
    locked = _lock(ctx, ("h1", "h1"), ("h2", "h2"))
    assert {k: v["generation"] for k, v in locked.items()} == {
        ("h1", "h1"): 3,
        ("h2", "h2"): 2,
    }
    assert {h: v[2] for h, v in stored(db).items()} == {"h1": 3, "h2": 2}
    with pytest.raises(exception.ComputeHostNotFound):
        _lock(ctx, ("h3", "h3"))
    with pytest.raises(exception.ComputeHostNotFound):
        _lock(ctx, ("h1", "h1"), ("h3", "h3"))
    # The failed claims were rolled back whole.
    assert {h: v[2] for h, v in stored(db).items()} == {"h1": 3, "h2": 2}
