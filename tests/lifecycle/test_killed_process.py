"""A conductor process killed with SIGKILL after each step of a move.

One child process per crash point, each moving its own server, all at
once; each kills itself right after its step. Then heal runs in this
process and every server must end up settled: no spec lost, none
duplicated, every server where its move was going.
"""

import os
import signal
import subprocess
import sys

import pytest

from reqspec import compute_api
from reqspec.lifecycle import heal
from reqspec.lifecycle import transfer
from tests.fixtures import cloud

pytestmark = pytest.mark.backends("sqlite", "postgresql")

CHILD = """
import os, signal, sys
from reqspec import context
from reqspec.conductor import build, migrate
from reqspec.conf import settings

api_url, action, uuid, step = sys.argv[1:5]

def die(done_uuid, done):
    if done == step:
        os.kill(os.getpid(), signal.SIGKILL)

own = settings.Settings.from_conf(settings.new_conf())
own = own.with_api_connection(api_url).replace(after_step=die)
ctx = context.get_admin_context(settings=own)
if action == "build":
    build.build_server(ctx, uuid)
else:
    migrate.migrate(ctx, uuid, host="b1", allow_cross_cell=True)
sys.exit("the process outlived step " + step)
"""

TIMEOUT = 120


def _kill_after_each_step(env, tmp_path, action, servers):
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, env.api_url, action, uuid, step],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for step, uuid in servers.items()
    ]
    try:
        for child, step in zip(children, servers, strict=True):
            _, err = child.communicate(timeout=TIMEOUT)
            assert child.returncode == -signal.SIGKILL, (step, err[-2000:])
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait(timeout=10)


def test_killed_builds_converge(db, tmp_path):
    cloud.add_host(db, 1, "b1", memory_mb=65536, vcpus=64)
    steps = list(transfer.BUILD_STEPS)
    servers = {step: cloud.create(db) for step in steps}

    _kill_after_each_step(db, tmp_path, "build", servers)

    report = heal.heal(db.ctx)
    assert report.ok and not report.aborted
    # Every child died after recording its move, so heal finished every
    # one that had not finished by itself.
    assert sorted(report.finished) == sorted(
        uuid for step, uuid in servers.items() if step != "finished"
    )
    cloud.assert_settled(db, list(servers.values()))
    for uuid in servers.values():
        view = compute_api.show_server(db.ctx, uuid)
        assert (view.location, view.host, view.status) == (
            "cell2",
            "b1",
            "ACTIVE",
        )


def test_killed_cross_cell_moves_converge(db, tmp_path):
    cloud.add_host(db, 0, "a1", memory_mb=65536, vcpus=64)
    cloud.add_host(db, 1, "b1", memory_mb=65536, vcpus=64)
    servers = {
        step: cloud.boot(db, availability_zone="az-1:a1")
        for step in transfer.STEPS
    }

    _kill_after_each_step(db, tmp_path, "migrate", servers)

    report = heal.heal(db.ctx)
    assert report.ok and not report.aborted
    cloud.assert_settled(db, list(servers.values()))
    for uuid in servers.values():
        view = compute_api.show_server(db.ctx, uuid)
        assert (view.location, view.host) == ("cell2", "b1")
    assert os.listdir(tmp_path) == []  # the children wrote nothing here
