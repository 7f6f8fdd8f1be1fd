"""Faults on a deployment over the real RabbitMQ: a conductor SIGKILLed
halfway through 300 builds, and the bus connections dropped during a
burst of builds. Nobody runs a command afterwards: the surviving
conductors' periodic heal must settle everything."""

import time
from typing import Any

import pytest

from reqspec import compute_api
from reqspec.conductor import rpcapi
from reqspec.objects import InstanceMapping
from tests.fixtures import cloud
from tests.fixtures import services
from tests.fixtures import tcp_proxy

# Minutes of CI each: SQLite (one file, one writer at a time) and
# PostgreSQL (row locks) are the two ways a database serializes the
# conductors' writes; MySQL adds nothing the other suites do not cover.
pytestmark = [
    pytest.mark.backends("sqlite", "postgresql"),
    pytest.mark.slow,
]

BIG = {"vcpus": 400, "memory_mb": 400 * 1024, "local_gb": 4000}


def built(env: Any) -> set[str]:
    return {
        m.instance_uuid
        for m in InstanceMapping.get_all(env.ctx)
        if m.cell_mapping is not None and not m.moving
    }


def wait_for(env: Any, count: int, timeout: float) -> set[str]:
    deadline = time.monotonic() + timeout
    while len(done := built(env)) < count:
        assert time.monotonic() < deadline, f"{len(done)} of {count} built"
        time.sleep(0.5)
    return done


def test_a_conductor_killed_halfway_is_finished_by_the_others(
    db, broker, tmp_path
):
    cloud.add_host(db, 0, "a1", **BIG)
    cloud.add_host(db, 1, "b1", **BIG)
    uuids = [cloud.create(db) for _ in range(300)]
    with services.start(
        db,
        str(tmp_path),
        conductors=3,
        conductor={"workers": 4, "heal_interval": 1, "heal_after": 8},
    ) as deployment:
        victim = next(s for s in deployment.started if s.kind == "conductor")
        api = rpcapi.ComputeTaskAPI()
        for uuid in uuids:
            api.build_server(db.ctx, uuid)
        wait_for(db, 150, timeout=120)
        victim.process.kill()
        victim.process.wait(10)
        wait_for(db, 300, timeout=150)
        codes = deployment.stop()
    assert codes[victim.pid] == -9
    assert [c for p, c in codes.items() if p != victim.pid] == [0, 0, 0]
    cloud.assert_settled(db, uuids)
    counts = cloud.spec_counts(db)
    assert all(counts[u] == 1 for u in uuids)
    assert not any(cloud.where_specs_are(db, u) == ["API"] for u in uuids)


def test_a_dropped_bus_connection_loses_no_build(db, broker, tmp_path):
    cloud.add_host(db, 0, "a1", **BIG)
    cloud.add_host(db, 1, "b1", **BIG)
    proxy = tcp_proxy.Proxy(services.broker_address())
    url = f"rabbit://guest:guest@127.0.0.1:{proxy.port}/"
    uuids = [cloud.create(db) for _ in range(30)]
    refused = []
    try:
        with services.start(
            db,
            str(tmp_path),
            conductors=2,
            transport_url=url,
            conductor={"workers": 4, "heal_interval": 1, "heal_after": 8},
            DEFAULT={"rpc_response_timeout": 5},
        ) as deployment:
            api = rpcapi.ComputeTaskAPI()
            for i, uuid in enumerate(uuids):
                if i in (5, 18):
                    assert proxy.cut() > 0
                try:
                    api.build_server(db.ctx, uuid)
                except Exception:
                    refused.append(uuid)  # reported to the caller
            # What was not refused is built, in the end, by the
            # services; a refused build is still waiting in the API
            # database (the periodic heal builds it later, too).
            wait_for(db, len(uuids) - len(refused), timeout=120)
            codes = deployment.stop()
    finally:
        proxy.close()
    assert set(codes.values()) == {0}
    cloud.assert_settled(db, uuids)
    for uuid in set(uuids) - built(db):
        assert uuid in refused
        assert compute_api.show_server(db.ctx, uuid).location == "API"
