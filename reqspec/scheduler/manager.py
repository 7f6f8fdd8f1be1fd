"""The server side of the scheduler's RPC API (``reqspec-scheduler``)."""

import os
from typing import Any

import oslo_messaging as messaging

from reqspec import context
from reqspec import exception
from reqspec.objects import RequestSpec
from reqspec.scheduler import rpcapi
from reqspec.scheduler.scheduler import Scheduler


class SchedulerManager:
    """Answers ``SchedulerAPI`` calls with the reference scheduler.

    Its methods match the client's; see ``rpcapi.SchedulerAPI`` for the
    version history.
    """

    target = messaging.Target(version=rpcapi.VERSION)

    def __init__(self, scheduler: Scheduler | None = None) -> None:
        self.scheduler = scheduler or Scheduler()

    def ping(self, ctxt: context.RequestContext) -> dict[str, Any]:
        return {"pid": os.getpid(), "version": self.target.version}

    @messaging.expected_exceptions(exception.ReqspecError)
    def select_destination(
        self,
        ctxt: context.RequestContext,
        request: RequestSpec,
        exclude_instance_uuid: str | None = None,
    ) -> dict[str, Any]:
        selection = self.scheduler.select_destination(
            ctxt, request, exclude_instance_uuid
        )
        return rpcapi.selection_to_primitive(selection)

    @messaging.expected_exceptions(exception.ReqspecError)
    def select_destinations(
        self,
        ctxt: context.RequestContext,
        request: RequestSpec,
        instance_uuids: list[str],
        exclude_instance_uuid: str | None = None,
    ) -> list[dict[str, Any]]:
        selections = self.scheduler.select_destinations(
            ctxt, request, instance_uuids, exclude_instance_uuid
        )
        return [rpcapi.selection_to_primitive(s) for s in selections]
