"""Statements on lists of values: `=` for one value, the whole list as
one parameter where the database takes that, an expanding `IN` elsewhere."""

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from reqspec.db import engines
from reqspec.db import value_lists
from tests.conftest import Env

_metadata = sa.MetaData()
_t = sa.Table(
    "value_lists_t",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(10)),
    mysql_charset="utf8mb4",
)
_select = value_lists.ListStatement(
    lambda match: (
        sa.select(_t.c.id)
        .where(match("ids", _t.c.id), match("kinds", _t.c.kind, negate=True))
        .order_by(_t.c.id)
    )
)


class _SQLite:
    """The SQLite driver module, as a dialect holds it, at a version."""

    def __init__(self, version: tuple[int, ...]) -> None:
        self.sqlite_version_info = version


def _sqlite(version: tuple[int, ...] = (3, 45, 1)) -> sa.Dialect:
    dialect = sqlite.dialect()
    dialect.dbapi = _SQLite(version)  # type: ignore[assignment]
    return dialect


def _sql(stmt: Any, dialect: sa.Dialect) -> str:
    return " ".join(str(stmt.compile(dialect=dialect)).split())


def test_one_value_compares_with_equals() -> None:
    dialect = _sqlite()
    stmt, params = _select.bind(dialect, {}, ids=[3], kinds=["even"])
    sql = _sql(stmt, dialect)
    assert "value_lists_t.id = ?" in sql
    assert "value_lists_t.kind != ?" in sql
    assert " IN " not in sql
    assert params == {"ids": 3, "kinds": "even"}


def test_sqlite_takes_a_list_as_one_json_array() -> None:
    dialect = _sqlite()
    stmt, params = _select.bind(dialect, {"x": 1}, ids=(1, 2), kinds=["b"])
    sql = _sql(stmt, dialect)
    assert "value_lists_t.id IN (SELECT anon_1.value FROM json_each(?)" in sql
    assert "value_lists_t.kind != ?" in sql
    assert params == {"x": 1, "ids": "[1, 2]", "kinds": "b"}
    stmt, params = _select.bind(dialect, {}, ids=[1], kinds=["a", "b"])
    assert "value_lists_t.kind NOT IN (SELECT" in _sql(stmt, dialect)
    assert params["kinds"] == '["a", "b"]'


def test_postgresql_takes_a_list_as_one_array() -> None:
    dialect = postgresql.dialect()
    stmt, params = _select.bind(dialect, {}, ids=(1, 2), kinds=["a", "b"])
    sql = _sql(stmt, dialect)
    assert "value_lists_t.id = ANY (%(ids)s::INTEGER[])" in sql
    assert "value_lists_t.kind != ALL (%(kinds)s::VARCHAR(10)[])" in sql
    assert params == {"ids": [1, 2], "kinds": ["a", "b"]}


@pytest.mark.parametrize(
    "dialect", [mysql.dialect(), _sqlite((3, 37, 2))], ids=["mysql", "old"]
)
def test_elsewhere_a_list_is_an_expanding_in(dialect: sa.Dialect) -> None:
    stmt, params = _select.bind(dialect, {}, ids=(1, 2), kinds=["a", "b"])
    sql = " ".join(str(stmt).split())
    assert "value_lists_t.id IN (__[POSTCOMPILE_ids])" in sql
    assert "(value_lists_t.kind NOT IN (__[POSTCOMPILE_kinds]))" in sql
    assert params == {"ids": [1, 2], "kinds": ["a", "b"]}


def test_each_variant_is_built_once() -> None:
    dialect = _sqlite()
    first, _ = _select.bind(dialect, {}, ids=[1], kinds=["a", "b"])
    again, _ = _select.bind(dialect, {}, ids=[2], kinds=["c", "d", "e"])
    other, _ = _select.bind(dialect, {}, ids=[1, 2], kinds=["a", "b"])
    elsewhere, _ = _select.bind(mysql.dialect(), {}, ids=[1], kinds=["a", "b"])
    assert first is again
    assert other is not first and elsewhere is not first


@pytest.fixture
def conn(db: Env) -> Iterator[sa.Connection]:
    """A connection to the test's own backend, holding a small table."""
    engine = engines.database(db.api_url).engine
    _metadata.create_all(engine)
    try:
        with engine.begin() as connection:
            connection.execute(
                _t.insert(),
                [
                    {"id": i, "kind": "odd" if i % 2 else "even"}
                    for i in range(6)
                ],
            )
            yield connection
            connection.execute(_t.delete())
    finally:
        _metadata.drop_all(engine)


@pytest.mark.parametrize(
    "ids,kinds,expected",
    [
        ([3], ["even"], [3]),
        ([3], ["odd"], []),
        ([0, 1, 2, 3], ["odd"], [0, 2]),
        ([1, 2, 5], ["even", "none"], [1, 5]),
        ([], ["odd"], []),
        ([0, 1, 2], [], [0, 1, 2]),
    ],
)
def test_every_variant_selects_the_same_rows(
    conn: sa.Connection, ids: list[int], kinds: list[str], expected: list[int]
) -> None:
    for dialect in (conn.dialect, mysql.dialect()):
        # The form of the connection's own dialect, and the expanding IN.
        stmt, params = _select.bind(dialect, {}, ids=ids, kinds=kinds)
        assert [r[0] for r in conn.execute(stmt, params)] == expected


def test_values_a_json_array_must_escape_come_back_the_same(
    conn: sa.Connection,
) -> None:
    kinds = ['q"uote', "back\\slash", "caf\u00e9", "\u00e9t\u00e9"]
    if conn.dialect.name != "mysql":
        # Escaped as a surrogate pair in JSON. (MySQL takes an expanding
        # IN, and this test table is not set up for four-byte UTF-8.)
        kinds[3] = "\U0001f600"
    for i, kind in enumerate(kinds):
        conn.execute(_t.update().where(_t.c.id == i).values(kind=kind))
    stmt, params = _select.bind(
        conn.dialect, {}, ids=list(range(6)), kinds=kinds
    )
    assert [r[0] for r in conn.execute(stmt, params)] == [4, 5]
    stmt, params = _select.bind(
        conn.dialect, {}, ids=[0, 1, 2, 3, 4], kinds=["x", "y"]
    )
    assert [r[0] for r in conn.execute(stmt, params)] == [0, 1, 2, 3, 4]


def test_execute_runs_the_variant_for_the_connection(
    conn: sa.Connection,
) -> None:
    result = _select.execute(conn, {}, ids=[1, 2, 3, 4], kinds=["odd"])
    assert [r[0] for r in result] == [2, 4]
    result = _select.execute(conn, {}, ids=[4], kinds=["odd", "x"])
    assert [r[0] for r in result] == [4]
