"""SQL of the online data migrations of the ``request_specs`` table.

Each migration has a candidate query (rows that still need fixing, after a
given id, in id order, a batch at a time) and a count of all of them (for
``reqspec-manage upgrade check`` and the progress bar). Candidate queries
are filters on the stored text, so they need no column of their own; they
work because a stored document is canonical JSON: compact, keys sorted, so
``"version"`` is always its last key, and a quote inside a JSON string is
always escaped.

Whatever they select is decided again by the objects layer after parsing
the document; the filters only have to never miss a row that needs work.
"""

from typing import Any
from typing import cast
from typing import TYPE_CHECKING

import sqlalchemy as sa

from reqspec.db import api_models
from reqspec.db import request_specs
from reqspec.db import transactions

if TYPE_CHECKING:
    from reqspec.context import RequestContext

# The API and cell tables are identical (see request_specs).
_table = cast(sa.Table, api_models.RequestSpec.__table__)
_c = _table.c

_COLUMNS = (_c.id, _c.instance_uuid, _c.project_id, _c.generation, _c.spec)

#: Present in a document exactly when its spec has a server group.
HAS_GROUP = '"instance_group":{'


def _version_suffix(version: str) -> str:
    # The end of every canonical document of this version; the leading
    # quote keeps "1.2" from matching "11.2".
    return f',"version":"{version}"}}'


_not_at_version = sa.not_(
    _c.spec.like(sa.bindparam("suffix_pattern"), escape="\\")
)
_missing_group_uuid = sa.and_(
    _c.instance_group_uuid.is_(None),
    _c.spec.contains(HAS_GROUP, autoescape=True),
)


def _batch_stmt(where: Any) -> sa.Select[Any]:
    return (
        sa.select(*_COLUMNS)
        .where(_c.id > sa.bindparam("after_id"))
        .where(where)
        .order_by(_c.id)
        .limit(sa.bindparam("batch_size"))
    )


_select_not_at_version = _batch_stmt(_not_at_version)
_count_not_at_version = (
    sa.select(sa.func.count()).select_from(_table).where(_not_at_version)
)
_select_missing_group_uuid = _batch_stmt(_missing_group_uuid)
_count_missing_group_uuid = (
    sa.select(sa.func.count()).select_from(_table).where(_missing_group_uuid)
)
_set_group_uuid = (
    _table.update()
    .where(_c.instance_uuid == sa.bindparam("match_uuid"))
    .where(_c.generation == sa.bindparam("expected_generation"))
    .values(instance_group_uuid=sa.bindparam("group_uuid"))
)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _suffix_pattern(version: str) -> str:
    return "%" + _like_escape(_version_suffix(version))


@transactions.reader
def get_not_at_version(
    ctx: "RequestContext", version: str, after_id: int, batch_size: int
) -> list[request_specs.SpecRow]:
    """Rows after ``after_id`` whose document was written at another
    version than ``version`` (or is not canonical)."""
    result = ctx.connection.execute(
        _select_not_at_version,
        {
            "suffix_pattern": _suffix_pattern(version),
            "after_id": after_id,
            "batch_size": batch_size,
        },
    )
    return [request_specs.SpecRow(*row) for row in result]


@transactions.reader
def count_not_at_version(ctx: "RequestContext", version: str) -> int:
    value = ctx.connection.execute(
        _count_not_at_version, {"suffix_pattern": _suffix_pattern(version)}
    ).scalar()
    return int(value or 0)


@transactions.reader
def get_missing_group_uuid(
    ctx: "RequestContext", after_id: int, batch_size: int
) -> list[request_specs.SpecRow]:
    """Rows after ``after_id`` whose document has a server group but whose
    ``instance_group_uuid`` column is empty."""
    result = ctx.connection.execute(
        _select_missing_group_uuid,
        {"after_id": after_id, "batch_size": batch_size},
    )
    return [request_specs.SpecRow(*row) for row in result]


@transactions.reader
def count_missing_group_uuid(ctx: "RequestContext") -> int:
    value = ctx.connection.execute(_count_missing_group_uuid).scalar()
    return int(value or 0)


@transactions.writer
def set_instance_group_uuid(
    ctx: "RequestContext",
    instance_uuid: str,
    expected_generation: int,
    group_uuid: str,
) -> bool:
    """Fill in the column if the row still holds the document read at
    ``expected_generation``; False (nothing written) if it changed since.

    The generation is not bumped: the document is unchanged, and a writer
    holding it must still be able to save.
    """
    result = ctx.connection.execute(
        _set_group_uuid,
        {
            "match_uuid": instance_uuid,
            "expected_generation": expected_generation,
            "group_uuid": group_uuid,
        },
    )
    return bool(result.rowcount == 1)
