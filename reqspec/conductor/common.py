"""What every conductor operation shares: finding the server, scheduling
with retries, and the result it returns."""

from collections.abc import Callable
from collections.abc import Sequence
import dataclasses
from typing import Protocol

from reqspec import context
from reqspec import exception
from reqspec.lifecycle import transfer
from reqspec.objects import CellMapping
from reqspec.objects import Instance
from reqspec.objects import InstanceMapping
from reqspec.objects import RequestSpec
from reqspec.objects import SchedulerRetries
from reqspec.scheduler.scheduler import Scheduler
from reqspec.scheduler.selection import Selection


class Selector(Protocol):
    """What conductor code needs of a scheduler: a local ``Scheduler``
    or the RPC client ``reqspec.scheduler.rpcapi.SchedulerAPI``."""

    def select_destination(
        self,
        ctx: context.RequestContext,
        request: RequestSpec,
        exclude_instance_uuid: str | None = None,
    ) -> Selection: ...

    def select_destinations(
        self,
        ctx: context.RequestContext,
        request: RequestSpec,
        instance_uuids: Sequence[str],
        exclude_instance_uuid: str | None = None,
    ) -> list[Selection]: ...


@dataclasses.dataclass(frozen=True)
class Located:
    """A scheduled server: its mapping, cell, stored spec and row."""

    mapping: InstanceMapping
    cell: CellMapping
    ctx: context.RequestContext  # aimed at the server's cell
    spec: RequestSpec
    instance: Instance


def locate(
    ctx: context.RequestContext, instance_uuid: str, action: str
) -> Located:
    """Load a scheduled server and its stored spec from its cell.

    ``MoveInProgress`` while a move between databases is recorded (it
    must be finished first), ``InvalidInstanceState`` for a server not
    scheduled yet.
    """
    transfer.require_api_context(ctx)
    mapping = InstanceMapping.get_by_instance_uuid(ctx, instance_uuid)
    if mapping.moving:
        raise exception.MoveInProgress(
            instance_uuid=instance_uuid, step=mapping.move_step
        )
    cell = mapping.cell_mapping
    if cell is None:
        raise exception.InvalidInstanceState(
            action=action, instance_uuid=instance_uuid, state="not scheduled"
        )
    with context.target_cell(ctx, cell) as cctx:
        spec = RequestSpec.get_by_instance_uuid(cctx, instance_uuid)
        instance = Instance.get_by_uuid(cctx, instance_uuid)
    return Located(mapping, cell, cctx, spec, instance)


def require_status(located: Located, action: str, *statuses: str) -> None:
    status = located.instance.status
    if status not in statuses:
        raise exception.InvalidInstanceState(
            action=action,
            instance_uuid=located.instance.uuid,
            state=status,
        )


def schedule_and_claim(
    ctx: context.RequestContext,
    request: RequestSpec,
    claim: Callable[[Selection], None],
    scheduler: Selector | None = None,
    exclude_instance_uuid: str | None = None,
) -> Selection:
    """Select a host and claim it; on a lost race, try the next host.

    ``claim`` writes the server onto the selection (it raises
    ``ComputeResourcesUnavailable`` when someone else took the capacity
    first). Each failed host goes into the request's ``retry`` list, so
    the next attempt skips it; after ``[scheduler] max_attempts``
    attempts, ``NoValidHost``.
    """
    scheduler = scheduler or Scheduler()
    attempts = ctx.settings.scheduler.max_attempts
    last = ""
    for attempt in range(1, attempts + 1):
        selection = scheduler.select_destination(
            ctx, request, exclude_instance_uuid
        )
        try:
            claim(selection)
        except (
            # Someone took the capacity, or the node went away, between
            # the choice and the claim: try another host.
            exception.ComputeResourcesUnavailable,
            exception.ComputeHostNotFound,
        ) as err:
            tried = request.retry.hosts if request.retry else []
            request.retry = SchedulerRetries(
                num_attempts=attempt,
                hosts=[*tried, [selection.host, selection.node]],
            )
            last = err.message
            continue
        return selection
    raise exception.NoValidHost(
        instance_uuid=request.instance_uuid,
        reason=f"{attempts} claim(s) failed, the last one: {last}",
    )


@dataclasses.dataclass(frozen=True)
class MoveResult:
    """Where a server ended up after an operation, and why."""

    instance_uuid: str
    action: str
    cell: CellMapping | None
    host: str | None
    node: str | None
    selection: Selection | None = None
    note: str = ""
    #: The pid of the conductor process that did it, when it came back
    #: over RPC (None: this process).
    worker_pid: int | None = None

    @property
    def built(self) -> bool:
        """False for a build that failed (the note says why)."""
        return self.cell is not None

    @property
    def why(self) -> str:
        if self.selection is not None:
            return self.selection.explain()
        return self.note


def result(
    located: Located,
    action: str,
    selection: Selection | None = None,
    note: str = "",
) -> MoveResult:
    """The result of an operation that left the server in its cell."""
    return MoveResult(
        located.instance.uuid,
        action,
        located.cell,
        located.instance.host,
        located.instance.node,
        selection,
        note,
    )


def relocate(
    ctx: context.RequestContext, located: Located, selection: Selection
) -> None:
    """Move a server onto the selected host: in place when the host is
    in the server's cell, by the crash-safe transfer otherwise."""
    if selection.cell.uuid == located.cell.uuid:
        located.instance.move_to(selection.host, selection.node)
        return
    transfer.move(
        ctx,
        located.instance.uuid,
        located.cell,
        selection.cell,
        selection.host,
        selection.node,
    )
