"""Statements on lists of values: `=` for one value, `IN` for more."""

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from reqspec.db import value_lists

_metadata = sa.MetaData()
_t = sa.Table(
    "t",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(10)),
)
_select = value_lists.ListStatement(
    lambda match: (
        sa.select(_t.c.id)
        .where(match("ids", _t.c.id), match("kinds", _t.c.kind, negate=True))
        .order_by(_t.c.id)
    )
)


@pytest.fixture
def conn() -> Iterator[sa.Connection]:
    engine = sa.create_engine("sqlite://")
    _metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            _t.insert(),
            [{"id": i, "kind": "odd" if i % 2 else "even"} for i in range(6)],
        )
        yield connection
    engine.dispose()


def _sql(stmt: object) -> str:
    return str(stmt).replace("\n", " ")


def test_one_value_compares_with_equals() -> None:
    stmt, params = _select.bind({}, ids=[3], kinds=["even"])
    assert "t.id = :ids" in _sql(stmt) and "t.kind != :kinds" in _sql(stmt)
    assert " IN " not in _sql(stmt)
    assert params == {"ids": 3, "kinds": "even"}


def test_more_values_use_expanding_in_each_list_on_its_own() -> None:
    stmt, params = _select.bind({"x": 1}, ids=(1, 2), kinds=["even"])
    assert "t.id IN (__[POSTCOMPILE_ids])" in _sql(stmt)
    assert "t.kind != :kinds" in _sql(stmt)
    assert params == {"x": 1, "ids": [1, 2], "kinds": "even"}
    stmt, _ = _select.bind({}, ids=[1], kinds=["a", "b"])
    assert "t.id = :ids" in _sql(stmt)
    assert "(t.kind NOT IN (__[POSTCOMPILE_kinds]))" in _sql(stmt)


def test_each_variant_is_built_once() -> None:
    first, _ = _select.bind({}, ids=[1], kinds=["a", "b"])
    again, _ = _select.bind({}, ids=[2], kinds=["c", "d", "e"])
    other, _ = _select.bind({}, ids=[1, 2], kinds=["a", "b"])
    assert first is again and other is not first


@pytest.mark.parametrize(
    "ids,kinds,expected",
    [
        ([3], ["even"], [3]),
        ([3], ["odd"], []),
        ([0, 1, 2, 3], ["odd"], [0, 2]),
        ([1, 2, 5], ["even", "none"], [1, 5]),
        ([], ["odd"], []),
    ],
)
def test_every_variant_selects_the_same_rows(
    conn: sa.Connection, ids: list[int], kinds: list[str], expected: list[int]
) -> None:
    stmt, params = _select.bind({}, ids=ids, kinds=kinds)
    assert [r[0] for r in conn.execute(stmt, params)] == expected
