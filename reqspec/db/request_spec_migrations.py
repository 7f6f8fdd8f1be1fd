"""SQL of the online data migrations of the ``request_specs`` table.

Each migration has a candidate query (rows that still need work, after a
given id, in id order, a batch at a time) and a count of all of them (for
``reqspec-manage upgrade check`` and the progress bar). Candidates are
chosen by the ``spec_version`` column, which every writer of a document
fills in with the version it wrote: NULL for rows written before the
column existed, another version than the current one for rows written by
an older release. Nothing here reads the document itself; whatever is
selected is decided again by the objects layer after parsing it.

The upgrade has two stages, and these statements must work at both. A
database of an older release stops at the block revision (api
e677c5eb119f, cell 01df52b77620) until every spec with a server group has
its ``instance_group_uuid``: it is then at a revision before
``spec_version`` exists, and ``backfill_instance_group_uuid`` runs there
touching only the columns that release had (``_v1``). ``has_spec_version``
tells the callers which stage a database is at; the ``spec_version``
candidates have no rows before that column exists.
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

# The table as the block revision sees it: no spec_version yet.
_v1 = sa.table(
    "request_specs",
    sa.column("id", sa.Integer),
    sa.column("instance_uuid", sa.String),
    sa.column("project_id", sa.String),
    sa.column("generation", sa.Integer),
    sa.column("spec", sa.Text),
    sa.column("instance_group_uuid", sa.String),
)
_v1c = _v1.c

_unversioned = _c.spec_version.is_(None)
_at_other_version = sa.and_(
    _c.spec_version.is_not(None),
    _c.spec_version != sa.bindparam("version"),
)


def _batch_stmt(where: Any) -> sa.Select[Any]:
    return (
        sa.select(*request_specs.COLUMNS)
        .where(_c.id > sa.bindparam("after_id"))
        .where(where)
        .order_by(_c.id)
        .limit(sa.bindparam("batch_size"))
    )


def _count_stmt(where: Any) -> sa.Select[Any]:
    return sa.select(sa.func.count()).select_from(_table).where(where)


# Without a group uuid and (at head) without a version: rows of older
# releases only, since current writers fill in both columns. A row of a
# spec without a group matches too; the objects layer tells after parsing.
_select_missing_group_uuid = _batch_stmt(
    sa.and_(_c.instance_group_uuid.is_(None), _unversioned)
)
_select_missing_group_uuid_v1 = (
    sa.select(*_v1c)
    .where(_v1c.id > sa.bindparam("after_id"))
    .where(_v1c.instance_group_uuid.is_(None))
    .order_by(_v1c.id)
    .limit(sa.bindparam("batch_size"))
)
_set_group_uuid = (
    _v1.update()
    .where(_v1c.instance_uuid == sa.bindparam("match_uuid"))
    .where(_v1c.generation == sa.bindparam("expected_generation"))
    .values(instance_group_uuid=sa.bindparam("group_uuid"))
)
_select_unversioned = _batch_stmt(_unversioned)
_count_unversioned = _count_stmt(_unversioned)
_select_at_other_version = _batch_stmt(_at_other_version)
_count_at_other_version = _count_stmt(_at_other_version)
_set_columns = (
    _table.update()
    .where(_c.instance_uuid == sa.bindparam("match_uuid"))
    .where(_c.generation == sa.bindparam("expected_generation"))
    .values(
        instance_group_uuid=sa.bindparam("group_uuid"),
        spec_version=sa.bindparam("new_spec_version"),
    )
)


@transactions.reader
def has_spec_version(ctx: "RequestContext") -> bool:
    """Whether the database is past the revision adding ``spec_version``
    (api 7c3e5a91d2f8, cell 9a4d2b6e0c17).

    One catalog query (a PRAGMA on SQLite); the online migrations ask
    once per run and database (their cursor keeps the answer), the counts
    once per call.
    """
    columns = sa.inspect(ctx.connection).get_columns(_table.name)
    return any(column["name"] == "spec_version" for column in columns)


@transactions.reader
def get_missing_group_uuid(
    ctx: "RequestContext", after_id: int, batch_size: int, versioned: bool
) -> list[request_specs.SpecRow]:
    """Rows after ``after_id`` with an empty ``instance_group_uuid`` that
    an older release wrote (``versioned``: the database has
    ``spec_version``, see ``has_spec_version``, and it is NULL too)."""
    result = ctx.connection.execute(
        _select_missing_group_uuid
        if versioned
        else _select_missing_group_uuid_v1,
        {"after_id": after_id, "batch_size": batch_size},
    )
    return [request_specs.SpecRow(*row) for row in result]


@transactions.writer
def set_instance_group_uuid(
    ctx: "RequestContext",
    instance_uuid: str,
    expected_generation: int,
    group_uuid: str,
) -> bool:
    """Fill in ``instance_group_uuid`` alone (so at either stage) if the
    row still holds the document read at ``expected_generation``; False
    (nothing written) if it changed since. The generation is not bumped
    (see ``set_columns``)."""
    result = ctx.connection.execute(
        _set_group_uuid,
        {
            "match_uuid": instance_uuid,
            "expected_generation": expected_generation,
            "group_uuid": group_uuid,
        },
    )
    return bool(result.rowcount == 1)


@transactions.reader
def get_unversioned(
    ctx: "RequestContext", after_id: int, batch_size: int
) -> list[request_specs.SpecRow]:
    """Rows after ``after_id`` written before ``spec_version`` existed."""
    result = ctx.connection.execute(
        _select_unversioned, {"after_id": after_id, "batch_size": batch_size}
    )
    return [request_specs.SpecRow(*row) for row in result]


@transactions.reader
def count_unversioned(ctx: "RequestContext") -> int:
    value = ctx.connection.execute(_count_unversioned).scalar()
    return int(value or 0)


@transactions.reader
def get_at_other_version(
    ctx: "RequestContext", version: str, after_id: int, batch_size: int
) -> list[request_specs.SpecRow]:
    """Rows after ``after_id`` whose writer stated another version than
    ``version``."""
    result = ctx.connection.execute(
        _select_at_other_version,
        {"version": version, "after_id": after_id, "batch_size": batch_size},
    )
    return [request_specs.SpecRow(*row) for row in result]


@transactions.reader
def count_at_other_version(ctx: "RequestContext", version: str) -> int:
    value = ctx.connection.execute(
        _count_at_other_version, {"version": version}
    ).scalar()
    return int(value or 0)


@transactions.writer
def set_columns(
    ctx: "RequestContext",
    instance_uuid: str,
    expected_generation: int,
    group_uuid: str | None,
    spec_version: str,
) -> bool:
    """Fill in ``instance_group_uuid`` and ``spec_version`` if the row
    still holds the document read at ``expected_generation``; False
    (nothing written) if it changed since.

    The generation is not bumped: the document is unchanged, and a writer
    holding it must still be able to save.
    """
    result = ctx.connection.execute(
        _set_columns,
        {
            "match_uuid": instance_uuid,
            "expected_generation": expected_generation,
            "group_uuid": group_uuid,
            "new_spec_version": spec_version,
        },
    )
    return bool(result.rowcount == 1)
