"""The conductor in this process, as the demo drives it."""

from reqspec import compute_api
from reqspec.conductor import api as conductor_api
from tests.fixtures import cloud


def test_the_local_conductor_builds_and_moves(db) -> None:
    cloud.add_host(db, 0, "a1")
    cloud.add_host(db, 1, "b1")
    local = conductor_api.LocalConductor()
    uuid = cloud.create(db, availability_zone=None)
    built = local.build_server(db.ctx, uuid)
    assert built.selection is not None and built.worker_pid is None
    other = "b1" if built.host == "a1" else "a1"
    moved = local.migrate(db.ctx, uuid, host=other, allow_cross_cell=True)
    assert moved.host == other
    assert compute_api.show_server(db.ctx, uuid).host == other
