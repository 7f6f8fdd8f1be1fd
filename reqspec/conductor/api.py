"""The conductor as a driver of servers (the demo, a benchmark) sees it:
the same operations in this process (``LocalConductor``) or on conductor
services over the message bus (``RemoteConductor``), as Nova's
``nova.conductor.api`` fronts its local and RPC conductors."""

from typing import Protocol

from reqspec import context
from reqspec.conductor import build
from reqspec.conductor import common
from reqspec.conductor import migrate
from reqspec.conductor import resize
from reqspec.conductor import rpcapi
from reqspec.objects import Flavor


class Conductor(Protocol):
    """The conductor operations the scenario drives."""

    def build_server(
        self, ctx: context.RequestContext, uuid: str
    ) -> common.MoveResult: ...

    def resize(
        self, ctx: context.RequestContext, uuid: str, flavor: Flavor
    ) -> common.MoveResult: ...

    def confirm_resize(
        self, ctx: context.RequestContext, uuid: str
    ) -> common.MoveResult: ...

    def migrate(
        self,
        ctx: context.RequestContext,
        uuid: str,
        host: str | None = None,
        allow_cross_cell: bool = False,
    ) -> common.MoveResult: ...

    def evacuate(
        self,
        ctx: context.RequestContext,
        uuid: str,
        allow_cross_cell: bool = False,
    ) -> common.MoveResult: ...


class LocalConductor:
    """The conductor in this process (the embedded default)."""

    def build_server(
        self, ctx: context.RequestContext, uuid: str
    ) -> common.MoveResult:
        return build.build_server(ctx, uuid)

    def resize(
        self, ctx: context.RequestContext, uuid: str, flavor: Flavor
    ) -> common.MoveResult:
        return resize.resize(ctx, uuid, flavor)

    def confirm_resize(
        self, ctx: context.RequestContext, uuid: str
    ) -> common.MoveResult:
        return resize.confirm_resize(ctx, uuid)

    def migrate(
        self,
        ctx: context.RequestContext,
        uuid: str,
        host: str | None = None,
        allow_cross_cell: bool = False,
    ) -> common.MoveResult:
        return migrate.migrate(ctx, uuid, host, allow_cross_cell)

    def evacuate(
        self,
        ctx: context.RequestContext,
        uuid: str,
        allow_cross_cell: bool = False,
    ) -> common.MoveResult:
        return migrate.evacuate(ctx, uuid, allow_cross_cell=allow_cross_cell)


class RemoteConductor:
    """Conductor services over the message bus; each operation waits for
    its result (the story needs to know where each server went)."""

    def __init__(self, api: rpcapi.ComputeTaskAPI) -> None:
        self.api = api

    @staticmethod
    def _done(result: common.MoveResult | None) -> common.MoveResult:
        assert result is not None  # wait=True always answers
        return result

    def build_server(
        self, ctx: context.RequestContext, uuid: str
    ) -> common.MoveResult:
        return self._done(self.api.build_server(ctx, uuid, wait=True))

    def resize(
        self, ctx: context.RequestContext, uuid: str, flavor: Flavor
    ) -> common.MoveResult:
        return self._done(self.api.resize(ctx, uuid, flavor, wait=True))

    def confirm_resize(
        self, ctx: context.RequestContext, uuid: str
    ) -> common.MoveResult:
        return self._done(self.api.confirm_resize(ctx, uuid, wait=True))

    def migrate(
        self,
        ctx: context.RequestContext,
        uuid: str,
        host: str | None = None,
        allow_cross_cell: bool = False,
    ) -> common.MoveResult:
        return self._done(
            self.api.migrate(ctx, uuid, host, allow_cross_cell, wait=True)
        )

    def evacuate(
        self,
        ctx: context.RequestContext,
        uuid: str,
        allow_cross_cell: bool = False,
    ) -> common.MoveResult:
        return self._done(
            self.api.evacuate(
                ctx, uuid, allow_cross_cell=allow_cross_cell, wait=True
            )
        )
