"""Statements that filter on lists of values, built per list length.

An expanding ``IN`` parameter is rendered again on every execution (the
compiled statement gets one placeholder per value, each processed and
bound on its own), which for a call on one server costs more than the
rest of the statement's client side, and for a list of a thousand values
a microsecond a value. A ``ListStatement`` is defined once, with
``match(name, column)`` wherever a column is compared with the list
``name``; ``bind`` picks the statement the values need, built once:

* a list of one value compares with ``=`` (or ``!=``);
* a longer list is one parameter where the database can take the whole
  list in one: a PostgreSQL array (``= ANY``, or ``!= ALL``), or a JSON
  array read back by SQLite's ``json_each`` (``IN (SELECT value ...)``);
  so the statement is compiled once and cached like any other;
* elsewhere (MySQL, MariaDB), an expanding ``IN`` (or ``NOT IN``).
"""

from collections.abc import Callable
from collections.abc import Sequence
import json
from typing import Any
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


class Match(Protocol):
    """``column`` compared with the list ``name`` (or, ``negate``d, with
    none of its values)."""

    def __call__(
        self, name: str, column: Any, *, negate: bool = False
    ) -> sa.ColumnElement[bool]: ...


#: How a dialect takes a list of values as one parameter (see above).
_ARRAY, _JSON, _EXPANDING = "array", "json", "expanding"

#: SQLite has its JSON functions built in from 3.38 on.
_SQLITE_JSON = (3, 38)


def _list_form(dialect: sa.Dialect) -> str:
    if dialect.name == "postgresql":
        return _ARRAY
    if dialect.name == "sqlite":
        version = getattr(dialect.dbapi, "sqlite_version_info", (0,))
        if version >= _SQLITE_JSON:
            return _JSON
    return _EXPANDING


def _compare(
    form: str, name: str, column: Any, negate: bool
) -> sa.ColumnElement[bool]:
    """``column`` compared with the many values of list ``name``."""
    if form == _ARRAY:
        array: Any = sa.bindparam(name, type_=postgresql.ARRAY(column.type))
        return column != sa.all_(array) if negate else column == sa.any_(array)
    values: Any
    if form == _JSON:
        values = sa.select(
            sa.func.json_each(sa.bindparam(name)).table_valued("value").c.value
        )
    else:
        values = sa.bindparam(name, expanding=True)
    return column.not_in(values) if negate else column.in_(values)


class ListStatement:
    """One statement definition, built per set of single-value lists and
    per form of the others."""

    def __init__(self, build: Callable[[Match], Any]) -> None:
        self._build = build
        # Keyed by the names of the lists holding one value and the form
        # of the others. Two threads may both build a missing variant;
        # either result serves.
        self._built: dict[tuple[frozenset[str], str], Any] = {}

    def statement(self, single: frozenset[str], form: str = _EXPANDING) -> Any:
        """The statement where the lists in ``single`` hold one value and
        the others are taken in ``form``."""
        stmt = self._built.get((single, form))
        if stmt is None:

            def match(
                name: str, column: Any, *, negate: bool = False
            ) -> sa.ColumnElement[bool]:
                if name in single:
                    value: sa.BindParameter[Any] = sa.bindparam(name)
                    return column != value if negate else column == value
                return _compare(form, name, column, negate)

            stmt = self._built[single, form] = self._build(match)
        return stmt

    def bind(
        self,
        dialect: sa.Dialect,
        params: dict[str, Any],
        **lists: Sequence[Any],
    ) -> tuple[Any, dict[str, Any]]:
        """The statement for these lists on ``dialect``, and its
        parameters: ``params`` with each list, in the form the statement
        takes it, or its one value."""
        form = _list_form(dialect)
        single = frozenset(name for name, v in lists.items() if len(v) == 1)
        bound = dict(params)
        for name, values in lists.items():
            if name in single:
                bound[name] = values[0]
            elif form == _JSON:
                bound[name] = json.dumps(list(values))
            else:
                bound[name] = list(values)
        return self.statement(single, form), bound

    def execute(
        self,
        connection: sa.Connection,
        params: dict[str, Any],
        **lists: Sequence[Any],
    ) -> sa.CursorResult[*tuple[Any, ...]]:
        """Run the statement for these lists on ``connection``."""
        stmt, bound = self.bind(connection.dialect, params, **lists)
        return connection.execute(stmt, bound)
