"""Many instance mappings at once: a multi-create and batch builds.

Each function is one statement per group of rows, in one API-database
transaction, and changes a mapping only from the state it expects (as
``InstanceMapping``'s own methods do); a row another process changed
meanwhile is left alone and reported, never overwritten.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING

from reqspec import exception
from reqspec.db import base as db_base
from reqspec.db import mapping_batches as db
from reqspec.objects import fields
from reqspec.objects import project_scope
from reqspec.objects.cell_mapping import CellMapping

if TYPE_CHECKING:
    from reqspec.context import RequestContext
    from reqspec.objects.request_spec import RequestSpec

#: Servers a caller of these functions should write per transaction.
WRITE_BATCH_SIZE = db_base.WRITE_BATCH_SIZE


def create_for_request(
    context: "RequestContext",
    spec: "RequestSpec",
    instance_uuids: Sequence[str],
) -> None:
    """Store an unscheduled mapping and a spec for each of the servers of
    one request in the API database, in one transaction (all or nothing).

    The specs are ``spec`` with each uuid in turn (``spec`` keeps the
    last one). ``InstanceExists`` if any server already has a mapping.
    """
    if context.cell is not None:
        raise exception.ObjectActionError(
            action="create instance mappings",
            reason="mappings live in the API database; use a context "
            "that is not targeted at a cell",
        )
    try:
        uuids = [fields.check_uuid(uuid) for uuid in instance_uuids]
    except ValueError as err:
        raise exception.InvalidRequestSpec(reason=str(err)) from err
    # The mapping's column is as wide as the spec's: refuse what it cannot
    # hold before anything is sent.
    project_scope.check_project_column(spec.project_id)
    # The mappings first, then the specs through their own public create
    # path (every check it makes), in the one transaction.
    db.create_many(
        context,
        [(uuid, spec.project_id) for uuid in uuids],
        then=lambda: spec.create_copies(uuids),
    )


def unscheduled_among(
    context: "RequestContext", instance_uuids: Sequence[str]
) -> tuple[set[str], set[str]]:
    """Of the given servers: those that exist, and those of them waiting
    to be built (no cell, no move), read with one query without loading
    whole mappings."""
    uuids = list(dict.fromkeys(_server_uuid(u) for u in instance_uuids))
    states = db.get_states(context, uuids) if uuids else {}
    waiting = {
        uuid
        for uuid, (cell, step) in states.items()
        if cell is None and step is None
    }
    return set(states), waiting


def record_builds(
    context: "RequestContext",
    groups: Sequence[tuple[CellMapping, str, str, Sequence[str]]],
) -> set[str]:
    """``InstanceMapping.start_move`` from the API database for many
    unscheduled servers, in one transaction: ``groups`` are (target cell,
    host, node, uuids). Returns the uuids recorded as asked; the others
    were built or recorded by someone else meanwhile."""
    return db.record_builds(
        context,
        [(cell.id, host, node, uuids) for cell, host, node, uuids in groups],
    )


def finish_builds(
    context: "RequestContext",
    target: CellMapping,
    instance_uuids: Sequence[str],
) -> set[str]:
    """The last step of builds whose copies ``target`` holds: point the
    mappings at it, clear the records and delete the API database's
    specs, in one transaction. Returns the uuids built in ``target`` now;
    the others were aborted or moved on."""
    return db.finish_builds(context, target.id, instance_uuids)


def set_faults(
    context: "RequestContext",
    instance_uuids: Sequence[str],
    fault: str | None,
) -> int:
    """``InstanceMapping.set_fault`` for many servers in one statement;
    those built or being built meanwhile are left alone. Returns how many
    were set."""
    return db.set_faults(context, instance_uuids, fault)


def _server_uuid(value: str) -> str:
    try:
        return fields.check_uuid(value)
    except ValueError:
        raise exception.InstanceNotFound(instance_uuid=value) from None
