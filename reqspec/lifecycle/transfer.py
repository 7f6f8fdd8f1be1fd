"""Carrying a server's spec between databases, crash-safely.

Used when a build moves the spec from the API database to the chosen
cell, and when a move crosses cells. The move is recorded in the
server's instance mapping (API database) and then carried out in steps;
each step is idempotent and each durable write is followed by a crash
point (``AFTER_STEP`` hooks, used by the tests)::

    record    mapping: move_step=recorded, source,   -> recorded
              target, host, node
    write     target: server row (a capacity claim)  -> instance_claimed
              target: copy of the source's spec      -> spec_copied
              mapping: move_step=written             -> written
    point     mapping: cell=target, move_step=mapped -> mapped
    clean up  source: delete the spec                -> source_spec_deleted
              source: delete the server row          -> source_instance_deleted
              mapping: move columns cleared          -> finished

A process killed anywhere leaves a state that ``finish`` (called by the
next run, or by ``reqspec-manage heal``) completes: a step that already
happened is recognised (the row exists with the same content, the
mapping already moved on, the row to delete is gone) and skipped. The
source copy is only deleted once the mapping points at the target, so
there is always a copy where the mapping says, and ``show_server`` reads
whichever copy exists while a move is in progress.

If the target's claim fails (someone took the capacity between the
scheduler's choice and the claim), nothing has been written to the
target yet, so the move is aborted: the record is cleared and the server
stays where it was.
"""

from collections.abc import Callable
from collections.abc import Iterator
import contextlib

from reqspec import context
from reqspec import exception
from reqspec.objects import CellMapping
from reqspec.objects import Instance
from reqspec.objects import InstanceMapping
from reqspec.objects import RequestSpec

#: Every crash point, in order.
STEPS = (
    "recorded",
    "instance_claimed",
    "spec_copied",
    "written",
    "mapped",
    "source_spec_deleted",
    "source_instance_deleted",
    "finished",
)

#: Called as ``hook(instance_uuid, step)`` after each durable step; a hook
#: that raises (or kills the process) simulates a crash right there.
AFTER_STEP: list[Callable[[str, str], None]] = []


def _after(instance_uuid: str, step: str) -> None:
    for hook in list(AFTER_STEP):
        hook(instance_uuid, step)


def require_api_context(ctx: context.RequestContext) -> None:
    """Orchestration starts from a context on the API database."""
    if ctx.cell is not None:
        raise exception.ReqspecError(
            "this operation needs a context on the API database, not one "
            f"targeted at {ctx.database}"
        )


@contextlib.contextmanager
def database_of(
    ctx: context.RequestContext, cell: CellMapping | None
) -> Iterator[context.RequestContext]:
    """``ctx`` for the API database (``cell`` None), else aimed at
    ``cell``."""
    if cell is None:
        yield ctx
        return
    with context.target_cell(ctx, cell) as cctx:
        yield cctx


def move(
    ctx: context.RequestContext,
    instance_uuid: str,
    source: CellMapping | None,
    target: CellMapping,
    host: str,
    node: str,
) -> InstanceMapping:
    """Move a server's spec (and server row) from ``source`` (None: the
    API database) to ``target``, onto ``host``/``node``.

    Returns the final mapping. ``ComputeResourcesUnavailable`` (or
    ``ComputeHostNotFound``) if the target's claim failed: the move was
    aborted and nothing changed. ``MoveInProgress`` if another move of
    the server is recorded.
    """
    require_api_context(ctx)
    mapping = InstanceMapping.get_by_instance_uuid(ctx, instance_uuid)
    mapping.start_move(source, target, host, node)
    _after(instance_uuid, "recorded")
    return finish(ctx, instance_uuid)


def finish(ctx: context.RequestContext, instance_uuid: str) -> InstanceMapping:
    """Complete the move recorded for a server, from wherever it stopped.

    Safe to call at any time, from any number of processes at once: with
    no move recorded it only returns the mapping. A process whose view
    went stale (another one moved the mapping on meanwhile) reads the
    mapping again and carries on from there.
    """
    require_api_context(ctx)
    # Each pass completes a step or sees that another process did; the
    # bound only guards against a bug turning this into a busy loop.
    for _ in range(4 * len(STEPS)):
        mapping = InstanceMapping.get_by_instance_uuid(ctx, instance_uuid)
        if mapping.move_step is None:
            return mapping
        try:
            _advance(ctx, mapping)
        except _Superseded:
            continue
        except (
            exception.MoveInconsistent,
            exception.RequestSpecNotFound,
            exception.InstanceNotFound,
        ):
            if _moved_on(ctx, mapping):
                continue
            raise
    raise exception.MoveInconsistent(
        instance_uuid=instance_uuid, reason="the move does not settle"
    )


class _Superseded(Exception):
    """Another process took this move further (or gave it up)."""


def _moved_on(ctx: context.RequestContext, seen: InstanceMapping) -> bool:
    now = InstanceMapping.get_by_instance_uuid(ctx, seen.instance_uuid)
    return _state(now) != _state(seen)


def _state(mapping: InstanceMapping) -> tuple[str | None, ...]:
    target = mapping.move_target
    cell = mapping.cell_mapping
    return (
        mapping.move_step,
        None if cell is None else cell.uuid,
        None if target is None else target.uuid,
    )


def _advance(ctx: context.RequestContext, mapping: InstanceMapping) -> None:
    uuid = mapping.instance_uuid
    if mapping.move_step == "recorded":
        _write(ctx, mapping)
        if mapping.mark_written():
            _after(uuid, "written")
        else:
            _discard_if_abandoned(ctx, mapping)
    elif mapping.move_step == "written":
        if mapping.point_at_target():
            _after(uuid, "mapped")
    else:
        _clean_up(ctx, mapping)
        if mapping.finish_move():
            _after(uuid, "finished")


def _discard_if_abandoned(
    ctx: context.RequestContext, mapping: InstanceMapping
) -> None:
    """Undo our writes to the target if the move was aborted meanwhile.

    Only a process whose claim failed aborts, and only while the move is
    still at ``recorded``; a concurrent process whose claim succeeded
    just after must not leave an unmapped copy behind.
    """
    now = InstanceMapping.get_by_instance_uuid(ctx, mapping.instance_uuid)
    target = mapping.move_target
    assert target is not None
    if now.moving or (
        now.cell_mapping is not None and now.cell_mapping.uuid == target.uuid
    ):
        return
    with context.target_cell(ctx, target) as tctx:
        with contextlib.suppress(exception.RequestSpecNotFound):
            RequestSpec(tctx, instance_uuid=mapping.instance_uuid).destroy()
        with contextlib.suppress(exception.InstanceNotFound):
            Instance(tctx, uuid=mapping.instance_uuid).destroy()


def _write(ctx: context.RequestContext, mapping: InstanceMapping) -> None:
    uuid = mapping.instance_uuid
    target = mapping.move_target
    assert target is not None
    with (
        database_of(ctx, mapping.move_source) as sctx,
        context.target_cell(ctx, target) as tctx,
    ):
        try:
            spec = RequestSpec.get_by_instance_uuid(sctx, uuid)
        except exception.RequestSpecNotFound:
            raise exception.MoveInconsistent(
                instance_uuid=uuid,
                reason=f"its spec is missing from {sctx.database}, where "
                "the move started",
            ) from None
        # The target gets the source's document as it is: a re-run compares
        # documents to recognise its own earlier copy.
        text = spec.to_document()
        _claim(mapping, sctx, tctx, spec)
        _after(uuid, "instance_claimed")
        _copy(uuid, tctx, text)
        _after(uuid, "spec_copied")


def _claim(
    mapping: InstanceMapping,
    sctx: context.RequestContext,
    tctx: context.RequestContext,
    spec: RequestSpec,
) -> None:
    uuid, host, node = (
        mapping.instance_uuid,
        mapping.move_host,
        mapping.move_node,
    )
    assert host is not None and node is not None
    try:
        existing: Instance | None = Instance.get_by_uuid(tctx, uuid)
    except exception.InstanceNotFound:
        existing = None
    if existing is None:
        if mapping.move_source is None:
            new = Instance.for_spec(tctx, spec, host, node)
        else:
            new = Instance.get_by_uuid(sctx, uuid).copy_to(tctx, host, node)
        try:
            new.create()
            return
        except exception.InstanceExists:
            # Another process finishing the same move got there first.
            existing = Instance.get_by_uuid(tctx, uuid)
        except (
            exception.ComputeResourcesUnavailable,
            exception.ComputeHostNotFound,
        ):
            # Nothing reached the target: give the move up, unless
            # another process already took it further.
            if mapping.abort_move():
                raise
            raise _Superseded() from None
    if (existing.host, existing.node) != (host, node):
        raise exception.MoveInconsistent(
            instance_uuid=uuid,
            reason=f"{tctx.database} already has it on "
            f"{existing.host}/{existing.node}, not {host}/{node}",
        )


def _copy(uuid: str, tctx: context.RequestContext, text: str) -> None:
    try:
        RequestSpec.from_document(tctx, text).create()
    except exception.RequestSpecExists:
        existing = RequestSpec.get_by_instance_uuid(tctx, uuid)
        if existing.to_document() != text:
            raise exception.MoveInconsistent(
                instance_uuid=uuid,
                reason=f"{tctx.database} already holds a different spec",
            ) from None


def _clean_up(ctx: context.RequestContext, mapping: InstanceMapping) -> None:
    uuid = mapping.instance_uuid
    source = mapping.move_source
    with database_of(ctx, source) as sctx:
        # Not found: an earlier run deleted it already.
        with contextlib.suppress(exception.RequestSpecNotFound):
            RequestSpec(sctx, instance_uuid=uuid).destroy()
        _after(uuid, "source_spec_deleted")
        if source is not None:
            with contextlib.suppress(exception.InstanceNotFound):
                Instance(sctx, uuid=uuid).destroy()
            _after(uuid, "source_instance_deleted")
