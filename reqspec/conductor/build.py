"""Building servers: from the API database to a cell, one by one or a
whole multi-create request at once."""

from collections.abc import Sequence
import dataclasses

from reqspec import conf
from reqspec import context
from reqspec import exception
from reqspec.conductor import common
from reqspec.conductor.request import per_move_request
from reqspec.lifecycle import batch_transfer
from reqspec.lifecycle import transfer
from reqspec.objects import InstanceMapping
from reqspec.objects import mapping_batches
from reqspec.objects import RequestSpec
from reqspec.objects import SchedulerRetries
from reqspec.scheduler.scheduler import Scheduler
from reqspec.scheduler.selection import Selection

CONF = conf.CONF


def build_server(
    ctx: context.RequestContext,
    instance_uuid: str,
    scheduler: common.Selector | None = None,
) -> common.MoveResult:
    """Schedule an unscheduled server and move its spec to the cell.

    Loads the spec from the API database, schedules a per-move copy of it
    (forced hosts/nodes apply: they pin this first placement), and moves
    the spec to the chosen cell with the crash-safe transfer, whose first
    write claims the host.

    Safe to run again for the same server: a build that a crash
    interrupted after recording its move is finished (not rescheduled),
    and a server already in a cell is left alone. ``NoValidHost`` leaves
    the spec in the API database with the reason as the mapping's fault
    (``show_server`` reports ERROR); a later build may try again.
    """
    transfer.require_api_context(ctx)
    mapping = InstanceMapping.get_by_instance_uuid(ctx, instance_uuid)
    if mapping.moving:
        mapping = transfer.finish(ctx, instance_uuid)
        return _result(mapping, note="finished an interrupted build")
    if mapping.cell_mapping is not None:
        return _result(mapping, note="already built")
    spec = RequestSpec.get_by_instance_uuid(ctx, instance_uuid)
    request = per_move_request(spec, keep_forced=True)

    def claim(selection: Selection) -> None:
        transfer.move(
            ctx,
            instance_uuid,
            None,
            selection.cell,
            selection.host,
            selection.node,
        )

    try:
        selection = common.schedule_and_claim(ctx, request, claim, scheduler)
    except exception.NoValidHost as err:
        mapping.set_fault(err.message)
        raise
    return common.MoveResult(
        instance_uuid,
        "build",
        selection.cell,
        selection.host,
        selection.node,
        selection,
    )


def _result(mapping: InstanceMapping, note: str) -> common.MoveResult:
    return common.MoveResult(
        mapping.instance_uuid,
        "build",
        mapping.cell_mapping,
        None,
        None,
        note=note,
    )


def build_servers(
    ctx: context.RequestContext,
    instance_uuids: Sequence[str],
    scheduler: common.Selector | None = None,
) -> list[common.MoveResult]:
    """Build many servers together; one result per uuid, in order.

    The servers of one request (``compute_api.create_servers``: specs
    that differ only in their uuid) are scheduled in one pass
    (``Scheduler.select_destinations``: anti-affinity holds among them
    and with the group's existing members) and moved to their cells in
    batches (``reqspec.lifecycle.batch_transfer``), each claiming its
    host; as crash-safe as ``build_server``.

    Failures, as in Nova, per request: if the scheduler finds no host
    for some server of a request, none of that request is built and
    every one of its servers gets the fault (``show_server``: ERROR).
    Claims lost to a concurrent build after the choice are retried on
    other hosts (``[scheduler] max_attempts`` passes); a server still
    without a host then gets its own fault. A failed server's result has
    no cell and the fault as its note; nothing is raised for it.
    Servers already built, or whose build a crash interrupted, are
    treated as by ``build_server``. ``InstanceNotFound`` (before
    anything is done) for an unknown uuid.
    """
    transfer.require_api_context(ctx)
    scheduler = scheduler or Scheduler()
    uuids = list(dict.fromkeys(instance_uuids))
    found, waiting = mapping_batches.unscheduled_among(ctx, uuids)
    for uuid in uuids:
        if uuid not in found:
            raise exception.InstanceNotFound(instance_uuid=uuid)
    results: dict[str, common.MoveResult] = {}
    for uuid in uuids:
        if uuid not in waiting:
            # Built, or a build a crash interrupted: as build_server does.
            results[uuid] = build_server(ctx, uuid, scheduler)
    pending = [u for u in uuids if u in waiting]
    documents = RequestSpec.get_stored_documents(ctx, pending)
    for request in _requests(ctx, documents, pending):
        results.update(_build_request(ctx, request, scheduler))
    for uuid in uuids:
        if uuid not in results:
            # Its spec could not be read as part of a request, or it was
            # built by someone else meanwhile: on its own.
            results[uuid] = _single(ctx, uuid, scheduler)
    return [results[uuid] for uuid in uuids]


@dataclasses.dataclass
class _Request:
    """The servers of one request: their stored documents, equal but for
    the uuid, and one of them decoded."""

    spec: RequestSpec
    documents: dict[str, str]


def _requests(
    ctx: context.RequestContext, documents: dict[str, str], order: list[str]
) -> list[_Request]:
    """The requests among ``documents``, each with its members in the
    order of ``order``.

    Servers of one request have documents equal but for the uuid. So do
    the servers of separate but identical requests; with no request id
    stored, those are told apart by size alone: a run of equal documents
    longer than their ``num_instances`` is cut into requests of that
    many, in the caller's order (``create_servers`` returns a request's
    uuids together). Identical single-server requests thus stay single,
    and one that finds no host does not fail the others.
    """
    by_key: dict[str, list[str]] = {}
    for uuid in order:
        text = documents.get(uuid)
        if text is not None:
            by_key.setdefault(text.replace(uuid, ""), []).append(uuid)
    requests = []
    for members in by_key.values():
        try:
            spec = RequestSpec.from_document(ctx, documents[members[0]])
        except exception.InvalidRequestSpec:
            continue  # each on its own then, to be reported as such
        if spec.instance_uuid != members[0]:
            continue  # the uuid is not where a uuid goes: on its own
        size = max(spec.num_instances, 1)
        for first in range(0, len(members), size):
            chunk = members[first : first + size]
            requests.append(_Request(spec, {u: documents[u] for u in chunk}))
    return requests


def _build_request(
    ctx: context.RequestContext,
    request: _Request,
    scheduler: common.Selector,
) -> dict[str, common.MoveResult]:
    results: dict[str, common.MoveResult] = {}
    tried: list[list[str]] = []
    todo = list(request.documents)
    last = ""
    for attempt in range(1, CONF.scheduler.max_attempts + 1):
        per_move = per_move_request(request.spec, keep_forced=True)
        if tried:
            per_move.retry = SchedulerRetries(
                num_attempts=attempt - 1, hosts=tried
            )
        try:
            selections = scheduler.select_destinations(ctx, per_move, todo)
        except exception.NoValidHost as err:
            results.update(_failed(ctx, todo, err.message))
            return results
        outcomes = batch_transfer.build_many(
            ctx,
            [
                batch_transfer.Placement(
                    uuid,
                    request.spec,
                    request.documents[uuid],
                    sel.cell,
                    sel.host,
                    sel.node,
                )
                for uuid, sel in zip(todo, selections, strict=True)
            ],
        )
        retry = []
        for uuid, sel in zip(todo, selections, strict=True):
            outcome = outcomes[uuid]
            if outcome.cell is not None:
                results[uuid] = common.MoveResult(
                    uuid, "build", outcome.cell, sel.host, sel.node, sel
                )
            elif outcome.error is not None:
                retry.append(uuid)
                tried.append([sel.host, sel.node])
                last = outcome.error.message
        if not retry:
            return results
        todo = retry
    reason = (
        f"{CONF.scheduler.max_attempts} claim(s) failed, the last one: {last}"
    )
    results.update(_failed(ctx, todo, reason, per_server=True))
    return results


def _failed(
    ctx: context.RequestContext,
    uuids: list[str],
    reason: str,
    per_server: bool = False,
) -> dict[str, common.MoveResult]:
    """Record the fault on every server (left waiting in the API
    database); with ``per_server``, each names itself."""
    if not per_server:
        mapping_batches.set_faults(ctx, uuids, reason)
        faults = dict.fromkeys(uuids, reason)
    else:
        faults = {
            uuid: exception.NoValidHost(
                instance_uuid=uuid, reason=reason
            ).message
            for uuid in uuids
        }
        for uuid, fault in faults.items():
            mapping_batches.set_faults(ctx, [uuid], fault)
    return {
        uuid: common.MoveResult(uuid, "build", None, None, None, note=fault)
        for uuid, fault in faults.items()
    }


def _single(
    ctx: context.RequestContext, uuid: str, scheduler: common.Selector
) -> common.MoveResult:
    try:
        return build_server(ctx, uuid, scheduler)
    except exception.NoValidHost as err:
        return common.MoveResult(
            uuid, "build", None, None, None, note=err.message
        )
