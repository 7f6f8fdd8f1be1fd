"""reqspec-manage db sync / db version: where each database stands."""

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from reqspec import conf
from reqspec.cmd import manage
from reqspec.db import engines
from reqspec.db import migration
from tests.fixtures import databases

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
    # Fresh: nothing to list cells from yet, but the state is shown.
    assert manage.main(["db", "version"]) == 1
    out, err = capsys.readouterr()
    assert _state(out, "the API database") == ["-", API_HEAD, "empty"]
    assert "reqspec-manage db sync" in err

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


@pytest.fixture
def cell_url(
    backend: str, provisioners: dict[str, databases.Provisioner]
) -> Iterator[str]:
    provisioner = databases.provisioner_for(provisioners, backend)
    url = provisioner.create("cell")
    yield url
    engines.dispose(url)
    provisioner.drop(url)


def test_cells_are_synced_and_shown_one_by_one(
    api_url: str, cell_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert manage.main(["db", "sync", "--database", "api"]) == 0
    args = ["cell", "create", "--name", "c1", "--connection", cell_url]
    assert manage.main(args) == 0
    capsys.readouterr()

    assert manage.main(["db", "version"]) == 0
    out, _ = capsys.readouterr()
    cell_head = migration.head("cell")
    (label,) = [r for r in out.splitlines() if "cell c1 (" in r]
    cells = [c.strip() for c in label.split("|")[2:5]]
    assert cells == ["-", cell_head, "empty"]

    assert (
        manage.main(["db", "sync", "--database", "cell", "--cell", "c1"]) == 0
    )
    out, _ = capsys.readouterr()
    assert f"at {cell_head} (up to date)" in out
    assert migration.db_version("cell", cell_url).current == cell_head


def test_a_database_ahead_of_the_code_is_refused(
    api_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert manage.main(["db", "sync"]) == 0
    engine = engines.create_engine(api_url, max_retries=0)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                f"UPDATE {migration.VERSION_TABLES['api']} "
                "SET version_num = 'f00dfeedbeef'"
            )
        )
    engine.dispose()
    capsys.readouterr()

    assert manage.main(["db", "version"]) == 1
    out, _ = capsys.readouterr()
    assert _state(out, "the API database") == [
        "f00dfeedbeef",
        API_HEAD,
        "ahead of the code",
    ]
    assert manage.main(["db", "sync"]) == 1
    out, err = capsys.readouterr()
    assert "upgraded by a newer release" in err
    assert "Traceback" not in err
    assert migration.db_version("api", api_url).current == "f00dfeedbeef"


def test_unknown_cell_is_one_clear_error(
    api_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert manage.main(["db", "sync", "--database", "api"]) == 0
    capsys.readouterr()
    args = ["db", "sync", "--database", "cell", "--cell", "nowhere"]
    assert manage.main(args) == 1
    _, err = capsys.readouterr()
    assert err.strip() == (
        "error: No cell named or with uuid nowhere in the API database."
    )


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
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: Cannot reach the API database: ")
    assert "127.0.0.1" in lines[0]
