"""What a multi-master Galera cluster changes, on the real cluster.

Each node is reached directly here (the suite's other galera tests go
through HAProxy, which keeps every connection on one node): a write
conflict between two nodes is not a lock wait but a certification
failure at COMMIT, and a node may be behind the others when it is read.
"""

from collections.abc import Iterator
import contextlib
from typing import Any

import pytest
import sqlalchemy as sa

from reqspec import context
from reqspec import exception
from reqspec import objects
from reqspec.db import engines
from reqspec.db import transactions
from tests.conftest import Env
from tests.fixtures import galera
from tests.fixtures import spec_worker

pytestmark = [pytest.mark.backends(), pytest.mark.galera]

UUID = "6b1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"


def _on_node(db: Env, node: int) -> context.RequestContext:
    """The admin context aimed at cell 1's database on one node."""
    url = galera.node_url(db.cells[0].database_connection, node)
    cell = objects.CellMapping(
        db.ctx,
        uuid=db.cells[0].uuid,
        name=f"cell1-node{node}",
        database_connection=url,
    )
    with context.target_cell(db.ctx, cell) as cctx:
        return cctx


@contextlib.contextmanager
def _before_commit_on(
    ctx: context.RequestContext, hook: Any
) -> Iterator[None]:
    """Run ``hook()`` once, just before the next COMMIT through ``ctx``'s
    database (after its transaction did all its work)."""
    assert ctx.cell is not None
    url = ctx.cell.database_connection
    # The engine the context's transactions run on: its settings' own.
    engine = engines.database(
        url, ctx.settings.database.engine_for(url)
    ).engine
    fired: list[bool] = []

    def before_commit(conn: Any) -> None:
        if not fired:
            fired.append(True)
            hook()

    sa.event.listen(engine, "commit", before_commit)
    try:
        yield
    finally:
        sa.event.remove(engine, "commit", before_commit)
    assert fired, "nothing was committed"


def test_a_certification_failure_at_commit_reruns_the_transaction(
    db: Env,
) -> None:
    node0, node1 = _on_node(db, 0), _on_node(db, 1)
    spec_worker.new_spec(node0, UUID).create()
    bump = sa.text(
        "UPDATE request_specs SET generation = generation + :n "
        "WHERE instance_uuid = :uuid"
    )
    attempts: list[int] = []

    @transactions.cell_writer
    def add_ten(ctx: context.RequestContext) -> None:
        attempts.append(1)
        ctx.connection.execute(bump, {"n": 10, "uuid": UUID})

    def other_node_commits_first() -> None:
        # Node 1 changes the same row and commits; node 0's transaction,
        # still open, loses certification when it commits.
        url = node1.cell.database_connection  # type: ignore[union-attr]
        other = sa.create_engine(url, poolclass=sa.pool.NullPool)
        with other.begin() as conn:
            # Wait until the spec created through node 0 is here.
            conn.exec_driver_sql("SET SESSION wsrep_sync_wait = 3")
            assert conn.execute(bump, {"n": 1, "uuid": UUID}).rowcount == 1
        other.dispose()

    aborted = transactions.aborted_attempts()
    with _before_commit_on(node0, other_node_commits_first):
        add_ten(node0)
    assert len(attempts) >= 2, "the conflict did not abort the first attempt"
    assert transactions.aborted_attempts() - aborted == len(attempts) - 1
    # Both changes are in, each once, seen from the third node.
    spec = objects.RequestSpec.get_by_instance_uuid(_on_node(db, 2), UUID)
    assert spec.generation == 1 + 1 + 10


def test_a_save_that_loses_certification_is_a_conflict(db: Env) -> None:
    node0, node1 = _on_node(db, 0), _on_node(db, 1)
    spec_worker.new_spec(node0, UUID).create()
    mine = objects.RequestSpec.get_by_instance_uuid(node0, UUID)
    mine.availability_zone = "saved-through-node0"

    def other_node_saves_first() -> None:
        theirs = objects.RequestSpec.get_by_instance_uuid(node1, UUID)
        theirs.availability_zone = "saved-through-node1"
        theirs.save()

    with (
        _before_commit_on(node0, other_node_saves_first),
        pytest.raises(exception.RequestSpecConflict),
    ):
        mine.save()
    spec = objects.RequestSpec.get_by_instance_uuid(_on_node(db, 2), UUID)
    assert spec.availability_zone == "saved-through-node1"
    assert spec.generation == 2


def test_a_save_through_one_node_is_read_through_the_next(db: Env) -> None:
    nodes = [_on_node(db, n) for n in range(galera.NODES)]
    spec_worker.new_spec(nodes[0], UUID).create()
    for i in range(30):
        writer, reader = nodes[i % 3], nodes[(i + 1) % 3]
        spec = objects.RequestSpec.get_by_instance_uuid(writer, UUID)
        spec.availability_zone = f"zone-{i}"
        spec.save()
        seen = objects.RequestSpec.get_by_instance_uuid(reader, UUID)
        assert (seen.availability_zone, seen.generation) == (
            f"zone-{i}",
            i + 2,
        )


def test_a_node_that_cannot_serve_is_unavailable(db: Env) -> None:
    node2 = _on_node(db, 2)
    spec_worker.new_spec(node2, UUID).create()
    admin = sa.create_engine(
        galera.node_admin_urls()[2], poolclass=sa.pool.NullPool
    )
    with admin.connect() as conn:
        # What a node outside the primary component or still joining
        # answers: 1047, "WSREP has not yet prepared node for application
        # use" (or "...rejecting queries"). Node 2 is an HAProxy backup.
        conn.exec_driver_sql("SET GLOBAL wsrep_reject_queries = ALL_KILL")
        try:
            engines.dispose(node2.cell.database_connection)  # type: ignore[union-attr]
            with pytest.raises(exception.DatabaseUnavailable):
                objects.RequestSpec.get_by_instance_uuid(node2, UUID)
        finally:
            conn.exec_driver_sql("SET GLOBAL wsrep_reject_queries = NONE")
    admin.dispose()
    spec = objects.RequestSpec.get_by_instance_uuid(node2, UUID)
    assert spec.instance_uuid == UUID
