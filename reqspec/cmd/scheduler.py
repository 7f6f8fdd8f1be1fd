"""reqspec-scheduler: chooses hosts for the conductors.

Consumes ``[scheduler] topic`` on ``[DEFAULT] transport_url`` and answers
with the reference scheduler; it only reads the databases. Run as many
as you like: they share the topic.
"""

from collections.abc import Sequence
import sys

from reqspec import rpc
from reqspec.cmd import service
from reqspec.conf import settings as conf_settings
from reqspec.scheduler import manager


def run(settings: conf_settings.Settings) -> int:
    rpc.set_worker_defaults(settings.conductor.workers)
    return service.serve(
        "reqspec-scheduler",
        settings.scheduler.topic,
        manager.SchedulerManager(),
        settings,
    )


def main(argv: Sequence[str] | None = None) -> int:
    return service.main(run, argv)


if __name__ == "__main__":
    sys.exit(main())
