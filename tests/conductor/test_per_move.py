"""Per-move data of one move never reaches storage or the next move."""

import copy
import dataclasses

from reqspec.conductor import migrate
from reqspec.conductor import rebuild
from reqspec.conductor import resize
from reqspec.objects import Instance
from reqspec.objects import RequestSpec
from reqspec.scheduler.scheduler import Scheduler
from tests.fixtures import cloud


class RecordingScheduler(Scheduler):
    """The real scheduler, keeping a copy of every request it was given."""

    def __init__(self, before_return=None):
        super().__init__()
        self.requests = []
        self.before_return = before_return

    def select_destination(self, ctx, request, exclude_instance_uuid=None):
        selection = super().select_destination(
            ctx, request, exclude_instance_uuid
        )
        self.requests.append(copy.deepcopy(request))
        if self.before_return is not None:
            self.before_return(selection)
        return selection


def _stored(env, uuid, cell=0):
    return RequestSpec.get_by_instance_uuid(env.cell_context(cell), uuid)


def _per_move_set(spec):
    return {
        name
        for name in RequestSpec.PER_MOVE_FIELDS
        if spec.obj_attr_is_set(name) and getattr(spec, name) not in (None, [])
    }


def test_a_targeted_migration_leaves_nothing_for_the_next_move(db):
    for host in ("h1", "h2", "h3"):
        cloud.add_host(db, 0, host)
    uuid = cloud.boot(db, group=cloud.group("soft-anti-affinity"))
    spy = RecordingScheduler()

    migrate.migrate(db.ctx, uuid, host="h3", scheduler=spy)
    first = spy.requests[-1]
    assert first.requested_destination.host == "h3"
    assert first.ignore_hosts == ["h1"]
    assert first.instance_group.obj_attr_is_set("members")

    stored = _stored(db, uuid)
    assert _per_move_set(stored) == set()
    assert "h3" not in stored.to_document()
    assert not stored.instance_group.obj_attr_is_set("members")

    migrate.migrate(db.ctx, uuid, scheduler=spy)
    second = spy.requests[-1]
    assert second.requested_destination.host is None
    assert second.ignore_hosts == ["h3"]
    assert second.retry is None


def test_a_retried_claim_leaves_no_retry_behind(db):
    for host in ("h1", "h2", "h3"):
        cloud.add_host(db, 0, host, memory_mb=4096)
    uuid = cloud.boot(db, availability_zone="az-1:h1")
    raced = []

    def take_the_host_first(selection):
        # Another server grabs the chosen host between the scheduler's
        # choice and the conductor's claim, once.
        if raced:
            return
        raced.append(selection.host)
        Instance(
            db.cell_context(0),
            uuid="9d1e2f3a-0000-4000-8000-000000000001",
            status="ACTIVE",
            host=selection.host,
            node=selection.node,
            vcpus=1,
            memory_mb=4096,
            disk_gb=1,
        ).create()

    spy = RecordingScheduler(take_the_host_first)
    result = migrate.migrate(db.ctx, uuid, scheduler=spy)
    assert result.host not in (raced[0], "h1")
    retried = spy.requests[-1]
    assert retried.retry.hosts == [[raced[0], raced[0]]]
    assert "RetryFilter" in result.why

    assert _per_move_set(_stored(db, uuid)) == set()
    spy.before_return = None
    resize.resize(db.ctx, uuid, cloud.flavor("big", 2, 2048), scheduler=spy)
    assert spy.requests[-1].retry is None


def test_per_move_fields_left_on_the_stored_spec_are_never_written(db):
    cloud.add_host(db, 0, "h1")
    uuid = cloud.boot(db)
    spec = _stored(db, uuid)
    spec.ignore_hosts = ["h1"]
    spec.requested_destination = None
    spec.save()
    assert _stored(db, uuid).generation == 1  # nothing to write

    # And the conductor starts every move from a clean copy anyway.
    spy = RecordingScheduler()
    rebuild.rebuild(db.ctx, uuid, scheduler=spy)
    assert spy.requests[-1].ignore_hosts is None


def test_a_host_gone_before_its_claim_is_retried(db):
    cloud.add_host(db, 0, "h1")
    cloud.add_host(db, 0, "h2")
    cloud.add_host(db, 0, "h3")
    uuid = cloud.boot(db, availability_zone="az-1:h1")

    class VanishingHost(RecordingScheduler):
        def select_destination(self, ctx, request, exclude=None):
            selection = super().select_destination(ctx, request, exclude)
            if len(self.requests) == 1:
                return dataclasses.replace(selection, host="gone", node="gone")
            return selection

    spy = VanishingHost()
    result = migrate.migrate(db.ctx, uuid, scheduler=spy)
    assert result.host in ("h2", "h3")
    assert spy.requests[-1].retry.hosts == [["gone", "gone"]]
