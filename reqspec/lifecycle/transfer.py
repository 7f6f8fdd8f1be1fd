"""Carrying a server's spec between databases, crash-safely.

Used when a build moves the spec from the API database to the chosen
cell, and when a move crosses cells. The move is recorded in the
server's instance mapping (API database) and then carried out in steps;
each step is idempotent and each durable write is followed by a crash
point (``after``: the context's ``settings.after_step`` hook, which
tests set to crash there)::

    record    mapping: move_step=recorded, source,   -> recorded
              target, host, node
    write     target, one transaction: the server    -> written
              row (a capacity claim) and a copy of
              the source's spec
    build (source: the API database), one API transaction:
              mapping: cell=target, move cleared;
              the API database's spec deleted        -> finished
    move (source: a cell):
    point     mapping: cell=target, move_step=mapped -> mapped
    clean up  source, one transaction: the server    -> source_deleted
              row and the spec deleted
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

from collections.abc import Iterator
import contextlib

from reqspec import context
from reqspec import exception
from reqspec.objects import CellMapping
from reqspec.objects import Instance
from reqspec.objects import InstanceMapping
from reqspec.objects import RequestSpec

#: Every crash point, in order.
STEPS = ("recorded", "written", "mapped", "source_deleted", "finished")
#: The crash points of a build (from the API database): the mapping is
#: pointed at the target in the transaction that deletes the API copy.
BUILD_STEPS = ("recorded", "written", "finished")


def after(ctx: context.RequestContext, instance_uuid: str, step: str) -> None:
    """The crash point after ``step`` of a server's move: calls the
    context's ``settings.after_step`` hook, if a test gave it one."""
    hook = ctx.settings.after_step
    if hook is not None:
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
    read: list[RequestSpec] = []

    def read_spec() -> None:
        # A build copies the API database's spec: read it in the
        # transaction that records the move, rather than in one of its
        # own. A missing spec is the write step's to report.
        read.clear()
        with contextlib.suppress(exception.RequestSpecNotFound):
            read.append(RequestSpec.get_by_instance_uuid(ctx, instance_uuid))

    mapping = InstanceMapping.record_move(
        ctx,
        instance_uuid,
        source,
        target,
        host,
        node,
        then=read_spec if source is None else None,
    )
    after(ctx, instance_uuid, "recorded")
    return finish(ctx, instance_uuid, mapping, read[0] if read else None)


def finish(
    ctx: context.RequestContext,
    instance_uuid: str,
    mapping: InstanceMapping | None = None,
    spec: RequestSpec | None = None,
) -> InstanceMapping:
    """Complete the move recorded for a server, from wherever it stopped.

    Safe to call at any time, from any number of processes at once: with
    no move recorded it only returns the mapping. A process whose view
    went stale (another one moved the mapping on meanwhile) reads the
    mapping again and carries on from there. ``mapping``: the server's
    mapping as the caller just wrote it, and ``spec`` the source's spec as
    read in the same transaction, each saving a read.
    """
    require_api_context(ctx)
    # Each pass completes a step or sees that another process did; the
    # bound only guards against a bug turning this into a busy loop.
    for _ in range(4 * len(STEPS)):
        current = mapping or InstanceMapping.get_by_instance_uuid(
            ctx, instance_uuid
        )
        if current.move_step is None:
            return current
        mapping = None  # read it again unless the step says otherwise
        read, spec = spec, None  # only with the state it was read with
        try:
            if _advance(ctx, current, read):
                mapping = current
        except _Superseded:
            continue
        except (
            exception.MoveInconsistent,
            exception.RequestSpecNotFound,
            exception.InstanceNotFound,
        ):
            if _moved_on(ctx, current):
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


def _advance(
    ctx: context.RequestContext,
    mapping: InstanceMapping,
    spec: RequestSpec | None = None,
) -> bool:
    """Take the next step. True: ``mapping`` is the stored state now;
    False: another process moved it on (read it again). ``spec``: the
    source's, if already read with ``mapping``."""
    uuid = mapping.instance_uuid
    building = mapping.move_source is None
    if mapping.move_step == "recorded":
        _write(ctx, mapping, spec)
        after(ctx, uuid, "written")
    elif mapping.move_step == "mapped" and not building:
        with context.target_cell(ctx, mapping.move_source) as sctx:
            Instance.destroy_with_spec(sctx, uuid)
        after(ctx, uuid, "source_deleted")
        if mapping.finish_move():
            after(ctx, uuid, "finished")
            return True
        return False
    # Here the target holds the copies (step recorded, done above; or a
    # record an older version left at written or mapped).
    if building:
        if mapping.finish_build():
            after(ctx, uuid, "finished")
            return True
    elif mapping.point_at_target():
        after(ctx, uuid, "mapped")
        return True
    _discard_if_abandoned(ctx, mapping)
    return False


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
        Instance.destroy_with_spec(tctx, mapping.instance_uuid)


def _write(
    ctx: context.RequestContext,
    mapping: InstanceMapping,
    spec: RequestSpec | None = None,
) -> None:
    """The target's server row (the claim) and spec copy, in one
    transaction; recognises them if an earlier run wrote them. ``spec``:
    the source's, if the caller read it with the record."""
    uuid = mapping.instance_uuid
    target, host, node = (
        mapping.move_target,
        mapping.move_host,
        mapping.move_node,
    )
    assert target is not None and host is not None and node is not None
    with (
        database_of(ctx, mapping.move_source) as sctx,
        context.target_cell(ctx, target) as tctx,
    ):
        try:
            if spec is None:
                spec = RequestSpec.get_by_instance_uuid(sctx, uuid)
        except exception.RequestSpecNotFound:
            raise exception.MoveInconsistent(
                instance_uuid=uuid,
                reason=f"its spec is missing from {sctx.database}, where "
                "the move started",
            ) from None
        if mapping.move_source is None:
            new = Instance.for_spec(tctx, spec, host, node)
        else:
            new = Instance.get_by_uuid(sctx, uuid).copy_to(tctx, host, node)
        # The target gets the source's document as it is.
        text = spec.stored_document()
        try:
            refused = Instance.create_with_specs(tctx, [(new, spec, text)])
        except (exception.InstanceExists, exception.RequestSpecExists):
            # Another process finishing the same move got there first,
            # or an earlier run of this one did.
            recognise_copies(tctx, uuid, host, node, text)
            return
        except exception.ComputeHostNotFound:
            _give_up(mapping)
            raise
        if uuid in refused:
            _give_up(mapping)
            raise refused[uuid]


def _give_up(mapping: InstanceMapping) -> None:
    """Nothing reached the target: abort the move, unless another
    process already took it further."""
    if not mapping.abort_move():
        raise _Superseded()


def recognise_copies(
    tctx: context.RequestContext, uuid: str, host: str, node: str, text: str
) -> None:
    """The target already has the server: check it is this move's (on
    ``host``/``node``, the same spec), and copy the spec if a crash of an
    older version left it out."""
    try:
        existing = Instance.get_by_uuid(tctx, uuid)
    except exception.InstanceNotFound:
        raise exception.MoveInconsistent(
            instance_uuid=uuid,
            reason=f"{tctx.database} holds its spec without its server row",
        ) from None
    if (existing.host, existing.node) != (host, node):
        raise exception.MoveInconsistent(
            instance_uuid=uuid,
            reason=f"{tctx.database} already has it on "
            f"{existing.host}/{existing.node}, not {host}/{node}",
        )
    try:
        RequestSpec.from_document(tctx, text).create()
    except exception.RequestSpecExists:
        copy = RequestSpec.get_by_instance_uuid(tctx, uuid)
        ours = RequestSpec.from_document(None, text)
        # Compared decoded: an older version re-encoded what it copied.
        if copy.to_document() != ours.to_document():
            raise exception.MoveInconsistent(
                instance_uuid=uuid,
                reason=f"{tctx.database} already holds a different spec",
            ) from None
