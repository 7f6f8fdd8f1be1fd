"""The server side of the conductor's RPC API (``reqspec-conductor``),
and the periodic heal every conductor runs."""

import dataclasses
import logging
import os
from typing import Any

import oslo_messaging as messaging

from reqspec import context
from reqspec import exception
from reqspec.conductor import build
from reqspec.conductor import common
from reqspec.conductor import migrate
from reqspec.conductor import rebuild
from reqspec.conductor import resize
from reqspec.conductor import rpcapi
from reqspec.conductor import shelve
from reqspec.lifecycle import heal
from reqspec.objects import Flavor
from reqspec.objects import ImageMeta
from reqspec.objects import InstanceMapping

LOG = logging.getLogger(__name__)

#: Errors a request may end with on purpose; oslo.messaging logs them in
#: one line (no traceback) and a caller gets them back typed.
EXPECTED = exception.ReqspecError


class ConductorManager:
    """Runs builds and moves for ``ComputeTaskAPI`` requests.

    Its methods match the client's; see ``rpcapi.ComputeTaskAPI`` for the
    version history. Scheduling goes to ``scheduler`` (the scheduler
    service's RPC client in a deployment, a local ``Scheduler`` in tests).
    """

    target = messaging.Target(version=rpcapi.VERSION)

    def __init__(self, scheduler: common.Selector) -> None:
        self.scheduler = scheduler

    def _answer(self, result: common.MoveResult) -> dict[str, Any]:
        return rpcapi.result_to_primitive(result, os.getpid())

    def ping(self, ctxt: context.RequestContext) -> dict[str, Any]:
        return {"pid": os.getpid(), "version": self.target.version}

    @messaging.expected_exceptions(EXPECTED)
    def build_server(
        self, ctxt: context.RequestContext, instance_uuid: str
    ) -> dict[str, Any]:
        return self._answer(
            build.build_server(ctxt, instance_uuid, self.scheduler)
        )

    @messaging.expected_exceptions(EXPECTED)
    def build_servers(
        self, ctxt: context.RequestContext, instance_uuids: list[str]
    ) -> list[dict[str, Any]]:
        # One scheduling pass for the request, moves in batches; a
        # server that could not be built has no cell and the reason as
        # its note (and its mapping's fault), the others are built.
        results = build.build_servers(ctxt, instance_uuids, self.scheduler)
        return [self._answer(result) for result in results]

    @messaging.expected_exceptions(EXPECTED)
    def migrate(
        self,
        ctxt: context.RequestContext,
        instance_uuid: str,
        host: str | None = None,
        allow_cross_cell: bool = False,
    ) -> dict[str, Any]:
        return self._answer(
            migrate.migrate(
                ctxt, instance_uuid, host, allow_cross_cell, self.scheduler
            )
        )

    @messaging.expected_exceptions(EXPECTED)
    def evacuate(
        self,
        ctxt: context.RequestContext,
        instance_uuid: str,
        host: str | None = None,
        allow_cross_cell: bool = False,
    ) -> dict[str, Any]:
        return self._answer(
            migrate.evacuate(
                ctxt, instance_uuid, host, allow_cross_cell, self.scheduler
            )
        )

    @messaging.expected_exceptions(EXPECTED)
    def resize(
        self,
        ctxt: context.RequestContext,
        instance_uuid: str,
        flavor: Flavor,
    ) -> dict[str, Any]:
        return self._answer(
            resize.resize(ctxt, instance_uuid, flavor, self.scheduler)
        )

    @messaging.expected_exceptions(EXPECTED)
    def confirm_resize(
        self, ctxt: context.RequestContext, instance_uuid: str
    ) -> dict[str, Any]:
        return self._answer(resize.confirm_resize(ctxt, instance_uuid))

    @messaging.expected_exceptions(EXPECTED)
    def revert_resize(
        self, ctxt: context.RequestContext, instance_uuid: str
    ) -> dict[str, Any]:
        return self._answer(resize.revert_resize(ctxt, instance_uuid))

    @messaging.expected_exceptions(EXPECTED)
    def rebuild(
        self,
        ctxt: context.RequestContext,
        instance_uuid: str,
        image: ImageMeta | dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return self._answer(
            rebuild.rebuild(ctxt, instance_uuid, image, self.scheduler)
        )

    @messaging.expected_exceptions(EXPECTED)
    def shelve_offload(
        self, ctxt: context.RequestContext, instance_uuid: str
    ) -> dict[str, Any]:
        return self._answer(shelve.shelve_offload(ctxt, instance_uuid))

    @messaging.expected_exceptions(EXPECTED)
    def unshelve(
        self,
        ctxt: context.RequestContext,
        instance_uuid: str,
        allow_cross_cell: bool = False,
    ) -> dict[str, Any]:
        return self._answer(
            shelve.unshelve(
                ctxt, instance_uuid, allow_cross_cell, self.scheduler
            )
        )

    def periodic_heal(self, ctx: context.RequestContext) -> "HealRun":
        """Take over what a dead conductor left: finish every move left
        untouched for ``[conductor] heal_after`` seconds, then build every
        server that has waited that long without a build or a fault (its
        build request died with the conductor that had taken it)."""
        idle_for = ctx.settings.conductor.heal_after
        report = heal.heal(ctx, idle_for=idle_for)
        run = HealRun(report)
        for mapping in InstanceMapping.get_unscheduled(ctx, idle_for=idle_for):
            if mapping.fault:
                continue  # failed for a reason; left for the operator
            uuid = mapping.instance_uuid
            try:
                result = build.build_server(ctx, uuid, self.scheduler)
            except (exception.MoveInProgress, exception.InstanceConflict):
                # A live conductor got to it meanwhile: its build wins.
                continue
            except EXPECTED as err:
                run.build_failed.append((uuid, err.message))
            else:
                if result.selection is not None:  # not someone else's
                    run.built.append(uuid)
        return run


@dataclasses.dataclass
class HealRun:
    """What one periodic heal did: the heal report, and the builds it
    ran for servers whose build request was lost."""

    report: heal.HealReport
    built: list[str] = dataclasses.field(default_factory=list)
    build_failed: list[tuple[str, str]] = dataclasses.field(
        default_factory=list
    )

    @property
    def anything(self) -> bool:
        r = self.report
        return bool(r.finished or r.aborted or r.failed or self.built) or bool(
            self.build_failed
        )
