"""reqspec-manage demo: the JSON document proves every constraint held."""

import collections
import contextlib
import io
import json
import os
import re
import sqlite3
import subprocess
import sys

from reqspec.cmd import manage


def _run(*argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = manage.main(list(argv))
    return code, out.getvalue()


def _check(document):
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


def _specs_in(state_dir):
    """Instance uuids of the spec rows in each database file."""
    found = {}
    for name in ("api", "cell-cell1", "cell-cell2"):
        with contextlib.closing(
            sqlite3.connect(os.path.join(state_dir, f"{name}.sqlite"))
        ) as conn:
            rows = conn.execute("SELECT instance_uuid FROM request_specs")
            found[name] = sorted(r[0] for r in rows)
    return found


def test_demo_json_in_process(tmp_path):
    state_dir = str(tmp_path / "demo")
    code, out = _run("demo", "--state-dir", state_dir, "--json")
    assert code == 0
    document = json.loads(out)
    assert document["state_dir"] == state_dir
    _check(document)
    # Every spec left the API database for exactly the cell shown.
    specs = _specs_in(state_dir)
    assert specs["api"] == []
    for server in document["servers"]:
        where = [n for n, uuids in specs.items() if server["uuid"] in uuids]
        assert where == [f"cell-{server['cell']}"]

    # Running it again in the same directory starts afresh.
    code, out = _run("demo", "--state-dir", state_dir)
    assert code == 0
    assert "Where each spec lives now" in out and state_dir in out
    assert sum(len(v) for v in _specs_in(state_dir).values()) == 6


def test_demo_refuses_a_directory_it_did_not_make(tmp_path, capsys):
    (tmp_path / "precious.txt").write_text("keep me")
    code, _ = _run("demo", "--state-dir", str(tmp_path))
    assert code == 1
    assert "was not made by 'reqspec-manage demo'" in capsys.readouterr().err
    assert os.listdir(tmp_path) == ["precious.txt"]


def test_demo_as_a_real_command(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "reqspec.cmd.manage", "demo", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    document = json.loads(result.stdout)
    _check(document)
    assert os.path.dirname(document["state_dir"]) == str(tmp_path)
    assert os.path.basename(document["state_dir"]).startswith("reqspec-demo-")


def test_demo_over_services_tells_the_same_story(tmp_path, broker):
    plain = tmp_path / "plain"
    code, text = _run("demo", "--state-dir", str(plain))
    assert code == 0
    state_dir = tmp_path / "services"
    code, out = _run(
        "demo", "--state-dir", str(state_dir), "--transport-url", broker
    )
    assert code == 0
    assert out.replace(str(state_dir), str(plain)) == text
    code, out = _run(
        "demo",
        "--state-dir",
        str(state_dir),
        "--transport-url",
        broker,
        "--json",
    )
    assert code == 0
    document = json.loads(out)
    _check(document)
    # Each server names the conductor process that built it: one of the
    # two that the demo started (their logs say their pids).
    conductors = set()
    for log in ("conductor-1.log", "conductor-2.log"):
        text = (state_dir / log).read_text()
        assert "stopped (drained)" in text
        ready = re.search(r"ready on topic \S+ as \S+\.(\d+)", text)
        assert ready is not None
        conductors.add(int(ready.group(1)))
    built_by = {s["built_by_pid"] for s in document["servers"]}
    assert built_by <= conductors and os.getpid() not in built_by
