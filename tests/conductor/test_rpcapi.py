"""The conductor's RPC API on oslo.messaging's in-memory transport
(``fake://``, a real driver with JSON-checked messages): results come
back whole, and a pinned sender splits a batch for an older conductor."""

from collections.abc import Iterator
import os
from typing import Any

import pytest

from reqspec import conf
from reqspec import exception
from reqspec import rpc
from reqspec.conductor import manager
from reqspec.conductor import rpcapi
from reqspec.scheduler.scheduler import Scheduler
from tests.fixtures import cloud

CONF = conf.CONF
pytestmark = pytest.mark.backends("sqlite")


class Calls(manager.ConductorManager):
    def __init__(self) -> None:
        super().__init__(Scheduler())
        self.methods: list[str] = []

    def build_server(self, ctxt: Any, instance_uuid: str) -> Any:
        self.methods.append("build_server")
        return super().build_server(ctxt, instance_uuid)

    def build_servers(self, ctxt: Any, instance_uuids: list[str]) -> Any:
        self.methods.append("build_servers")
        return super().build_servers(ctxt, instance_uuids)


TOPIC = f"conductor-{os.getpid()}"


def _api(db: Any, pin: str | None = None) -> rpcapi.ComputeTaskAPI:
    """A client of the test's conductor, pinned to ``pin``."""
    ctx = db.context_with(
        conductor={"topic": TOPIC}, upgrade_levels={"conductor": pin}
    )
    return rpcapi.ComputeTaskAPI(settings=ctx.settings)


@pytest.fixture
def endpoint(db: Any) -> Iterator[Calls]:
    # The bus is oslo.messaging's, configured by the global CONF.
    CONF.set_override("transport_url", "fake://")
    calls = Calls()
    server = rpc.get_server(TOPIC, [calls], "conductor", settings=db.settings)
    server.start()
    try:
        yield calls
    finally:
        server.stop()
        server.wait()
        rpc.cleanup()


def test_a_called_build_returns_its_result(db, endpoint) -> None:
    cloud.add_host(db, 1, "b1")
    uuid = cloud.create(db)
    result = _api(db).build_server(db.ctx, uuid, wait=True)
    assert result is not None
    assert (result.cell.uuid, result.host) == (db.cells[1].uuid, "b1")
    assert result.worker_pid == os.getpid()
    assert "1 hosts" in result.why  # the selection came back too
    with pytest.raises(exception.InvalidInstanceState):
        _api(db).resize(db.ctx, uuid, cloud.flavor("small"), wait=True)


def test_a_pinned_sender_splits_a_batch(db, endpoint) -> None:
    cloud.add_host(db, 0, "a1")
    uuids = [cloud.create(db) for _ in range(3)]
    results = _api(db, "1.0").build_servers(db.ctx, uuids, wait=True)
    assert [r.instance_uuid for r in results or []] == uuids
    assert endpoint.methods == ["build_server"] * 3
    endpoint.methods.clear()
    more = [cloud.create(db) for _ in range(2)]
    assert _api(db).build_servers(db.ctx, more, wait=True)
    assert endpoint.methods == ["build_servers"]
    cloud.assert_settled(db, uuids + more)


def test_a_method_above_the_pin_is_a_typed_error(db, endpoint) -> None:
    with pytest.raises(exception.RPCVersionUnavailable, match="pins it"):
        _api(db, "0.9").build_server(db.ctx, cloud.create(db))
