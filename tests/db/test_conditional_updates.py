"""The conditional UPDATE of one row, run against a real table."""

from typing import Any
from typing import cast

from oslo_utils import uuidutils
import sqlalchemy as sa

from reqspec.db import api_models
from reqspec.db import conditional_updates
from reqspec.db import instance_mappings
from reqspec.db import transactions
from tests.conftest import Env

TABLE = cast(sa.Table, api_models.InstanceMapping.__table__)


@transactions.api_writer
def _run(
    ctx: Any, uuid: str, expected: dict[str, Any], values: dict[str, Any]
) -> int:
    stmt, params = conditional_updates.statement(
        TABLE, "instance_uuid", uuid, expected, values
    )
    return int(ctx.connection.execute(stmt, params).rowcount)


def _row(db: Env, uuid: str) -> dict[str, Any]:
    row = instance_mappings.get_by_instance_uuid(db.ctx, uuid)
    assert row is not None
    return row


def test_each_kind_of_expected_value(db: Env) -> None:
    uuid = uuidutils.generate_uuid()
    other = uuidutils.generate_uuid()
    instance_mappings.create(db.ctx, uuid, "p1")
    instance_mappings.create(db.ctx, other, "p1")
    cell = db.cells[0].id
    # None matches NULL only; a value matches itself only.
    assert _run(db.ctx, uuid, {"cell_id": cell}, {"fault": "x"}) == 0
    assert (
        _run(db.ctx, uuid, {"cell_id": None}, {"move_step": "recorded"}) == 1
    )
    assert _run(db.ctx, uuid, {"move_step": None}, {"fault": "x"}) == 0
    assert _run(db.ctx, uuid, {"move_step": "written"}, {"fault": "x"}) == 0
    assert (
        _run(db.ctx, uuid, {"move_step": "recorded"}, {"cell_id": cell}) == 1
    )
    # A tuple: any of its values.
    assert _run(db.ctx, uuid, {"move_step": ("written", "mapped")}, {}) == 0
    assert (
        _run(
            db.ctx,
            uuid,
            {"move_step": ("written", "recorded"), "cell_id": cell},
            {"move_step": None, "fault": "done"},
        )
        == 1
    )
    row = _row(db, uuid)
    assert (row["move_step"], row["fault"], row["cell"]["id"]) == (
        None,
        "done",
        cell,
    )
    # Only the named row changes.
    untouched = _row(db, other)
    assert (untouched["move_step"], untouched["fault"]) == (None, None)


def test_updated_at_is_set() -> None:
    stmt, params = conditional_updates.statement(
        TABLE, "instance_uuid", "u", {"cell_id": None}, {"fault": "x"}
    )
    assert "updated_at" in str(stmt) and params["now"] is not None
    assert params["new_fault"] == "x" and params["match_key"] == "u"


def test_built_once_per_shape() -> None:
    def build(expected: dict[str, Any], values: dict[str, Any]) -> Any:
        return conditional_updates.statement(
            TABLE, "instance_uuid", uuidutils.generate_uuid(), expected, values
        )[0]

    first = build({"cell_id": 1, "move_step": None}, {"fault": "a"})
    # Other values of the same shape: the very same statement.
    assert build({"cell_id": 7, "move_step": None}, {"fault": "b"}) is first
    # Another shape (NULL instead of a value, a tuple, other columns):
    # another statement.
    assert build({"cell_id": None, "move_step": None}, {"fault": "a"}) is not (
        first
    )
    assert build(
        {"cell_id": (1, 2), "move_step": None}, {"fault": "a"}
    ) is not (first)
    assert build({"cell_id": 1, "move_step": None}, {"cell_id": 2}) is not (
        first
    )
