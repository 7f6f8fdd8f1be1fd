"""list_servers: every cell at once, paged, and a cell that is down.

The down cell is a real database that refuses connections, never
answers, or answers late (``tests.fixtures.down_cells``), on every
backend.
"""

import time

import pytest

from reqspec import compute_api
from reqspec import context
from reqspec import exception
from reqspec.conductor import build
from reqspec.lifecycle import listing
from reqspec.lifecycle import scatter
from tests.fixtures import cloud
from tests.fixtures.down_cells import FlakyCell
from tests.fixtures.down_cells import ZONE

TIMEOUT = 0.5
# Thread start-up and the API database's own query, on a loaded machine.
SLACK = 1.5


def _user(project: str = "p1") -> context.RequestContext:
    return context.RequestContext(user_id="u1", project_id=project)


def _servers(db, flaky=None, project="p1"):
    """Servers newest first: two unbuilt (API), two in cell1, two in
    cell2 and, with ``flaky``, three in it, interleaved in time."""
    cloud.add_host(db, 0, "h1", vcpus=64, memory_mb=65536)
    cloud.add_host(db, 1, "h2", zone="az-2", vcpus=64, memory_mb=65536)
    zones = ["az-1", None, "az-2", "az-1", None, "az-2"]
    if flaky is not None:
        cloud.add_host(db, 2, "h3", zone=ZONE, vcpus=64, memory_mb=65536)
        zones[1:1] = [ZONE]
        zones[4:4] = [ZONE]
        zones.append(ZONE)
    uuids = []
    for zone in zones:
        uuid = compute_api.create_server(
            _user(project),
            flavor=cloud.flavor(),
            image=cloud.X86,
            availability_zone=zone,
        )
        if zone is not None:
            build.build_server(db.ctx, uuid)
        uuids.append(uuid)
    return uuids[::-1]


def _pages(ctx, limit, **kwargs):
    pages, marker = [], None
    while True:
        page = compute_api.list_servers(
            ctx, limit=limit, marker=marker, **kwargs
        )
        if not page:
            return pages
        pages.append(page)
        marker = page[-1].uuid


def test_pages_hold_every_server_once_newest_first(db):
    uuids = _servers(db)
    pages = _pages(_user(), 4)
    assert [len(p) for p in pages] == [4, 2]
    assert [v.uuid for p in pages for v in p] == uuids
    views = {v.uuid: v for p in pages for v in p}
    assert {v.location for v in views.values()} == {"API", "cell1", "cell2"}
    for view in views.values():
        assert view == compute_api.show_server(_user(), view.uuid)
    # The same answer in one page as in many.
    assert compute_api.list_servers(_user(), limit=100) == [
        v for p in pages for v in p
    ]


def test_a_project_sees_only_its_servers(db):
    mine = _servers(db, project="p1")
    theirs = compute_api.create_server(_user("p2"), flavor=cloud.flavor())
    listed = [v.uuid for v in compute_api.list_servers(_user("p1"))]
    assert listed == mine
    assert [v.uuid for v in compute_api.list_servers(_user("p2"))] == [theirs]
    admin = [v.uuid for v in compute_api.list_servers(db.ctx)]
    assert admin == [theirs, *mine]
    # Another project's server is no marker, exactly like a missing one.
    with pytest.raises(exception.MarkerNotFound) as other:
        compute_api.list_servers(_user("p1"), marker=theirs)
    assert (
        str(other.value) == f"Invalid input: marker {theirs} names no server."
    )
    with pytest.raises(exception.MarkerNotFound):
        compute_api.list_servers(_user("p1"), marker="not-a-uuid")
    with pytest.raises(exception.Forbidden):
        compute_api.list_servers(context.RequestContext(user_id="u1"))


def test_limits(db):
    uuids = _servers(db)
    assert compute_api.list_servers(db.ctx, limit=0) == []
    assert [v.uuid for v in compute_api.list_servers(db.ctx, limit=1)] == [
        uuids[0]
    ]
    with pytest.raises(exception.Invalid):
        compute_api.list_servers(db.ctx, limit=-1)
    with pytest.raises(exception.Invalid):
        compute_api.list_servers(db.ctx, cell_timeout=-1)
    assert listing.MAX_LIMIT == 1000


def _check_down(views, flaky, expected):
    """The flaky cell's servers UNKNOWN from the API database, the
    others complete; all in their places."""
    assert [v.uuid for v in views] == expected
    for view in views:
        if view.location == "cell3":
            assert view.status == "UNKNOWN"
            assert view.to_dict() == {
                **dict.fromkeys(view.to_dict()),
                "uuid": view.uuid,
                "status": "UNKNOWN",
                "location": "cell3",
            }
        else:
            assert view.status in ("ACTIVE", "BUILD")
            assert view.flavor is not None and view.flavor.name == "small"
    assert sum(v.status == "UNKNOWN" for v in views) == 3


def _timed(fn, *args, **kwargs):
    start = time.monotonic()
    result = fn(*args, **kwargs)
    return result, time.monotonic() - start


def test_a_cell_that_refuses_connections(db, flaky_cell: FlakyCell):
    uuids = _servers(db, flaky_cell)
    flaky_cell.stop()
    views, took = _timed(
        compute_api.list_servers, _user(), cell_timeout=TIMEOUT
    )
    _check_down(views, flaky_cell, uuids)
    # A refusal is an answer: no need to wait for the deadline.
    assert took < TIMEOUT + SLACK
    view = compute_api.show_server(_user(), uuids[0], cell_timeout=TIMEOUT)
    assert (view.status, view.location, view.flavor) == (
        "UNKNOWN",
        "cell3",
        None,
    )
    flaky_cell.start()
    views = compute_api.list_servers(_user(), cell_timeout=10)
    assert [v.status for v in views].count("ACTIVE") == 7
    assert compute_api.show_server(_user(), uuids[0]).host == "h3"


def test_a_cell_that_never_answers(db, flaky_cell: FlakyCell):
    uuids = _servers(db, flaky_cell)
    flaky_cell.hang()
    key = flaky_cell.cell.uuid
    views, took = _timed(
        compute_api.list_servers, _user(), cell_timeout=TIMEOUT
    )
    _check_down(views, flaky_cell, uuids)
    assert TIMEOUT <= took < TIMEOUT + SLACK
    # The stuck worker is abandoned, not replaced: later calls find its
    # cell down at once and start no thread for it.
    assert scatter.late_workers().get(key) == 1
    for _ in range(5):
        views, took = _timed(
            compute_api.list_servers, _user(), cell_timeout=TIMEOUT
        )
        _check_down(views, flaky_cell, uuids)
        assert took < TIMEOUT
    view, took = _timed(
        compute_api.show_server, _user(), uuids[0], cell_timeout=TIMEOUT
    )
    assert view.status == "UNKNOWN" and took < TIMEOUT + SLACK
    assert scatter.late_workers().get(key) == 1
    # Back up: the stuck worker finishes, and the cell answers again.
    flaky_cell.start()
    deadline = time.monotonic() + 30
    while scatter.late_workers().get(key) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert key not in scatter.late_workers()
    views = compute_api.list_servers(_user(), cell_timeout=30)
    assert [v.status for v in views].count("ACTIVE") == 7


def test_a_cell_that_answers_late(db, flaky_cell: FlakyCell):
    uuids = _servers(db, flaky_cell)
    # Every chunk each way waits: a query round trip takes twice the lag.
    lag = 0.4 if flaky_cell.backend != "sqlite" else 1.5
    flaky_cell.lag(lag)
    views, took = _timed(
        compute_api.list_servers, _user(), cell_timeout=TIMEOUT
    )
    _check_down(views, flaky_cell, uuids)
    assert took < TIMEOUT + SLACK
    # Given the time, the slow cell's servers come back complete.
    deadline = time.monotonic() + 30
    while scatter.late_workers() and time.monotonic() < deadline:
        time.sleep(0.05)
    if flaky_cell.backend == "sqlite":
        flaky_cell.lag(lag)
    views, took = _timed(compute_api.list_servers, _user(), cell_timeout=30)
    assert [v.uuid for v in views] == uuids
    assert [v.status for v in views].count("ACTIVE") == 7
    assert took >= lag


def test_paging_across_a_cell_going_down_and_up(db, flaky_cell: FlakyCell):
    uuids = _servers(db, flaky_cell)
    seen, marker, states = [], None, []
    for page_number in range(5):
        # Down for the 2nd and 4th page, up for the others.
        if page_number % 2:
            flaky_cell.stop()
        else:
            flaky_cell.start()
        page = compute_api.list_servers(
            _user(), limit=2, marker=marker, cell_timeout=TIMEOUT
        )
        seen += [v.uuid for v in page]
        states += [(v.location, v.status) for v in page]
        marker = page[-1].uuid if page else marker
    assert seen == uuids
    assert ("cell3", "UNKNOWN") in states
    assert ("cell3", "ACTIVE") in states
