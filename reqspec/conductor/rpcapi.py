"""The client side of the conductor's RPC API (like Nova's
``ComputeTaskAPI``).

Builds and moves are cast (the caller returns at once; the server's
status tells the rest) unless the caller passes ``wait=True``, which
makes the same request a call that returns the ``MoveResult``.
"""

from typing import Any

from reqspec import conf
from reqspec import context
from reqspec import exception
from reqspec import rpc
from reqspec.conductor import common
from reqspec.objects import CellMapping
from reqspec.objects import Flavor
from reqspec.objects import ImageMeta
from reqspec.scheduler import rpcapi as scheduler_rpcapi

CONF = conf.CONF

SERVICE = "conductor"

#: The newest version of this API.
VERSION = "1.1"


class ComputeTaskAPI:
    """Client side of the conductor RPC API.

    API version history:

    * 1.0 - Initial version: ``build_server``, ``migrate``, ``evacuate``,
      ``resize``, ``confirm_resize``, ``revert_resize``, ``rebuild``,
      ``shelve_offload``, ``unshelve`` and ``ping``. Each returns its
      ``MoveResult`` (with the conductor's pid) when called.
    * 1.1 - Add ``build_servers(instance_uuids)``: one request for many
      servers.
    """

    def __init__(self, url: str | None = None) -> None:
        self.client = rpc.get_client(
            CONF.conductor.topic,
            VERSION,
            CONF.upgrade_levels.conductor or None,
            SERVICE,
            url,
        )

    def _send(
        self,
        ctx: context.RequestContext,
        method: str,
        wait: bool,
        version: str = "1.0",
        **kwargs: Any,
    ) -> Any:
        if not self.client.can_send_version(version):
            raise exception.RPCVersionUnavailable(
                method=method,
                needed=version,
                service=SERVICE,
                pinned=CONF.upgrade_levels.conductor,
            )
        cctxt = self.client.prepare(version=version)
        if not wait:
            cctxt.cast(ctx, method, **kwargs)
            return None
        return cctxt.call(ctx, method, **kwargs)

    def _move(
        self,
        ctx: context.RequestContext,
        method: str,
        wait: bool,
        **kwargs: Any,
    ) -> common.MoveResult | None:
        answer = self._send(ctx, method, wait, **kwargs)
        return None if answer is None else result_from_primitive(answer)

    def build_server(
        self,
        ctx: context.RequestContext,
        instance_uuid: str,
        wait: bool = False,
    ) -> common.MoveResult | None:
        return self._move(
            ctx, "build_server", wait, instance_uuid=instance_uuid
        )

    def build_servers(
        self,
        ctx: context.RequestContext,
        instance_uuids: list[str],
        wait: bool = False,
    ) -> list[common.MoveResult] | None:
        """Build many servers; one request per server to a conductor
        older than 1.1."""
        if not self.client.can_send_version("1.1"):
            results = [
                self.build_server(ctx, uuid, wait) for uuid in instance_uuids
            ]
            return [r for r in results if r is not None] if wait else None
        answers = self._send(
            ctx,
            "build_servers",
            wait,
            version="1.1",
            instance_uuids=instance_uuids,
        )
        if answers is None:
            return None
        return [result_from_primitive(a) for a in answers]

    def migrate(
        self,
        ctx: context.RequestContext,
        instance_uuid: str,
        host: str | None = None,
        allow_cross_cell: bool = False,
        wait: bool = False,
    ) -> common.MoveResult | None:
        return self._move(
            ctx,
            "migrate",
            wait,
            instance_uuid=instance_uuid,
            host=host,
            allow_cross_cell=allow_cross_cell,
        )

    def evacuate(
        self,
        ctx: context.RequestContext,
        instance_uuid: str,
        host: str | None = None,
        allow_cross_cell: bool = False,
        wait: bool = False,
    ) -> common.MoveResult | None:
        return self._move(
            ctx,
            "evacuate",
            wait,
            instance_uuid=instance_uuid,
            host=host,
            allow_cross_cell=allow_cross_cell,
        )

    def resize(
        self,
        ctx: context.RequestContext,
        instance_uuid: str,
        flavor: Flavor,
        wait: bool = False,
    ) -> common.MoveResult | None:
        return self._move(
            ctx, "resize", wait, instance_uuid=instance_uuid, flavor=flavor
        )

    def confirm_resize(
        self,
        ctx: context.RequestContext,
        instance_uuid: str,
        wait: bool = False,
    ) -> common.MoveResult | None:
        return self._move(
            ctx, "confirm_resize", wait, instance_uuid=instance_uuid
        )

    def revert_resize(
        self,
        ctx: context.RequestContext,
        instance_uuid: str,
        wait: bool = False,
    ) -> common.MoveResult | None:
        return self._move(
            ctx, "revert_resize", wait, instance_uuid=instance_uuid
        )

    def rebuild(
        self,
        ctx: context.RequestContext,
        instance_uuid: str,
        image: ImageMeta | dict[str, Any] | None = None,
        wait: bool = False,
    ) -> common.MoveResult | None:
        return self._move(
            ctx, "rebuild", wait, instance_uuid=instance_uuid, image=image
        )

    def shelve_offload(
        self,
        ctx: context.RequestContext,
        instance_uuid: str,
        wait: bool = False,
    ) -> common.MoveResult | None:
        return self._move(
            ctx, "shelve_offload", wait, instance_uuid=instance_uuid
        )

    def unshelve(
        self,
        ctx: context.RequestContext,
        instance_uuid: str,
        allow_cross_cell: bool = False,
        wait: bool = False,
    ) -> common.MoveResult | None:
        return self._move(
            ctx,
            "unshelve",
            wait,
            instance_uuid=instance_uuid,
            allow_cross_cell=allow_cross_cell,
        )

    def ping(
        self,
        ctx: context.RequestContext,
        server: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """The pid and RPC version of a conductor (``server``: one named
        process; default: any)."""
        return rpc.ping(self.client, ctx, SERVICE, server, timeout)


def result_to_primitive(
    result: common.MoveResult, worker_pid: int
) -> dict[str, Any]:
    selection = result.selection
    return {
        "instance_uuid": result.instance_uuid,
        "action": result.action,
        "cell": result.cell,
        "host": result.host,
        "node": result.node,
        "selection": (
            None
            if selection is None
            else scheduler_rpcapi.selection_to_primitive(selection)
        ),
        "note": result.note,
        "worker_pid": worker_pid,
    }


def result_from_primitive(data: dict[str, Any]) -> common.MoveResult:
    cell = data["cell"]
    if cell is not None and not isinstance(cell, CellMapping):
        raise exception.ReqspecError(
            f"a move result arrived without a cell mapping: {cell!r}"
        )
    selection = data["selection"]
    return common.MoveResult(
        instance_uuid=data["instance_uuid"],
        action=data["action"],
        cell=cell,
        host=data["host"],
        node=data["node"],
        selection=(
            None
            if selection is None
            else scheduler_rpcapi.selection_from_primitive(selection)
        ),
        note=data["note"],
        worker_pid=data["worker_pid"],
    )
