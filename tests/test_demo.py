"""The demo's scenario on every backend: the same story as
``reqspec-manage demo`` (which runs it on SQLite files), told on the
``db`` fixture's databases, with the conductor in this process."""

import collections
from typing import Any

from reqspec import demo
from tests.conftest import Env
from tests.fixtures import cloud


def test_the_story_holds_every_constraint(db: Env) -> None:
    report = demo.run(db.ctx, db.cells)
    check_story(report.to_dict())
    uuids = [s["uuid"] for s in report.servers]
    # One spec per server, in the cell its mapping names, and nothing
    # left in the API database.
    cloud.assert_settled(db, uuids)


def check_story(document: dict[str, Any]) -> None:
    """What a demo report (``DemoReport.to_dict()``) must show: every
    constraint of every server held, through every move."""
    servers = {s["name"]: s for s in document["servers"]}
    assert set(servers) == {
        "web-1",
        "web-2",
        "web-3",
        "db-1",
        "arm-1",
        "pinned-1",
    }
    for server in servers.values():
        assert server["status"] == "ACTIVE"
        assert server["cell"] in ("cell1", "cell2")
        if server["availability_zone"]:
            assert (
                server["host_availability_zone"] == server["availability_zone"]
            )
        assert server["host_architecture"] == server["image_architecture"]
    web = [s for s in servers.values() if s["group"]]
    assert {s["policy"] for s in web} == {"anti-affinity"}
    assert len({s["host"] for s in web}) == len(web) == 3
    assert servers["db-1"]["flavor"] == "m1.large"
    assert servers["pinned-1"]["host"] == "c1-h3"
    hosts = {h["host"]: h for h in document["hosts"]}
    down = [h for h, v in hosts.items() if not v["up"]]
    assert len(down) == 1 and hosts[down[0]]["servers"] == 0
    actions = collections.Counter(
        e["action"].split()[0] for e in document["events"]
    )
    assert actions["resize"] == actions["evacuate"] == 1
    assert actions["migrate"] == 2  # one cross-cell, one refused
    # Each server names the operation that last chose its host, and why.
    placed = {n: s["placed_by"] for n, s in servers.items()}
    assert placed["db-1"]["action"].startswith("resize")
    assert placed["web-2"]["action"].startswith("evacuate")
    assert "AntiAffinity" in placed["web-2"]["why"]
    for server in servers.values():
        event = document["events"][server["placed_by"]["event"] - 1]
        assert event["server"] == server["name"]
        assert event["result"] == f"{server['cell']}/{server['host']}"
    refused = [
        e for e in document["events"] if e["result"].startswith("refused")
    ]
    assert [e["server"] for e in refused] == ["arm-1"]
