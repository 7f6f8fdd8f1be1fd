"""reqspec-conductor processes over the real RabbitMQ: builds and moves
from the compute API, drained by SIGTERM, and a conductor killed in the
middle of 300 builds, finished by the others with no operator command."""

import os
import signal
import time
from typing import Any

import pytest

from reqspec import compute_api
from reqspec.conductor import rpcapi
from reqspec.objects import InstanceMapping
from tests.fixtures import cloud
from tests.fixtures import services

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def wait_until_built(env: Any, uuids: list[str], timeout: float) -> None:
    """Until no server of ``uuids`` waits for a build or a move."""
    deadline = time.monotonic() + timeout
    pending = set(uuids)
    while pending and time.monotonic() < deadline:
        time.sleep(0.5)
        for mapping in InstanceMapping.get_all(env.ctx):
            if mapping.cell_mapping is not None and not mapping.moving:
                pending.discard(mapping.instance_uuid)
    assert not pending, f"{len(pending)} of {len(uuids)} servers not built"


def test_builds_and_moves_go_through_the_services(db, broker, tmp_path):
    cloud.add_host(db, 0, "a1")
    cloud.add_host(db, 0, "a2")
    cloud.add_host(db, 1, "b1")
    with services.start(db, str(tmp_path)) as deployment:
        conductors = {
            s.pid for s in deployment.started if s.kind == "conductor"
        }
        api = rpcapi.ComputeTaskAPI()
        called = cloud.create(db)
        built = api.build_server(db.ctx, called, wait=True)
        assert built is not None and built.worker_pid in conductors
        assert built.selection is not None
        shown = compute_api.show_server(db.ctx, called)
        assert (shown.location, shown.host) == (built.cell.name, built.host)
        # The compute API records a request and casts its build.
        cast = compute_api.boot_servers(
            db.ctx, api, 5, flavor=cloud.flavor(), image=cloud.X86
        )
        single = cloud.create(db)
        assert api.build_server(db.ctx, single) is None  # returns at once
        cast.append(single)
        wait_until_built(db, cast, timeout=60)
        # The builds may have filled any host: migrate to a fresh one.
        cloud.add_host(db, 1, "b2")
        moved = api.migrate(
            db.ctx, called, host="b2", allow_cross_cell=True, wait=True
        )
        assert moved is not None and (moved.host, moved.cell.name) == (
            "b2",
            "cell2",
        )
        # A typed error comes back as itself.
        with pytest.raises(Exception) as caught:
            api.migrate(db.ctx, called, host="nowhere", wait=True)
        assert type(caught.value).__name__.startswith("NoValidHost")
        codes = deployment.stop()
    assert set(codes.values()) == {0}
    cloud.assert_settled(db, [called, *cast])


SLOW_CONDUCTOR = """
import sys, time
from reqspec.cmd import conductor, service

def slow(uuid, step):
    print("STEP", uuid, step, time.time(), flush=True)
    time.sleep(0.3)

def run(settings):
    return conductor.run(settings.replace(after_step=slow))

sys.exit(service.main(run, sys.argv[1:]))
"""


def _steps(log: str, uuid: str) -> list[tuple[str, float]]:
    with open(log) as f:
        return [
            (parts[2], float(parts[3]))
            for parts in (line.split() for line in f)
            if parts[:2] == ["STEP", uuid]
        ]


def test_sigterm_lets_the_move_in_progress_finish(db, broker, tmp_path):
    cloud.add_host(db, 1, "b1")
    with services.start(
        db,
        str(tmp_path),
        conductors=1,
        conductor_command=services.python(SLOW_CONDUCTOR),
    ) as deployment:
        conductor = deployment.started[-1]
        uuid = cloud.create(db)
        rpcapi.ComputeTaskAPI().build_server(db.ctx, uuid)
        deadline = time.monotonic() + 30
        while not _steps(conductor.log, uuid):
            assert time.monotonic() < deadline, conductor.log_tail()
            time.sleep(0.05)
        signalled = time.time()
        os.kill(conductor.pid, signal.SIGTERM)
        assert conductor.process.wait(timeout=30) == 0, conductor.log_tail()
    steps = _steps(conductor.log, uuid)
    # Steps still ran after the signal, up to the end of the move.
    assert steps[-1][0] == "finished"
    assert any(t > signalled for _, t in steps)
    assert "drained" in conductor.log_tail()
    mapping = InstanceMapping.get_by_instance_uuid(db.ctx, uuid)
    assert mapping.cell_mapping.name == "cell2" and not mapping.moving
    cloud.assert_settled(db, [uuid])
