"""The scheduler's RPC endpoint, called directly (no bus)."""

import os

from reqspec.objects import RequestSpec
from reqspec.scheduler import manager
from reqspec.scheduler import rpcapi
from tests.fixtures import cloud


def test_it_answers_with_selections_as_primitives(db) -> None:
    cloud.add_host(db, 0, "a1")
    uuid = cloud.create(db)
    spec = RequestSpec.get_by_instance_uuid(db.ctx, uuid)
    endpoint = manager.SchedulerManager()
    answers = endpoint.select_destinations(db.ctx, spec, [uuid, uuid])
    assert len(answers) == 2
    selection = rpcapi.selection_from_primitive(answers[0])
    assert (selection.cell.name, selection.host) == ("cell1", "a1")
    assert endpoint.ping(db.ctx) == {
        "pid": os.getpid(),
        "version": rpcapi.VERSION,
    }
