"""SQL for many instance mappings at once (API database): the mappings
of a multi-server request, and builds recorded and finished together.

Each function runs one statement per group of rows (per target node, per
``request_specs.IN_CHUNK`` uuids) in one transaction, and changes a
mapping only from the state it expects, as ``instance_mappings.update``
does: a row another process changed meanwhile is left alone and
reported. ``reqspec.objects.mapping_batches`` is the object-side API.
"""

from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any
from typing import cast
from typing import TYPE_CHECKING

from oslo_db import exception as db_exc
import sqlalchemy as sa

from reqspec import exception
from reqspec.db import api_models
from reqspec.db import base
from reqspec.db import request_specs
from reqspec.db import transactions
from reqspec.db import value_lists

if TYPE_CHECKING:
    from reqspec.context import RequestContext

_table = cast(sa.Table, api_models.InstanceMapping.__table__)
_c = _table.c
_insert = _table.insert()


def _chunks(uuids: Sequence[str]) -> Iterator[Sequence[str]]:
    # Slices: ListStatement makes the parameter of each.
    for start in range(0, len(uuids), request_specs.IN_CHUNK):
        yield uuids[start : start + request_specs.IN_CHUNK]


@transactions.api_writer
def create_many(
    ctx: "RequestContext",
    servers: Sequence[tuple[str, str | None]],
    then: Callable[[], object] | None = None,
) -> None:
    """Insert an unscheduled mapping for each (instance uuid, project id),
    in one statement; ``ctx`` must address the API database. ``then`` runs
    inside the same transaction, as for ``instance_mappings.create`` (the
    specs' own ``create_copies``), so all rows exist or none does."""
    now = base.utcnow()
    try:
        ctx.connection.execute(
            _insert,
            [
                {
                    "instance_uuid": uuid,
                    "project_id": project_id,
                    "created_at": now,
                }
                for uuid, project_id in servers
            ],
        )
    except db_exc.DBDuplicateEntry as err:
        raise exception.InstanceExists(
            instance_uuid=servers[0][0]
            if len(servers) == 1
            else "of this request",
            database=ctx.database,
        ) from err
    if then is not None:
        then()


def _on_uuids(
    build: Callable[[sa.ColumnElement[bool]], Any],
) -> value_lists.ListStatement:
    """A statement on the mappings of the list of instance uuids
    ``uuids``: ``build`` takes the condition selecting them."""
    return value_lists.ListStatement(
        lambda match: build(match("uuids", _c.instance_uuid))
    )


_record_build = _on_uuids(
    lambda in_uuids: (
        _table.update()
        .where(in_uuids, _c.cell_id.is_(None), _c.move_step.is_(None))
        .values(
            move_step="recorded",
            move_source_cell_id=None,
            move_target_cell_id=sa.bindparam("target"),
            move_host=sa.bindparam("host"),
            move_node=sa.bindparam("node"),
            updated_at=sa.bindparam("now"),
        )
    )
)
_recorded_as = _on_uuids(
    lambda in_uuids: sa.select(_c.instance_uuid).where(
        in_uuids,
        _c.move_step == "recorded",
        _c.move_source_cell_id.is_(None),
        _c.move_target_cell_id == sa.bindparam("target"),
        _c.move_host == sa.bindparam("host"),
        _c.move_node == sa.bindparam("node"),
    )
)

#: One batch of builds onto one node: (target cell id, host, node, uuids).
BuildGroup = tuple[int, str, str, Sequence[str]]


@transactions.api_writer
def record_builds(
    ctx: "RequestContext", groups: Sequence[BuildGroup]
) -> set[str]:
    """Record the builds of unscheduled servers (cell NULL, no move), one
    statement per target node, in one transaction. Returns the uuids now
    recorded as asked; the others were built or recorded meanwhile."""
    recorded: set[str] = set()
    now = base.utcnow()
    for target, host, node, uuids in groups:
        params = {"target": target, "host": host, "node": node}
        for chunk in _chunks(uuids):
            count = _record_build.execute(
                ctx.connection, dict(params, now=now), uuids=chunk
            ).rowcount
            if count == len(chunk):
                recorded.update(chunk)
            else:
                # Someone else touched some of them: find which are ours
                # (an identical record by someone else is as good).
                found = _recorded_as.execute(
                    ctx.connection, params, uuids=chunk
                )
                recorded.update(r[0] for r in found)
    return recorded


def _finish_build_of(in_uuids: sa.ColumnElement[bool]) -> sa.Update:
    return (
        _table.update()
        .where(
            in_uuids,
            _c.move_step.in_(("recorded", "written", "mapped")),
            _c.move_source_cell_id.is_(None),
            _c.move_target_cell_id == sa.bindparam("target"),
        )
        .values(
            cell_id=sa.bindparam("target"),
            move_step=None,
            move_target_cell_id=None,
            move_host=None,
            move_node=None,
            fault=None,
            updated_at=sa.bindparam("now"),
        )
    )


_finish_build = _on_uuids(_finish_build_of)
_built_in = _on_uuids(
    lambda in_uuids: sa.select(_c.instance_uuid).where(
        in_uuids,
        _c.cell_id == sa.bindparam("target"),
        _c.move_step.is_(None),
    )
)


@transactions.api_writer
def finish_builds(
    ctx: "RequestContext", target: int, instance_uuids: Sequence[str]
) -> set[str]:
    """Point the mappings of recorded builds to cell ``target`` at it,
    clear their records and delete their specs from the API database, in
    one transaction. Only call it once the target holds their copies.

    Returns the uuids now built in ``target`` (also those another
    process finished meanwhile, whose API copy is deleted too); the
    others were aborted or moved on and need a closer look.
    """
    done: set[str] = set()
    now = base.utcnow()
    for chunk in _chunks(instance_uuids):
        count = _finish_build.execute(
            ctx.connection, {"target": target, "now": now}, uuids=chunk
        ).rowcount
        if count == len(chunk):
            done.update(chunk)
        else:
            found = _built_in.execute(
                ctx.connection, {"target": target}, uuids=chunk
            )
            done.update(r[0] for r in found)
    # A built server's spec lives in its cell only.
    request_specs.destroy_many(ctx, sorted(done))
    return done


_set_fault = _on_uuids(
    lambda in_uuids: (
        _table.update()
        .where(in_uuids, _c.cell_id.is_(None), _c.move_step.is_(None))
        .values(fault=sa.bindparam("fault"), updated_at=sa.bindparam("now"))
    )
)


@transactions.api_writer
def set_faults(
    ctx: "RequestContext", instance_uuids: Sequence[str], fault: str | None
) -> int:
    """Set the fault of the unscheduled servers among ``instance_uuids``
    (no cell, no move); returns how many."""
    now = base.utcnow()
    return sum(
        _set_fault.execute(
            ctx.connection, {"fault": fault, "now": now}, uuids=chunk
        ).rowcount
        for chunk in _chunks(instance_uuids)
    )


_states = _on_uuids(
    lambda in_uuids: sa.select(
        _c.instance_uuid, _c.cell_id, _c.move_step
    ).where(in_uuids)
)


@transactions.api_reader
def get_states(
    ctx: "RequestContext", instance_uuids: Sequence[str]
) -> dict[str, tuple[int | None, str | None]]:
    """(cell id, move step) of each of the given servers that exists."""
    found: dict[str, tuple[int | None, str | None]] = {}
    for chunk in _chunks(instance_uuids):
        for uuid, cell_id, step in _states.execute(
            ctx.connection, {}, uuids=chunk
        ):
            found[uuid] = (cell_id, step)
    return found
