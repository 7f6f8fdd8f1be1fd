"""Building many servers at once, as crash-safely as one.

A batch takes the steps of a single build (``reqspec.lifecycle.transfer``)
for all its servers together, one transaction per step and database
rather than per server::

    record   API: every server's mapping     -> recorded (each server)
             move_step=recorded, target,
             host, node
    write    each target cell, per chunk:    -> written (each server of
             the server rows (claims) and       the chunk)
             the spec copies
    finish   API, right after each chunk's   -> finished (each server
             write: mappings point at the       of the chunk)
             cell, records cleared, API
             specs deleted

Each server passes through exactly the states of a single build, so a
process killed anywhere leaves, for every server, a state that
``transfer.finish`` (and so ``heal``) completes: a batch commit is many
single steps committed at once. Whatever the batch cannot settle by
itself (a claim that failed, a copy another process wrote first, a
record another process changed) is handed to ``transfer.finish`` for
that server alone, which knows every case.
"""

from collections.abc import Sequence
import dataclasses

from reqspec import context
from reqspec import exception
from reqspec.lifecycle import transfer
from reqspec.objects import CellMapping
from reqspec.objects import Instance
from reqspec.objects import mapping_batches
from reqspec.objects import RequestSpec

#: Servers written to a cell (and finished in the API database) per
#: transaction.
CHUNK = mapping_batches.WRITE_BATCH_SIZE


@dataclasses.dataclass(frozen=True)
class Placement:
    """An unscheduled server and where the scheduler put it.

    ``document`` is its spec as stored in the API database (copied as it
    is); ``spec`` the request it belongs to, whose document is the same
    but for the uuid (the servers of one request share one decoded
    spec).
    """

    instance_uuid: str
    spec: RequestSpec
    document: str
    cell: CellMapping
    host: str
    node: str


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What became of one server of the batch.

    ``cell`` (with ``host``/``node``): built there. ``error``: its claim
    failed and its build was aborted (it is unscheduled again: schedule
    it elsewhere). Neither: another process recorded or finished a build
    of it meanwhile; look at its mapping.
    """

    cell: CellMapping | None = None
    host: str | None = None
    node: str | None = None
    error: exception.ReqspecError | None = None


_CLAIM_FAILED = (
    exception.ComputeResourcesUnavailable,
    exception.ComputeHostNotFound,
)


def build_many(
    ctx: context.RequestContext, placements: Sequence[Placement]
) -> dict[str, Outcome]:
    """Move the specs of unscheduled servers from the API database to
    their chosen cells, claiming their hosts; one outcome per uuid."""
    transfer.require_api_context(ctx)
    by_uuid = {p.instance_uuid: p for p in placements}
    outcomes: dict[str, Outcome] = {}
    groups: dict[tuple[str, str, str], list[str]] = {}
    for p in placements:
        groups.setdefault((p.cell.uuid, p.host, p.node), []).append(
            p.instance_uuid
        )
    recorded = mapping_batches.record_builds(
        ctx,
        [
            (by_uuid[uuids[0]].cell, host, node, uuids)
            for (_, host, node), uuids in groups.items()
        ],
    )
    for uuid in by_uuid:
        if uuid in recorded:
            transfer.after(ctx, uuid, "recorded")
        else:
            outcomes[uuid] = Outcome()
    by_cell: dict[str, list[Placement]] = {}
    for p in placements:
        if p.instance_uuid in recorded:
            by_cell.setdefault(p.cell.uuid, []).append(p)
    for cell_placements in by_cell.values():
        for start in range(0, len(cell_placements), CHUNK):
            chunk = cell_placements[start : start + CHUNK]
            outcomes.update(_build_chunk(ctx, chunk))
    return outcomes


def _build_chunk(
    ctx: context.RequestContext, chunk: Sequence[Placement]
) -> dict[str, Outcome]:
    """Write and finish recorded builds to one cell."""
    cell = chunk[0].cell
    outcomes: dict[str, Outcome] = {}
    with context.target_cell(ctx, cell) as tctx:
        try:
            refused = _write(tctx, chunk)
        except (
            exception.InstanceExists,
            exception.RequestSpecExists,
            exception.ComputeHostNotFound,
        ):
            # Someone else wrote some of them, or a node went away:
            # nothing of the chunk was written; settle each on its own.
            return {p.instance_uuid: _finish_one(ctx, p) for p in chunk}
    written = []
    for p in chunk:
        uuid = p.instance_uuid
        if uuid in refused:
            # The capacity went since the scheduler looked: the single
            # path claims again and, failing, aborts the build.
            outcomes[uuid] = _finish_one(ctx, p)
        else:
            transfer.after(ctx, uuid, "written")
            written.append(uuid)
    done = mapping_batches.finish_builds(ctx, cell, written)
    placed = {p.instance_uuid: p for p in chunk}
    for uuid in written:
        p = placed[uuid]
        if uuid in done:
            transfer.after(ctx, uuid, "finished")
            outcomes[uuid] = Outcome(cell, p.host, p.node)
        else:
            outcomes[uuid] = _finish_one(ctx, p)
    return outcomes


def _write(
    tctx: context.RequestContext, chunk: Sequence[Placement]
) -> dict[str, exception.ComputeResourcesUnavailable]:
    """The server rows and spec copies of the chunk, in one transaction
    per request (one in all, for a chunk of one request)."""
    by_request: dict[int, list[Placement]] = {}
    for p in chunk:
        by_request.setdefault(id(p.spec), []).append(p)
    refused = {}
    for placements in by_request.values():
        refused.update(
            Instance.build_with_specs(
                tctx,
                placements[0].spec,
                [
                    (p.instance_uuid, p.host, p.node, p.document)
                    for p in placements
                ],
            )
        )
    return refused


def _finish_one(ctx: context.RequestContext, placement: Placement) -> Outcome:
    uuid = placement.instance_uuid
    try:
        mapping = transfer.finish(ctx, uuid)
    except _CLAIM_FAILED as err:
        return Outcome(error=err)
    cell = mapping.cell_mapping
    if mapping.moving or cell is None or cell.uuid != placement.cell.uuid:
        return Outcome()
    return Outcome(cell, placement.host, placement.node)
