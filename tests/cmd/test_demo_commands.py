"""reqspec-manage demo: the JSON document proves every constraint held."""

import contextlib
import io
import json
import os
import re
import sqlite3
import subprocess
import sys

from reqspec.cmd import manage
from tests.test_demo import check_story


def _run(*argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = manage.main(list(argv))
    return code, out.getvalue()


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
    check_story(document)
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
    check_story(document)
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
    check_story(document)
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
