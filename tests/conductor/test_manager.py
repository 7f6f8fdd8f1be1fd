"""The conductor's RPC endpoint, called directly (no bus), and its
periodic heal: it leaves fresh work to the conductor doing it and takes
over what has been idle for ``[conductor] heal_after``."""

import os

import oslo_messaging as messaging
import pytest

from reqspec import conf
from reqspec import exception
from reqspec.conductor import manager
from reqspec.objects import InstanceMapping
from reqspec.scheduler.scheduler import Scheduler
from tests.fixtures import cloud

CONF = conf.CONF


class Crash(Exception):
    pass


def _crash_after(db, step: str):
    """A context with which a move crashes right after ``step``."""

    def hook(uuid: str, done: str) -> None:
        if done == step:
            raise Crash(step)

    return db.context_with(after_step=hook)


@pytest.fixture
def conductor():
    return manager.ConductorManager(Scheduler())


def test_a_build_answers_with_its_place_and_pid(db, conductor) -> None:
    cloud.add_host(db, 1, "b1")
    uuid = cloud.create(db)
    answer = conductor.build_server(db.ctx, uuid)
    assert answer["worker_pid"] == os.getpid()
    assert (answer["cell"].uuid, answer["host"]) == (db.cells[1].uuid, "b1")
    assert answer["selection"]["host"] == "b1"


def test_heal_leaves_a_fresh_move_to_its_conductor(db, conductor) -> None:
    cloud.add_host(db, 1, "b1")
    interrupted, waiting = cloud.create(db), cloud.create(db)
    with pytest.raises(Crash):
        conductor.build_server(_crash_after(db, "recorded"), interrupted)
    patient = db.context_with(conductor={"heal_after": 3600})
    run = conductor.periodic_heal(patient)
    assert (run.report.finished, run.built) == ([], [])
    assert InstanceMapping.get_by_instance_uuid(db.ctx, interrupted).moving
    # Idle long enough: the move is finished and the lost build is run.
    run = conductor.periodic_heal(db.context_with(conductor={"heal_after": 0}))
    assert run.report.finished == [interrupted]
    assert run.built == [waiting]
    cloud.assert_settled(db, [interrupted, waiting])


def test_heal_leaves_a_failed_build_to_the_operator(db, conductor) -> None:
    uuid = cloud.create(db)  # no host anywhere: NoValidHost
    # The endpoint marks it expected, for oslo.messaging's log.
    with pytest.raises(messaging.ExpectedException) as caught:
        conductor.build_server(db.ctx, uuid)
    assert isinstance(caught.value.exc_info[1], exception.NoValidHost)
    run = conductor.periodic_heal(db.context_with(conductor={"heal_after": 0}))
    assert (run.built, run.build_failed, run.anything) == ([], [], False)
    assert InstanceMapping.get_by_instance_uuid(db.ctx, uuid).fault


def test_a_batch_builds_what_it_can(db, conductor) -> None:
    cloud.add_host(db, 0, "a1", vcpus=1)
    uuids = [cloud.create(db) for _ in range(2)]
    answers = conductor.build_servers(db.ctx, uuids)
    assert [a["instance_uuid"] for a in answers] == uuids
    # One vcpu for two servers: at most one is built; every other one
    # is answered without a cell and with its mapping's fault as note.
    failed = [a for a in answers if a["cell"] is None]
    assert len(failed) >= 1
    for answer in failed:
        mapping = InstanceMapping.get_by_instance_uuid(
            db.ctx, answer["instance_uuid"]
        )
        assert mapping.fault and answer["note"] == mapping.fault
    cloud.assert_settled(db, uuids)
