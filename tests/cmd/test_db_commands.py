"""reqspec-manage db sync / db version: where each database stands."""

import pytest

from reqspec import conf
from reqspec.cmd import manage
from reqspec.db import migration

pytestmark = pytest.mark.backends("sqlite", "postgresql")

API_HEAD = migration.head("api")


def _state(out: str, database: str) -> list[str]:
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == database:
            return cells[1:]
    raise AssertionError(f"{database!r} not in:\n{out}")


@pytest.fixture
def api_url(empty_database_url: str) -> str:
    conf.CONF.set_override(
        "connection", empty_database_url, group="api_database"
    )
    return empty_database_url


def test_fresh_behind_and_up_to_date(
    api_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Fresh: nothing to list cells from yet, but the state is shown, and
    # an empty database is a state, not an error (exit 0, as documented).
    assert manage.main(["db", "version"]) == 0
    out, err = capsys.readouterr()
    assert _state(out, "the API database") == ["-", API_HEAD, "empty"]
    assert "reqspec-manage db sync" in out
    assert err == ""

    first = migration.script_directory("api").get_base()
    migration.db_sync("api", api_url, revision=first)
    assert manage.main(["db", "version"]) == 0
    out, _ = capsys.readouterr()
    assert _state(out, "the API database") == [first, API_HEAD, "behind"]

    assert manage.main(["db", "sync"]) == 0
    out, _ = capsys.readouterr()
    assert f"the API database: at {API_HEAD} (up to date)" in out
    assert "no cells yet" in out

    assert manage.main(["db", "version"]) == 0
    out, _ = capsys.readouterr()
    assert _state(out, "the API database") == [
        API_HEAD,
        API_HEAD,
        "up to date",
    ]


@pytest.mark.parametrize("command", [["db", "version"], ["db", "sync"]])
def test_unreachable_database_is_one_line_without_traceback(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Port 1 on the loopback: nothing listens there.
    conf.CONF.set_override(
        "connection",
        "postgresql+psycopg2://postgres@127.0.0.1:1/reqspec",
        group="api_database",
    )
    assert manage.main(command) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "using the API database: postgresql+psycopg2://postgres@127.0.0.1"
        ":1/reqspec ([api_database] connection)"
    ]
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: Cannot reach the API database: ")
    assert "127.0.0.1" in lines[0]
