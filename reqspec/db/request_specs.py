"""SQL for the ``request_specs`` table (in whichever database the context
addresses).

Rows go in and out as plain values; turning documents into objects is the
objects layer's job. Statements are built once at import and reused, so a
call pays for no statement construction, only for SQLAlchemy's cached
compile lookup.

``project_id`` arguments restrict a statement to one project; callers pass
None for an admin context. A row of another project is then simply not
found, which is how project isolation stays leak-free.
"""

from collections.abc import Iterator
from collections.abc import Sequence
import datetime
from typing import Any
from typing import cast
from typing import NamedTuple
from typing import TYPE_CHECKING

from oslo_db import exception as db_exc
import sqlalchemy as sa

from reqspec import exception
from reqspec.db import api_models
from reqspec.db import base
from reqspec.db import transactions
from reqspec.db import value_lists

if TYPE_CHECKING:
    from reqspec.context import RequestContext

# The API and cell tables are built from one mixin and are identical;
# statements compiled against this one run unchanged on both databases.
_table = cast(sa.Table, api_models.RequestSpec.__table__)
_c = _table.c

#: Largest number of uuids sent in one IN (...) list.
IN_CHUNK = 10_000


class SpecRow(NamedTuple):
    id: int
    instance_uuid: str
    project_id: str | None
    generation: int
    # bytes only for text SQLite holds that is not valid UTF-8: a damaged
    # row, refused by the objects layer (see base.LargeText).
    spec: str
    instance_group_uuid: str | None = None
    # The version the document was written at, as the writer stated it;
    # None for rows written before the column existed.
    spec_version: str | None = None


#: Every column a SpecRow holds, in its order.
COLUMNS = (
    _c.id,
    _c.instance_uuid,
    _c.project_id,
    _c.generation,
    _c.spec,
    _c.instance_group_uuid,
    _c.spec_version,
)

_select_one = sa.select(*COLUMNS).where(
    _c.instance_uuid == sa.bindparam("instance_uuid")
)
_select_one_in_project = _select_one.where(
    _c.project_id == sa.bindparam("project_id")
)
_select_many = value_lists.ListStatement(
    lambda match: sa.select(*COLUMNS).where(match("uuids", _c.instance_uuid))
)
_select_many_in_project = value_lists.ListStatement(
    lambda match: sa.select(*COLUMNS).where(
        match("uuids", _c.instance_uuid),
        _c.project_id == sa.bindparam("project_id"),
    )
)
_insert = _table.insert()
_update_document = (
    _table.update()
    .where(_c.instance_uuid == sa.bindparam("match_uuid"))
    .where(_c.generation == sa.bindparam("expected_generation"))
    .values(
        spec=sa.bindparam("new_spec"),
        generation=_c.generation + 1,
        updated_at=sa.bindparam("now"),
    )
)
# Setting an indexed column, even to its old value, rewrites its index
# entry: a quarter more time per save on SQLite. Only this one does.
_update = _update_document.values(
    project_id=sa.bindparam("new_project_id"),
    instance_group_uuid=sa.bindparam("new_group_uuid"),
    spec_version=sa.bindparam("new_spec_version"),
)
_UPDATES = {
    (document_only, in_project): (
        stmt.where(_c.project_id == sa.bindparam("match_project_id"))
        if in_project
        else stmt
    )
    for document_only, stmt in ((True, _update_document), (False, _update))
    for in_project in (False, True)
}
_delete = _table.delete().where(
    _c.instance_uuid == sa.bindparam("instance_uuid")
)
_delete_in_project = _delete.where(_c.project_id == sa.bindparam("project_id"))
_generation_of = sa.select(_c.generation).where(
    _c.instance_uuid == sa.bindparam("instance_uuid")
)
_generation_of_in_project = _generation_of.where(
    _c.project_id == sa.bindparam("project_id")
)


def _row(row: Any) -> SpecRow:
    return SpecRow(*row)


@transactions.reader
def get_by_instance_uuid(
    ctx: "RequestContext", instance_uuid: str, project_id: str | None = None
) -> SpecRow | None:
    if project_id is None:
        result = ctx.connection.execute(
            _select_one, {"instance_uuid": instance_uuid}
        )
    else:
        result = ctx.connection.execute(
            _select_one_in_project,
            {"instance_uuid": instance_uuid, "project_id": project_id},
        )
    row = result.first()
    return None if row is None else _row(row)


@transactions.reader
def get_by_instance_uuids(
    ctx: "RequestContext",
    instance_uuids: Sequence[str],
    project_id: str | None = None,
) -> list[SpecRow]:
    """Rows for the given uuids (missing ones are skipped), in one query
    per ``IN_CHUNK`` uuids."""
    rows: list[SpecRow] = []
    if project_id is None:
        select, params = _select_many, {}
    else:
        select, params = _select_many_in_project, {"project_id": project_id}
    for start in range(0, len(instance_uuids), IN_CHUNK):
        chunk = instance_uuids[start : start + IN_CHUNK]
        # all() fetches in one call; iterating would fetch row by row.
        result = select.execute(ctx.connection, params, uuids=chunk).all()
        rows.extend([SpecRow(*r) for r in result])
    return rows


@transactions.writer
def create(
    ctx: "RequestContext",
    instance_uuid: str,
    project_id: str | None,
    spec: str,
    instance_group_uuid: str | None = None,
    created_at: datetime.datetime | None = None,
    updated_at: datetime.datetime | None = None,
    spec_version: str | None = None,
) -> SpecRow:
    """Insert a row at generation 1; ``RequestSpecExists`` if the instance
    already has one (the unique key decides, so racing creators get exactly
    one row). The timestamps default to now; an import passes the source's.
    ``spec_version`` is the version ``spec`` was written at (the caller
    knows it; this layer never reads the document).
    """
    generation = 1
    try:
        result = ctx.connection.execute(
            _insert,
            {
                "instance_uuid": instance_uuid,
                "project_id": project_id,
                "instance_group_uuid": instance_group_uuid,
                "generation": generation,
                "spec": spec,
                "spec_version": spec_version,
                "created_at": created_at or base.utcnow(),
                "updated_at": updated_at,
            },
        )
    except db_exc.DBDuplicateEntry as err:
        raise exception.RequestSpecExists(instance_uuid=instance_uuid) from err
    row_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    return SpecRow(
        row_id,
        instance_uuid,
        project_id,
        generation,
        spec,
        instance_group_uuid,
        spec_version,
    )


@transactions.writer
def create_many(ctx: "RequestContext", rows: Sequence[SpecRow]) -> None:
    """Insert the rows (their ``id`` and ``generation`` are ignored: new
    rows start at generation 1) in one statement; ``RequestSpecExists``
    and nothing written if any instance already has one."""
    if not rows:
        return
    now = base.utcnow()
    try:
        ctx.connection.execute(
            _insert,
            [
                {
                    "instance_uuid": row.instance_uuid,
                    "project_id": row.project_id,
                    "instance_group_uuid": row.instance_group_uuid,
                    "generation": 1,
                    "spec": row.spec,
                    "spec_version": row.spec_version,
                    "created_at": now,
                }
                for row in rows
            ],
        )
    except db_exc.DBDuplicateEntry as err:
        raise exception.RequestSpecExists(
            instance_uuid=rows[0].instance_uuid
            if len(rows) == 1
            else "one of " + ", ".join(r.instance_uuid for r in rows[:3])
        ) from err


@transactions.writer
def update(
    ctx: "RequestContext",
    instance_uuid: str,
    expected_generation: int,
    project_id: str | None,
    spec: str,
    match_project_id: str | None = None,
    instance_group_uuid: str | None = None,
    stored_columns: tuple[str | None, str | None, str | None] | None = None,
    spec_version: str | None = None,
) -> int:
    """Replace the document if the row is still at ``expected_generation``.

    ``stored_columns`` is the row's (project_id, instance_group_uuid,
    spec_version) as last read or written, if known; when the new values
    are the same, the columns are left alone.

    Returns the new generation. ``RequestSpecConflict`` if someone saved in
    between, ``RequestSpecNotFound`` if the row is gone (or belongs to
    another project); in both cases nothing is written.
    """
    params: dict[str, Any] = {
        "match_uuid": instance_uuid,
        "expected_generation": expected_generation,
        "new_spec": spec,
        "now": base.utcnow(),
    }
    columns = (project_id, instance_group_uuid, spec_version)
    document_only = stored_columns == columns
    if not document_only:
        params["new_project_id"] = project_id
        params["new_group_uuid"] = instance_group_uuid
        params["new_spec_version"] = spec_version
    if match_project_id is not None:
        params["match_project_id"] = match_project_id
    stmt = _UPDATES[document_only, match_project_id is not None]
    result = ctx.connection.execute(stmt, params)
    if result.rowcount == 1:
        return expected_generation + 1
    if _generation(ctx, instance_uuid, match_project_id) is None:
        raise exception.RequestSpecNotFound(instance_uuid=instance_uuid)
    raise exception.RequestSpecConflict(
        instance_uuid=instance_uuid, expected=expected_generation
    )


def _generation(
    ctx: "RequestContext", instance_uuid: str, project_id: str | None
) -> int | None:
    if project_id is None:
        stmt, params = _generation_of, {"instance_uuid": instance_uuid}
    else:
        stmt = _generation_of_in_project
        params = {"instance_uuid": instance_uuid, "project_id": project_id}
    value: int | None = ctx.connection.execute(stmt, params).scalar()
    return value


@transactions.writer
def destroy(
    ctx: "RequestContext", instance_uuid: str, project_id: str | None = None
) -> None:
    if project_id is None:
        result = ctx.connection.execute(
            _delete, {"instance_uuid": instance_uuid}
        )
    else:
        result = ctx.connection.execute(
            _delete_in_project,
            {"instance_uuid": instance_uuid, "project_id": project_id},
        )
    if result.rowcount != 1:
        raise exception.RequestSpecNotFound(instance_uuid=instance_uuid)


_delete_many = value_lists.ListStatement(
    lambda match: _table.delete().where(match("uuids", _c.instance_uuid))
)


@transactions.writer
def destroy_many(ctx: "RequestContext", instance_uuids: Sequence[str]) -> int:
    """Delete the specs of the given instances that exist (an admin's
    cleanup: no project restriction); returns how many were deleted."""
    deleted = 0
    for start in range(0, len(instance_uuids), IN_CHUNK):
        chunk = instance_uuids[start : start + IN_CHUNK]
        deleted += _delete_many.execute(
            ctx.connection, {}, uuids=chunk
        ).rowcount
    return deleted


_select_batch = (
    sa.select(*COLUMNS)
    .where(_c.id > sa.bindparam("after_id"))
    .order_by(_c.id)
    .limit(sa.bindparam("batch_size"))
)
_select_batch_in_project = _select_batch.where(
    _c.project_id == sa.bindparam("project_id")
)


@transactions.reader
def _batch_after(
    ctx: "RequestContext",
    after_id: int,
    batch_size: int,
    project_id: str | None,
) -> list[SpecRow]:
    params: dict[str, Any] = {"after_id": after_id, "batch_size": batch_size}
    if project_id is None:
        stmt = _select_batch
    else:
        stmt = _select_batch_in_project
        params["project_id"] = project_id
    return [_row(r) for r in ctx.connection.execute(stmt, params)]


def iter_batches(
    ctx: "RequestContext",
    batch_size: int = base.READ_BATCH_SIZE,
    project_id: str | None = None,
) -> Iterator[list[SpecRow]]:
    """All rows (of ``project_id`` if given) in id order, ``batch_size`` at
    a time, one short read transaction per batch (keyset pagination: memory
    stays flat and no transaction is held open while the caller works)."""
    after_id = 0
    while True:
        batch = _batch_after(ctx, after_id, batch_size, project_id)
        if not batch:
            return
        yield batch
        after_id = batch[-1].id


_select_timestamps = value_lists.ListStatement(
    lambda match: sa.select(
        _c.instance_uuid, _c.created_at, _c.updated_at
    ).where(match("uuids", _c.instance_uuid))
)


@transactions.reader
def timestamps(
    ctx: "RequestContext", uuids: Sequence[str]
) -> dict[str, tuple[datetime.datetime | None, datetime.datetime | None]]:
    """(created_at, updated_at) of each listed spec that exists."""
    found = {}
    for start in range(0, len(uuids), IN_CHUNK):
        chunk = uuids[start : start + IN_CHUNK]
        for row in _select_timestamps.execute(ctx.connection, {}, uuids=chunk):
            found[row[0]] = (row[1], row[2])
    return found
