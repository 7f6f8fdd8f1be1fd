"""reqspec-manage db and cell commands, end to end on real databases."""

from collections.abc import Iterator
import dataclasses
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from reqspec import conf
from reqspec.cmd import manage
from reqspec.db import engines
from reqspec.db import migration
from tests.fixtures import databases

CONF = conf.CONF


@dataclasses.dataclass
class Fresh:
    api_url: str
    cell_url: str
    config_file: str


@pytest.fixture
def fresh(
    backend: str,
    provisioners: dict[str, databases.Provisioner],
    tmp_path: object,
) -> Iterator[Fresh]:
    """Empty API and cell databases, named in a config file."""
    provisioner = databases.provisioner_for(provisioners, backend)
    api_url = provisioner.create("cliapi")
    cell_url = provisioner.create("clicell")
    config_file = os.path.join(str(tmp_path), "reqspec.conf")
    with open(config_file, "w") as f:
        f.write(f"[DEFAULT]\nstate_path = {tmp_path}\n")
        f.write(f"[api_database]\nconnection = {api_url}\n")
    yield Fresh(api_url, cell_url, config_file)
    for url in (api_url, cell_url):
        engines.dispose(url)
        provisioner.drop(url)


def run(
    fresh: Fresh, *argv: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    code = manage.main(["--config-file", fresh.config_file, *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_sync_create_cell_sync_version_list(
    fresh: Fresh, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(fresh, "db", "sync", capsys=capsys)
    assert code == 0
    assert f"the API database: at {migration.head('api')}" in out
    assert "no cells yet" in out

    code, out, _ = run(
        fresh,
        "cell",
        "create",
        "--name",
        "c1",
        "--connection",
        fresh.cell_url,
        capsys=capsys,
    )
    assert code == 0 and "created cell c1" in out

    code, out, _ = run(fresh, "db", "version", capsys=capsys)
    assert code == 0
    assert "empty" in out  # the new cell is not synced yet

    code, out, _ = run(
        fresh,
        "db",
        "sync",
        "--database",
        "cell",
        "--cell",
        "c1",
        capsys=capsys,
    )
    assert code == 0 and f"at {migration.head('cell')}" in out
    assert migration.db_version("cell", fresh.cell_url).state == "up to date"

    code, out, _ = run(fresh, "db", "version", capsys=capsys)
    assert code == 0
    assert out.count("up to date") == 2

    code, out, _ = run(fresh, "cell", "list", capsys=capsys)
    assert code == 0 and "c1" in out


def test_expected_errors_are_one_line_and_exit_1(
    fresh: Fresh, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(fresh, "cell", "list", capsys=capsys)
    assert code == 1
    assert err.startswith("error: the API database does not have the schema")
    assert "reqspec-manage db sync" in err
    assert "Traceback" not in err

    run(fresh, "db", "sync", "--database", "api", capsys=capsys)
    code, _, err = run(
        fresh,
        "db",
        "sync",
        "--database",
        "cell",
        "--cell",
        "nope",
        capsys=capsys,
    )
    assert code == 1 and "nope" in err

    code, _, err = run(fresh, "db", "sync", "--cell", "c1", capsys=capsys)
    assert code == 1 and "--database cell" in err

    run(fresh, "cell", "create", "--name", "c1", capsys=capsys)
    code, _, err = run(fresh, "cell", "create", "--name", "c1", capsys=capsys)
    assert code == 1 and "already exists" in err


@pytest.mark.backends("sqlite")
def test_cell_create_defaults_to_a_file_in_the_state_path(
    fresh: Fresh, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    run(fresh, "db", "sync", capsys=capsys)
    code, out, _ = run(fresh, "cell", "create", "--name", "c9", capsys=capsys)
    assert code == 0
    assert os.path.join(str(tmp_path), "cell-c9.sqlite") in out


@pytest.mark.backends("postgresql")
def test_a_database_ahead_of_the_code(
    fresh: Fresh, capsys: pytest.CaptureFixture[str]
) -> None:
    run(fresh, "db", "sync", capsys=capsys)
    engine = engines.create_engine(fresh.api_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                f"UPDATE {migration.VERSION_TABLES['api']} "
                "SET version_num = 'ffffffffffff'"
            )
        )
    engine.dispose()
    code, out, _ = run(fresh, "db", "version", capsys=capsys)
    assert code == 1 and "ahead of the code" in out
    code, _, err = run(fresh, "db", "sync", capsys=capsys)
    assert code == 1
    assert "ffffffffffff" in err and "Upgrade reqspec" in err


@pytest.mark.backends("sqlite")
def test_an_unreachable_cell_database(
    fresh: Fresh, capsys: pytest.CaptureFixture[str]
) -> None:
    run(fresh, "db", "sync", capsys=capsys)
    run(
        fresh,
        "cell",
        "create",
        "--name",
        "gone",
        "--connection",
        "postgresql+psycopg2://nobody:Secret-Pass-7@127.0.0.1:9/nowhere",
        "--no-verify",
        capsys=capsys,
    )
    code, out, err = run(fresh, "db", "sync", capsys=capsys)
    assert code == 1
    assert "error: Cannot reach cell gone" in err
    assert "Connection refused" in err
    assert "Secret-Pass-7" not in err + out  # no password in messages
    code, out, _ = run(fresh, "db", "version", capsys=capsys)
    assert code == 1 and "Cannot reach cell gone" in out


@pytest.mark.backends("sqlite")
def test_as_a_real_process(fresh: Fresh) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reqspec.cmd.manage",
            "--config-file",
            fresh.config_file,
            "db",
            "sync",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "the API database: at" in result.stdout
    assert result.stderr == ""  # no warnings on a clean run


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        manage.main(["db"])
    assert info.value.code == 2


def test_an_invalid_option_value_stops_every_command(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    # Read when the settings are resolved, before the command runs, even
    # if the command itself never uses the option.
    path = os.path.join(str(tmp_path), "bad.conf")
    with open(path, "w") as f:
        f.write("[scheduler]\nmax_attempts = 0\n")
    assert manage.main(["--config-file", path, "db", "version"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: configuration: ")
    assert "max_attempts" in err
