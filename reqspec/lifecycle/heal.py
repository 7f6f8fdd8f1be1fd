"""Finishing every move that a crash left half done."""

import dataclasses

from reqspec import context
from reqspec import exception
from reqspec.lifecycle import transfer
from reqspec.objects import InstanceMapping


@dataclasses.dataclass
class HealReport:
    """What ``heal`` found and did, per server uuid.

    ``finished``: moves completed. ``aborted``: moves given up because
    the target's claim failed (the server stayed where it was; a build
    goes back to waiting for scheduling). ``failed``: moves that could
    not be finished now (unreachable database, inconsistent state), with
    the reason. ``unscheduled``: servers waiting for a build, which heal
    does not schedule.
    """

    finished: list[str] = dataclasses.field(default_factory=list)
    aborted: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    unscheduled: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def heal(
    ctx: context.RequestContext, idle_for: float | None = None
) -> HealReport:
    """Finish (or abort) every move recorded in the API database; with
    ``idle_for``, only moves that made no step for that many seconds.

    Safe to run at any time, alongside conductors: each step of a move
    is idempotent and conditional on the recorded state. A conductor's
    periodic heal still waits (``[conductor] heal_after``) before taking
    over a move, so that it does not race the live conductor working on
    it: both would finish it correctly, but a heal that aborts a move
    whose claim failed leaves that conductor's build to be retried later.
    """
    transfer.require_api_context(ctx)
    report = HealReport()
    moving = InstanceMapping.get_all(ctx, moving_only=True, idle_for=idle_for)
    for mapping in moving:
        uuid = mapping.instance_uuid
        try:
            transfer.finish(ctx, uuid)
        except (
            exception.ComputeResourcesUnavailable,
            exception.ComputeHostNotFound,
        ) as err:
            report.aborted.append((uuid, err.message))
        except exception.ReqspecError as err:
            report.failed.append((uuid, err.message))
        else:
            report.finished.append(uuid)
    report.unscheduled = [
        m.instance_uuid for m in InstanceMapping.get_unscheduled(ctx)
    ]
    return report
