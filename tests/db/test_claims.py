"""Capacity claims: usage summed from the servers, and the fit check,
against real tables."""

from typing import Any

import pytest

from reqspec import exception
from reqspec.db import claims
from reqspec.db import compute_nodes
from reqspec.db import instances
from reqspec.db import transactions
from reqspec.db.compute_nodes import Resources
from tests.conftest import Env
from tests.db.test_compute_nodes import stored as nodes_stored
from tests.db.test_compute_nodes import values as node_values
from tests.db.test_instances import server
from tests.db.test_instances import stored


@pytest.fixture
def cell(db: Env) -> Any:
    """cell1, with nodes h1 and h2 of 4 VCPUs, 4096 MiB and 40 GiB."""
    ctx = db.cell_context(0)
    compute_nodes.create(ctx, node_values("h1"))
    compute_nodes.create(ctx, node_values("h2"))
    return ctx


def resized_from_h1(host: str, vcpus: int) -> dict:
    """A server resized from h1 (1 VCPU, 256 MiB, 1 GiB) to ``host``,
    not yet confirmed: both hosts hold it."""
    return server(
        host,
        vcpus=vcpus,
        old_host="h1",
        old_node="h1",
        old_vcpus=1,
        old_memory_mb=256,
        old_disk_gb=1,
    )


def test_usage_counts_both_halves_of_a_resize(db: Env, cell: Any) -> None:
    plain = server("h1", vcpus=1)
    resizing = resized_from_h1("h2", vcpus=2)
    instances.create(cell, plain)
    instances.create(cell, resizing)
    assert claims.usage_by_node(cell) == {
        # The source keeps its claim but does not run the server.
        ("h1", "h1"): (Resources(2, 768, 2), 1),
        ("h2", "h2"): (Resources(2, 512, 1), 1),
    }
    assert claims.usage_by_node(cell, exclude_uuid=resizing["uuid"]) == {
        ("h1", "h1"): (Resources(1, 512, 1), 1)
    }
    assert claims.usage_by_node(db.cell_context(1)) == {}


def test_what_a_row_holds_on_a_node() -> None:
    row = server("h1", vcpus=2, old_host="h1", old_node="h1", old_vcpus=1) | {
        "old_memory_mb": 10,
        "old_disk_gb": 0,
    }
    assert claims.held(row, ("h1", "h1")) == Resources(3, 522, 1)
    assert claims.held(row, ("h2", "h2")) == Resources()
    assert claims.held(None, ("h1", "h1")) == Resources()


@transactions.cell_writer
def _claim(ctx: Any, uuid: str, after: dict, before: dict | None) -> Any:
    return claims.claim(ctx, uuid, after, lambda: before)


def test_a_claim_locks_and_checks_only_what_grows(db: Env, cell: Any) -> None:
    instances.create(cell, server("h1", vcpus=3))
    generations = {h: v[2] for h, v in nodes_stored(db).items()}
    new = server("h1", vcpus=2)
    with pytest.raises(exception.ComputeResourcesUnavailable) as caught:
        _claim(cell, new["uuid"], new, None)
    assert caught.value.message == (
        "Host h1/h1 cannot take the server: needs 2 VCPU, 1 free"
    )
    # A shrinking or unchanged holding is not checked, however full the
    # node (a confirm, a revert, a rebuild in place).
    assert _claim(cell, new["uuid"], new, dict(new, vcpus=5))["vcpus"] == 5
    # The claim's lock bumped h1 only (the failed claim was rolled back).
    after = {h: v[2] for h, v in nodes_stored(db).items()}
    assert after == {"h1": generations["h1"] + 1, "h2": generations["h2"]}
    with pytest.raises(exception.ComputeHostNotFound):
        gone = server("h9")
        _claim(cell, gone["uuid"], gone, None)


@transactions.cell_writer
def _claim_many(ctx: Any, servers: list[dict]) -> Any:
    return claims.claim_many(ctx, servers)


def test_a_single_server_is_claimed_like_a_batch(db: Env, cell: Any) -> None:
    # One server takes a query of its own (no expanding parameters): it
    # must count the same servers, both halves of a resize included, and
    # leave itself out.
    instances.create(cell, server("h1", vcpus=1))
    instances.create(cell, resized_from_h1("h2", vcpus=1))
    too_big = server("h1", vcpus=3)  # 1 + 1 + 3 > 4
    accepted, refused = _claim_many(cell, [too_big])
    assert accepted == []
    assert refused[too_big["uuid"]].message == (
        "Host h1/h1 cannot take the server: needs 3 VCPU, 2 free"
    )
    fits = server("h1", vcpus=2)
    assert _claim_many(cell, [fits]) == ([fits], {})
    # A server already stored is not counted against itself.
    instances.create(cell, fits)
    assert _claim_many(cell, [fits]) == ([fits], {})
    assert _claim_many(cell, [server("h1", vcpus=1)])[0] == []


def test_claim_many_fits_in_order_on_every_node(db: Env, cell: Any) -> None:
    instances.create(cell, server("h2", vcpus=3))
    batch = [
        server("h1", vcpus=3),
        server("h2", vcpus=2),  # 3 + 2 > 4
        server("h1", vcpus=2),  # 3 + 2 > 4
        server("h2", vcpus=1),
        server("h1", vcpus=1),
    ]
    accepted, refused = _claim_many(cell, batch)
    assert accepted == [batch[0], batch[3], batch[4]]
    assert {u: e.message for u, e in refused.items()} == {
        batch[1]["uuid"]: (
            "Host h2/h2 cannot take the server: needs 2 VCPU, 1 free"
        ),
        batch[2]["uuid"]: (
            "Host h1/h1 cannot take the server: needs 2 VCPU, 1 free"
        ),
    }
    # Claiming writes no server: the caller inserts the accepted ones.
    assert len(stored(db)) == 1
