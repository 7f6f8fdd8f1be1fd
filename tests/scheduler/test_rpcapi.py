"""The scheduler's RPC API over the real RabbitMQ: a round trip, version
pins with backports, and a refused object version.

The server runs in this process (a thread pool), behind a serializer
that records which RequestSpec version actually crossed the wire.
"""

from collections.abc import Iterator
from typing import Any

import oslo_messaging as messaging
import pytest

from reqspec import conf
from reqspec import exception
from reqspec import rpc
from reqspec.objects import InstanceNUMACell
from reqspec.objects import InstanceNUMATopology
from reqspec.objects import RequestSpec
from reqspec.scheduler import manager
from reqspec.scheduler import rpcapi
from reqspec.scheduler.scheduler import Scheduler
from tests.fixtures import cloud
from tests.fixtures import services

CONF = conf.CONF
pytestmark = pytest.mark.backends("sqlite", "postgresql")


class Recorder(rpc.ObjectSerializer):
    """Records the version of every RequestSpec primitive received."""

    def __init__(self) -> None:
        super().__init__("scheduler")
        self.received: list[str] = []

    def _process_object(self, context: Any, objprim: dict[str, Any]) -> Any:
        if objprim.get("reqspec_object.name") == "RequestSpec":
            self.received.append(objprim["reqspec_object.version"])
        return super()._process_object(context, objprim)


class Calls(manager.SchedulerManager):
    def __init__(self) -> None:
        super().__init__()
        self.methods: list[str] = []
        self.requests: list[RequestSpec] = []

    def select_destination(self, ctxt: Any, *args: Any, **kw: Any) -> Any:
        self.methods.append("select_destination")
        self.requests.append(kw["request"])
        return super().select_destination(ctxt, *args, **kw)

    def select_destinations(self, ctxt: Any, *args: Any, **kw: Any) -> Any:
        self.methods.append("select_destinations")
        return super().select_destinations(ctxt, *args, **kw)


@pytest.fixture
def server(
    db: Any,
    broker: str,
    tmp_path: Any,
) -> Iterator[tuple[Calls, Recorder]]:
    services.configure(str(tmp_path), db.api_url, broker)
    cloud.add_host(db, 0, "a1")
    cloud.add_host(db, 1, "b1", vcpus=8, memory_mb=16384)
    endpoint, recorder = Calls(), Recorder()
    server = messaging.get_rpc_server(
        rpc.get_transport(),
        messaging.Target(topic=CONF.scheduler.topic, server="test"),
        [endpoint],
        serializer=rpc.ContextSerializer(recorder),
    )
    server.start()
    try:
        yield endpoint, recorder
    finally:
        server.stop()
        server.wait()


def _request(db: Any, **fields: Any) -> RequestSpec:
    uuid = cloud.create(db)
    spec = RequestSpec.get_by_instance_uuid(db.ctx, uuid)
    for name, value in fields.items():
        setattr(spec, name, value)
    return spec


def test_a_selection_crosses_the_wire_as_the_local_one(db, server) -> None:
    _, recorder = server
    request = _request(db)
    remote = rpcapi.SchedulerAPI().select_destination(db.ctx, request)
    local = Scheduler().select_destination(db.ctx, request)
    assert remote == local  # cell mapping, host, steps and weights
    assert remote.cell.uuid == db.cells[1].uuid
    assert remote.explain() == local.explain()
    assert recorder.received == [RequestSpec.VERSION]


def test_a_pinned_sender_backports_the_spec(db, server) -> None:
    _, recorder = server
    CONF.set_override("scheduler", "1.0", group="upgrade_levels")
    request = _request(db, security_groups=None)
    selection = rpcapi.SchedulerAPI().select_destination(db.ctx, request)
    assert selection.host == "b1"
    assert recorder.received == [rpcapi.REQUEST_SPEC_VERSIONS["1.0"]]
    assert rpcapi.REQUEST_SPEC_VERSIONS["1.0"] != RequestSpec.VERSION


def test_a_pinned_sender_refuses_to_drop_a_page_policy(db, server) -> None:
    _, recorder = server
    CONF.set_override("scheduler", "1.0", group="upgrade_levels")
    numa = InstanceNUMATopology(
        cells=[
            InstanceNUMACell(
                id=0, cpuset=[0], memory=512, pagesize_policy="large"
            )
        ]
    )
    request = _request(db, numa_topology=numa)
    with pytest.raises(exception.ReqspecError, match="page"):
        rpcapi.SchedulerAPI().select_destination(db.ctx, request)
    assert recorder.received == []  # nothing was sent


def test_batches_go_one_by_one_to_an_older_scheduler(db, server) -> None:
    endpoint, _ = server
    request = _request(db)
    uuids = [request.instance_uuid] * 3
    assert (
        len(rpcapi.SchedulerAPI().select_destinations(db.ctx, request, uuids))
        == 3
    )
    assert endpoint.methods == ["select_destinations"]
    endpoint.methods.clear()
    CONF.set_override("scheduler", "1.1", group="upgrade_levels")
    selections = rpcapi.SchedulerAPI().select_destinations(
        db.ctx, request, uuids
    )
    assert [s.host for s in selections] == ["b1"] * 3
    assert endpoint.methods == ["select_destination"] * 3


def test_an_older_scheduler_keeps_anti_affinity_within_a_batch(
    db, server
) -> None:
    request = _request(db, instance_group=cloud.group("anti-affinity"))
    uuids = [request.instance_uuid] * 2
    CONF.set_override("scheduler", "1.1", group="upgrade_levels")
    api = rpcapi.SchedulerAPI()
    selections = api.select_destinations(db.ctx, request, uuids)
    # One scheduler call per server, and no host twice: each call is
    # told the hosts the batch already took.
    assert sorted(s.host for s in selections) == ["a1", "b1"]
    assert request.ignore_hosts is None  # the caller's request is intact
    with pytest.raises(exception.NoValidHost):
        api.select_destinations(db.ctx, request, uuids * 2)


def test_an_older_scheduler_keeps_affinity_within_a_batch(db, server) -> None:
    endpoint, _ = server
    request = _request(db, instance_group=cloud.group("affinity"))
    CONF.set_override("scheduler", "1.1", group="upgrade_levels")
    selections = rpcapi.SchedulerAPI().select_destinations(
        db.ctx, request, [request.instance_uuid] * 3
    )
    first = selections[0].host
    assert [s.host for s in selections] == [first] * 3
    # The picks after the first are bound to its host, whatever the
    # weighers would make of the hosts by then.
    sent = [r.requested_destination for r in endpoint.requests]
    assert sent[0] is None
    assert [d.host for d in sent[1:]] == [first, first]


def test_an_unknown_object_version_is_refused_naming_both(db, server) -> None:
    endpoint, _ = server
    primitive = _request(db).obj_to_primitive()
    primitive["reqspec_object.version"] = "1.99"
    client = rpcapi.SchedulerAPI().client.prepare(version="1.1")
    with pytest.raises(exception.IncompatibleObjectVersion) as caught:
        client.call(db.ctx, "select_destination", request=primitive)
    message = caught.value.message
    assert "RequestSpec version 1.99" in message
    assert f"up to version {RequestSpec.VERSION}" in message
    assert endpoint.methods == []  # refused before the method ran
