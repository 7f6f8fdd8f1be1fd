"""reqspec-conductor: builds and moves servers for the compute API.

Consumes ``[conductor] topic`` on ``[DEFAULT] transport_url``; asks the
scheduler service (``[scheduler] topic``) where to put each server; runs
the periodic heal every ``[conductor] heal_interval`` seconds. Run as
many as you like: they share the topic. See ``reqspec.cmd.service`` for
how SIGTERM drains.
"""

from collections.abc import Sequence
import logging
import sys

from reqspec import context
from reqspec import rpc
from reqspec.cmd import service
from reqspec.conductor import manager
from reqspec.conf import settings as conf_settings
from reqspec.scheduler import rpcapi as scheduler_rpcapi

LOG = logging.getLogger("reqspec.conductor")


def run(settings: conf_settings.Settings) -> int:
    rpc.set_worker_defaults(settings.conductor.workers)
    conductor = manager.ConductorManager(
        scheduler_rpcapi.SchedulerAPI(settings=settings)
    )

    def heal(ctx: context.RequestContext) -> None:
        done = conductor.periodic_heal(ctx)
        if done.anything:
            r = done.report
            LOG.info(
                "heal: %d move(s) finished, %d aborted, %d failed; "
                "%d lost build(s) run, %d failed",
                len(r.finished),
                len(r.aborted),
                len(r.failed),
                len(done.built),
                len(done.build_failed),
            )

    return service.serve(
        "reqspec-conductor",
        settings.conductor.topic,
        conductor,
        settings,
        periodic=heal,
        interval=settings.conductor.heal_interval,
    )


def main(argv: Sequence[str] | None = None) -> int:
    return service.main(run, argv)


if __name__ == "__main__":
    sys.exit(main())
