"""Statements that filter on lists of values, built per list length.

An expanding ``IN`` parameter is rendered again on every execution (the
compiled statement gets one placeholder per value), which for a call on
one server costs more than the rest of the statement's client side. A
``ListStatement`` is defined once, with ``match(name, column)`` wherever a
column is compared with the list ``name``; for each combination of lists
that hold one value, it builds (once) the statement where those compare
with ``=`` (or ``!=``) and the others with an expanding ``IN`` (or
``NOT IN``), and ``bind`` picks the one the values need.
"""

from collections.abc import Callable
from collections.abc import Sequence
from typing import Any
from typing import Protocol

import sqlalchemy as sa


class Match(Protocol):
    """``column`` compared with the list ``name`` (or, ``negate``d, with
    none of its values)."""

    def __call__(
        self, name: str, column: Any, *, negate: bool = False
    ) -> sa.ColumnElement[bool]: ...


class ListStatement:
    """One statement definition, built per set of single-value lists."""

    def __init__(self, build: Callable[[Match], Any]) -> None:
        self._build = build
        # Keyed by the names of the lists holding one value. Two threads
        # may both build a missing variant; either result serves.
        self._built: dict[frozenset[str], Any] = {}

    def statement(self, single: frozenset[str]) -> Any:
        """The statement where the lists in ``single`` hold one value."""
        stmt = self._built.get(single)
        if stmt is None:

            def match(
                name: str, column: Any, *, negate: bool = False
            ) -> sa.ColumnElement[bool]:
                if name in single:
                    value: sa.BindParameter[Any] = sa.bindparam(name)
                    return column != value if negate else column == value
                values: sa.BindParameter[Any] = sa.bindparam(
                    name, expanding=True
                )
                return column.not_in(values) if negate else column.in_(values)

            stmt = self._built[single] = self._build(match)
        return stmt

    def bind(
        self, params: dict[str, Any], **lists: Sequence[Any]
    ) -> tuple[Any, dict[str, Any]]:
        """The statement for these lists' lengths, and its parameters:
        ``params`` with each list, or its one value."""
        single = frozenset(name for name, v in lists.items() if len(v) == 1)
        bound = dict(params)
        for name, values in lists.items():
            bound[name] = values[0] if name in single else list(values)
        return self.statement(single), bound
