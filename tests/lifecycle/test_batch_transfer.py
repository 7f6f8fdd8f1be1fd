"""A batch build survives a crash at every step, as a single build does.

The crash points are those of a single build, each reached by many
servers at once: after the record (one API transaction), after each
target cell's write and after each cell's finish (one transaction each).
A hook raises there (in-process), or a child process is killed there
with SIGKILL; then heal, or building again, settles every server.
"""

import signal
import subprocess
import sys

import pytest

from reqspec import compute_api
from reqspec.conductor import build
from reqspec.lifecycle import heal
from reqspec.lifecycle import transfer
from tests.fixtures import cloud
from tests.lifecycle.conftest import Crash

#: (step, which call of its hook): the record; the first cell's write
#: and finish (three servers), then the second cell's.
POINTS = [
    ("recorded", 1),
    ("written", 1),
    ("written", 4),
    ("finished", 1),
    ("finished", 4),
]
#: How many of the six builds each crash leaves recorded, unfinished.
LEFT_RECORDED = {
    ("recorded", 1): 6,
    ("written", 1): 6,
    ("written", 4): 3,
    ("finished", 1): 3,
    ("finished", 4): 0,
}
SERVERS = 6


def _cloud(env):
    cloud.add_host(env, 0, "a1", memory_mb=65536, vcpus=64, local_gb=2000)
    cloud.add_host(env, 1, "b1", memory_mb=65536, vcpus=64, local_gb=2000)


def _crash_at(step, nth):
    seen = []

    def hook(uuid, done):
        if done == step:
            seen.append(uuid)
            if len(seen) == nth:
                transfer.AFTER_STEP.clear()
                raise Crash(step)

    transfer.AFTER_STEP.append(hook)


def _assert_built(env, uuids):
    hosts = []
    for uuid in uuids:
        view = compute_api.show_server(env.ctx, uuid)
        assert view.status == "ACTIVE"
        hosts.append(view.host)
    # Spread over both cells by free RAM, three each.
    assert sorted(hosts) == ["a1"] * 3 + ["b1"] * 3


@pytest.mark.parametrize("finisher", ["heal", "build again"])
@pytest.mark.parametrize(("step", "nth"), POINTS)
def test_a_batch_build_crashed_anywhere_converges(db, step, nth, finisher):
    _cloud(db)
    bystander = cloud.boot(db)
    uuids = compute_api.create_servers(db.ctx, SERVERS, flavor=cloud.flavor())
    _crash_at(step, nth)
    try:
        with pytest.raises(Crash):
            build.build_servers(db.ctx, uuids)
    finally:
        transfer.AFTER_STEP.clear()

    # Nothing is lost at the crash point, and the API shows every server.
    counts = cloud.spec_counts(db)
    assert all(counts[uuid] >= 1 for uuid in uuids)
    for uuid in uuids:
        assert compute_api.show_server(db.ctx, uuid).status in (
            "BUILD",
            "ACTIVE",
        )

    if finisher == "heal":
        report = heal.heal(db.ctx)
        assert report.ok and not report.aborted
        assert report.unscheduled == []
        assert len(report.finished) == LEFT_RECORDED[step, nth]
    else:
        results = build.build_servers(db.ctx, uuids)
        assert all(r.built for r in results)
    _assert_built(db, uuids)
    cloud.assert_settled(db, [bystander, *uuids])


CHILD = """
import os, signal, sys
from reqspec import conf, context
from reqspec.conductor import build
from reqspec.lifecycle import transfer

api_url, step, nth, *uuids = sys.argv[1:]
conf.CONF([], project="reqspec", default_config_files=[])
conf.CONF.set_override("connection", api_url, group="api_database")
seen = []

def die(done_uuid, done):
    if done == step:
        seen.append(done_uuid)
        if len(seen) == int(nth):
            os.kill(os.getpid(), signal.SIGKILL)

transfer.AFTER_STEP.append(die)
build.build_servers(context.get_admin_context(), uuids)
sys.exit("the process outlived " + step + " " + nth)
"""

TIMEOUT = 120


def test_killed_batch_builds_converge(db, tmp_path):
    _cloud(db)
    requests = {
        point: compute_api.create_servers(
            db.ctx, SERVERS, flavor=cloud.flavor()
        )
        for point in POINTS
    }
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, db.api_url, step, str(nth), *uuids],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for (step, nth), uuids in requests.items()
    ]
    try:
        for child, point in zip(children, requests, strict=True):
            _, err = child.communicate(timeout=TIMEOUT)
            assert child.returncode == -signal.SIGKILL, (point, err[-2000:])
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait(timeout=10)

    report = heal.heal(db.ctx)
    assert report.ok and not report.aborted and not report.unscheduled
    everyone = [uuid for uuids in requests.values() for uuid in uuids]
    cloud.assert_settled(db, everyone)
    for uuid in everyone:
        view = compute_api.show_server(db.ctx, uuid)
        assert (view.status, view.location) == ("ACTIVE", view.location)
        assert view.location in ("cell1", "cell2")
