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


def _crash_at(env, step, nth):
    """A context with which the ``nth`` server reaching ``step`` crashes."""
    seen = []

    def hook(uuid, done):
        if done == step:
            seen.append(uuid)
            if len(seen) == nth:
                raise Crash(step)

    return env.context_with(after_step=hook)


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
    with pytest.raises(Crash):
        build.build_servers(_crash_at(db, step, nth), uuids)

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
from reqspec import context
from reqspec.conductor import build
from reqspec.conf import settings

api_url, step, nth, *uuids = sys.argv[1:]
seen = []

def die(done_uuid, done):
    if done == step:
        seen.append(done_uuid)
        if len(seen) == int(nth):
            os.kill(os.getpid(), signal.SIGKILL)

own = settings.Settings.from_conf(settings.new_conf())
own = own.with_api_connection(api_url).replace(after_step=die)
build.build_servers(context.get_admin_context(settings=own), uuids)
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


@pytest.mark.parametrize("step", ["recorded", "written"])
def test_a_heal_racing_the_batch_changes_nothing(db, step):
    """Heal finishes the batch's recorded builds while the batch runs:
    the batch recognises their copies and reports them built."""
    _cloud(db)
    uuids = compute_api.create_servers(db.ctx, SERVERS, flavor=cloud.flavor())
    healed = []

    def race(uuid, done):
        if done == step and not healed:
            healed.append(heal.heal(db.ctx))

    results = build.build_servers(db.context_with(after_step=race), uuids)
    assert len(healed[0].finished) == SERVERS
    assert all(r.built for r in results)
    _assert_built(db, uuids)
    cloud.assert_settled(db, uuids)
