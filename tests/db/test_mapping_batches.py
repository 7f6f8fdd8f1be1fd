"""SQL for many instance mappings at once, called directly, checked
against the tables."""

from typing import Any
from typing import cast

from oslo_utils import uuidutils
import pytest
import sqlalchemy as sa

from reqspec import exception
from reqspec.db import api_models
from reqspec.db import engines
from reqspec.db import instance_mappings
from reqspec.db import mapping_batches
from reqspec.db import request_specs
from tests.conftest import Env
from tests.db.test_instance_mappings import stored

MAPPINGS = cast(sa.Table, api_models.InstanceMapping.__table__)


def moves(env: Env) -> dict[str, tuple[Any, ...]]:
    """instance uuid -> (move step, target cell id, host, fault)."""
    m = MAPPINGS.c
    with engines.database(env.api_url).engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                m.instance_uuid,
                m.move_step,
                m.move_target_cell_id,
                m.move_host,
                m.fault,
            )
        )
        return {r[0]: tuple(r[1:]) for r in rows}


def unscheduled(env: Env, count: int, spec: bool = False) -> list[str]:
    uuids = [uuidutils.generate_uuid() for _ in range(count)]
    mapping_batches.create_many(
        env.ctx,
        [(u, "p1") for u in uuids],
        then=(
            (
                lambda: request_specs.create_many(
                    env.ctx,
                    [
                        request_specs.SpecRow(0, u, "p1", 0, "{}")
                        for u in uuids
                    ],
                )
            )
            if spec
            else None
        ),
    )
    return uuids


def test_create_many_is_all_or_nothing(db: Env) -> None:
    uuids = unscheduled(db, 3, spec=True)
    assert stored(db) == dict.fromkeys(uuids, ("p1", None, True))
    extra = uuidutils.generate_uuid()
    with pytest.raises(exception.InstanceExists):
        mapping_batches.create_many(db.ctx, [(extra, "p1"), (uuids[0], "p1")])
    assert extra not in stored(db)


def test_builds_are_recorded_then_finished(db: Env) -> None:
    uuids = unscheduled(db, 4, spec=True)
    target = db.cells[0].id
    # One was built meanwhile by someone else: not recorded again.
    assert instance_mappings.update(
        db.ctx, uuids[3], {"cell_id": None}, {"cell_id": target}
    )
    recorded = mapping_batches.record_builds(
        db.ctx,
        [(target, "h1", "h1", uuids[:2]), (target, "h2", "h2", uuids[2:])],
    )
    assert recorded == set(uuids[:3])
    assert moves(db) == {
        uuids[0]: ("recorded", target, "h1", None),
        uuids[1]: ("recorded", target, "h1", None),
        uuids[2]: ("recorded", target, "h2", None),
        uuids[3]: (None, None, None, None),
    }
    # Recording the same builds again finds them recorded as asked.
    assert mapping_batches.record_builds(
        db.ctx, [(target, "h1", "h1", uuids[:2])]
    ) == set(uuids[:2])
    # Not to another target.
    other = db.cells[1].id
    assert (
        mapping_batches.record_builds(db.ctx, [(other, "h1", "h1", uuids[:1])])
        == set()
    )
    assert mapping_batches.get_states(db.ctx, uuids) == {
        uuids[0]: (None, "recorded"),
        uuids[1]: (None, "recorded"),
        uuids[2]: (None, "recorded"),
        uuids[3]: (target, None),
    }
    # Finished: pointed at the target, record cleared, API spec deleted.
    # The one built by someone else counts as built there too.
    done = mapping_batches.finish_builds(db.ctx, target, uuids)
    assert done == set(uuids)
    assert stored(db) == dict.fromkeys(uuids, ("p1", target, False))
    assert set(moves(db).values()) == {(None, None, None, None)}
    assert mapping_batches.finish_builds(db.ctx, other, uuids[:1]) == set()


def test_faults_only_on_unscheduled_servers(db: Env) -> None:
    uuids = unscheduled(db, 3)
    assert instance_mappings.update(
        db.ctx, uuids[2], {"cell_id": None}, {"cell_id": db.cells[0].id}
    )
    # More uuids than one IN list; the unknown ones are ignored.
    unknown = [
        uuidutils.generate_uuid() for _ in range(request_specs.IN_CHUNK)
    ]
    asked = [uuids[0], *unknown, uuids[1], uuids[2]]
    assert mapping_batches.set_faults(db.ctx, asked, "no host") == 2
    assert {u: f[3] for u, f in moves(db).items()} == {
        uuids[0]: "no host",
        uuids[1]: "no host",
        uuids[2]: None,
    }
    assert mapping_batches.get_states(db.ctx, asked) == {
        uuids[0]: (None, None),
        uuids[1]: (None, None),
        uuids[2]: (db.cells[0].id, None),
    }
    assert mapping_batches.set_faults(db.ctx, uuids, None) == 2
    assert {f[3] for f in moves(db).values()} == {None}
