"""The client side of the scheduler's RPC API.

``SchedulerAPI`` offers the method conductor code calls on a local
``Scheduler`` (``select_destination``), so a conductor works the same
with either. The ``RequestSpec`` travels as a versioned primitive; a
sender pinned by ``[upgrade_levels] scheduler`` backports it to the
object version the pinned RPC version carries (``REQUEST_SPEC_VERSIONS``).
"""

from collections.abc import Sequence
from typing import Any

from oslo_versionedobjects import exception as ovo_exception

from reqspec import conf
from reqspec import context
from reqspec import exception
from reqspec import rpc
from reqspec.objects import CellMapping
from reqspec.objects import Destination
from reqspec.objects import RequestSpec
from reqspec.scheduler.selection import FilterStep
from reqspec.scheduler.selection import Selection

CONF = conf.CONF

SERVICE = "scheduler"

#: The newest version of this API.
VERSION = "1.2"

#: The RequestSpec version each RPC version carries. A receiver of that
#: RPC version knows that object version (or newer); a pinned sender
#: backports the spec to it.
REQUEST_SPEC_VERSIONS = {
    "1.0": "1.2",
    "1.1": "1.3",
    "1.2": "1.3",
}


class SchedulerAPI:
    """Client side of the scheduler RPC API.

    API version history:

    * 1.0 - Initial version: ``select_destination(request,
      exclude_instance_uuid)``; ``RequestSpec`` 1.2, and ``ping()``.
    * 1.1 - ``RequestSpec`` 1.3 (NUMA cells carry a page size policy).
    * 1.2 - Add ``select_destinations(request, instance_uuids,
      exclude_instance_uuid)``: one selection per server in one call.
    """

    def __init__(self, url: str | None = None) -> None:
        self.client = rpc.get_client(
            CONF.scheduler.topic,
            VERSION,
            CONF.upgrade_levels.scheduler or None,
            SERVICE,
            url,
        )

    def _version(self, *candidates: str) -> str:
        """The newest of ``candidates`` the pin allows (newest first)."""
        for version in candidates:
            if self.client.can_send_version(version):
                return version
        raise exception.RPCVersionUnavailable(
            method="this call",
            needed=candidates[-1],
            service=SERVICE,
            pinned=CONF.upgrade_levels.scheduler,
        )

    def _request(self, request: RequestSpec, version: str) -> dict[str, Any]:
        """The spec as the primitive of the object version ``version``
        carries (backported by ``obj_make_compatible`` when older)."""
        target = REQUEST_SPEC_VERSIONS[version]
        try:
            primitive: dict[str, Any] = request.obj_to_primitive(
                target_version=target
            )
        except ovo_exception.ObjectActionError as err:
            # The older version cannot say what this spec asks for:
            # sending less would schedule a different request.
            raise exception.ObjectActionError(
                action=f"send RequestSpec {target} to a scheduler pinned "
                f"to RPC {version}",
                reason=err.kwargs.get("reason", str(err)),
            ) from None
        return primitive

    def select_destination(
        self,
        ctx: context.RequestContext,
        request: RequestSpec,
        exclude_instance_uuid: str | None = None,
    ) -> Selection:
        """As ``Scheduler.select_destination``, on a scheduler service."""
        version = self._version("1.1", "1.0")
        cctxt = self.client.prepare(version=version)
        answer = cctxt.call(
            ctx,
            "select_destination",
            request=self._request(request, version),
            exclude_instance_uuid=exclude_instance_uuid,
        )
        return selection_from_primitive(answer)

    def select_destinations(
        self,
        ctx: context.RequestContext,
        request: RequestSpec,
        instance_uuids: Sequence[str],
        exclude_instance_uuid: str | None = None,
    ) -> list[Selection]:
        """One selection per server of ``instance_uuids``; from a scheduler
        older than 1.2, one ``select_destination`` call each (see
        ``_one_by_one``)."""
        if not self.client.can_send_version("1.2"):
            return self._one_by_one(
                ctx, request, len(instance_uuids), exclude_instance_uuid
            )
        cctxt = self.client.prepare(version="1.2")
        answers = cctxt.call(
            ctx,
            "select_destinations",
            request=self._request(request, "1.2"),
            instance_uuids=list(instance_uuids),
            exclude_instance_uuid=exclude_instance_uuid,
        )
        return [selection_from_primitive(a) for a in answers]

    def _one_by_one(
        self,
        ctx: context.RequestContext,
        request: RequestSpec,
        count: int,
        exclude_instance_uuid: str | None,
    ) -> list[Selection]:
        """A batch for a scheduler that picks one server at a time.

        Such a scheduler sees the group's existing members but not the
        batch's earlier picks, which are not built yet. So each pick is
        passed on in the request: under anti-affinity a host picked once
        is ignored for the rest of the batch (one member per host at most
        from the batch: never more than the policy allows, whatever the
        members already there, though a ``max_server_per_host`` above 1
        goes unused); under affinity the rest follow the first pick's
        host. Capacity needs nothing here: the build's claims refuse an
        overcommitted host and the conductor retries elsewhere.
        """
        group = request.instance_group
        policy = group.policy if group is not None else None
        request = request.obj_clone()
        picks: list[Selection] = []
        for _ in range(count):
            pick = self.select_destination(ctx, request, exclude_instance_uuid)
            picks.append(pick)
            if policy == "anti-affinity":
                request.ignore_hosts = [
                    *(request.ignore_hosts or ()),
                    pick.host,
                ]
            elif (
                policy == "affinity" and request.requested_destination is None
            ):
                request.requested_destination = Destination(host=pick.host)
        return picks

    def ping(
        self,
        ctx: context.RequestContext,
        server: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """The pid and RPC version of a scheduler (``server``: one named
        process; default: any)."""
        return rpc.ping(self.client, ctx, SERVICE, server, timeout)


def selection_to_primitive(selection: Selection) -> dict[str, Any]:
    """A Selection as plain data; the cell stays a versioned object."""
    return {
        "cell": selection.cell,
        "host": selection.host,
        "node": selection.node,
        "candidates": selection.candidates,
        "steps": [
            [step.name, step.before, [list(r) for r in step.refused]]
            for step in selection.steps
        ],
        "weight": selection.weight,
        "weighed": selection.weighed,
        "weight_reasons": list(selection.weight_reasons),
    }


def selection_from_primitive(data: dict[str, Any]) -> Selection:
    cell = data["cell"]
    if not isinstance(cell, CellMapping):
        raise exception.ReqspecError(
            f"a selection arrived without a cell mapping: {cell!r}"
        )
    return Selection(
        cell=cell,
        host=data["host"],
        node=data["node"],
        candidates=data["candidates"],
        steps=tuple(
            FilterStep(name, before, tuple((h, r) for h, r in refused))
            for name, before, refused in data["steps"]
        ),
        weight=data["weight"],
        weighed=data["weighed"],
        weight_reasons=tuple(data["weight_reasons"]),
    )
