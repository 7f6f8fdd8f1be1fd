"""reqspec-scheduler processes over the real RabbitMQ, across a rolling
upgrade: a scheduler of the previous release (RequestSpec 1.2, RPC 1.0)
serves a current conductor pinned by ``[upgrade_levels] scheduler``."""

import pytest

from reqspec import compute_api
from reqspec.conductor import rpcapi
from reqspec.scheduler import rpcapi as scheduler_rpcapi
from tests.fixtures import cloud
from tests.fixtures import services

pytestmark = pytest.mark.backends("sqlite", "postgresql")

# What the previous release knew, and nothing newer: its RequestSpec
# class (ovo refuses any version above the class's) and its RPC version.
OLD_SCHEDULER = """
import sys
import oslo_messaging
from reqspec.cmd import scheduler
from reqspec.objects import RequestSpec
from reqspec.scheduler import manager

RequestSpec.VERSION = "1.2"
manager.SchedulerManager.target = oslo_messaging.Target(version="1.0")
sys.exit(scheduler.main(sys.argv[1:]))
"""


def _cloud(db):
    cloud.add_host(db, 0, "a1", zone="az-1")
    cloud.add_host(db, 1, "b1", zone="az-2")


def test_an_old_scheduler_serves_a_pinned_conductor(db, broker, tmp_path):
    _cloud(db)
    assert scheduler_rpcapi.REQUEST_SPEC_VERSIONS["1.0"] == "1.2"
    with services.start(
        db,
        str(tmp_path),
        conductors=1,
        scheduler_command=services.python(OLD_SCHEDULER),
        upgrade_levels={"scheduler": "1.0"},
    ):
        uuid = cloud.create(db, availability_zone="az-2")
        result = rpcapi.ComputeTaskAPI().build_server(db.ctx, uuid, wait=True)
    # The zone in the backported spec was honoured.
    assert result is not None and (result.cell.name, result.host) == (
        "cell2",
        "b1",
    )
    assert compute_api.show_server(db.ctx, uuid).location == "cell2"
    cloud.assert_settled(db, [uuid])


def test_an_unpinned_conductor_is_refused_by_an_old_scheduler(
    db, broker, tmp_path
):
    _cloud(db)
    with services.start(
        db,
        str(tmp_path),
        conductors=1,
        scheduler_command=services.python(OLD_SCHEDULER),
    ):
        uuid = cloud.create(db)
        with pytest.raises(Exception, match=r"1\.1") as caught:
            rpcapi.ComputeTaskAPI().build_server(db.ctx, uuid, wait=True)
    assert "UnsupportedVersion" in str(caught.value)
    # Nothing moved: the spec waits in the API database for a retry.
    view = compute_api.show_server(db.ctx, uuid)
    assert (view.location, view.status) == ("API", "BUILD")
    cloud.assert_settled(db, [uuid])
