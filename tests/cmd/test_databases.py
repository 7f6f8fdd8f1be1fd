"""An operator's first hour: ordinary mistakes end in one ``error:`` line
and the right exit code, never a traceback, and nothing is created.

Run as real processes where it matters (logging goes to the terminal only
outside pytest) and with ``main()`` elsewhere.
"""

import os
import shutil
import subprocess
import sys

import pytest
import sqlalchemy as sa

from reqspec.cmd import manage
from reqspec.conf import settings as conf_settings
from tests.cmd.test_cell_commands import missing_database
from tests.cmd.test_cell_commands import one_error
from tests.cmd.test_manage import Fresh
from tests.db.test_urls import missing_driver

# Every command an operator may try before anything is set up.
COMMANDS = (
    ["cell", "list"],
    ["db", "version"],
    ["upgrade", "check"],
    ["db", "online_data_migrations"],
    ["heal"],
    ["cell", "create", "--name", "c1"],
)


def cli(
    *argv: str, cwd: str | None = None, user: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The real command in a new process (optionally as another user)."""
    command = [sys.executable, "-m", "reqspec.cmd.manage", *argv]
    if user is not None:
        command = ["setpriv", f"--reuid={user}", f"--regid={user}"]
        command += ["--clear-groups", sys.executable, "-m"]
        command += ["reqspec.cmd.manage", *argv]
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, cwd=cwd, env=env
    )


def _config(tmp_path: object, text: str) -> str:
    path = os.path.join(str(tmp_path), "reqspec.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def test_an_unusable_configuration_exits_2(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    tmp = str(tmp_path)
    unparsable = _config(tmp_path, "this is not ini\n")
    latin = os.path.join(tmp, "latin.conf")
    with open(latin, "wb") as f:
        f.write(b"[DEFAULT]\nstate_path = /tmp/\xe9\n")
    confdir = os.path.join(tmp, "conf.d")
    os.mkdir(confdir)
    shutil.copy(unparsable, os.path.join(confdir, "bad.conf"))
    cases = [
        (["--config-file", os.path.join(tmp, "nope.conf")], "nope.conf"),
        (["--config-file", tmp], "Is a directory"),
        (["--config-file", unparsable], "Failed to parse"),
        (["--config-file", latin], "not UTF-8"),
        (["--config-dir", os.path.join(tmp, "nodir")], "nodir"),
        (["--config-dir", confdir], "Failed to parse"),
    ]
    for argv, needle in cases:
        assert manage.main([*argv, "cell", "list"]) == 2, argv
        out, err = capsys.readouterr()
        assert out == ""
        one_error(err, "configuration", needle)
    assert set(os.listdir(tmp)) == {"reqspec.conf", "latin.conf", "conf.d"}


def test_an_unreadable_configuration_file(tmp_path: object) -> None:
    path = _config(tmp_path, "[DEFAULT]\n")
    os.chmod(path, 0)
    os.chmod(str(tmp_path), 0o755)
    # root reads anything: be nobody for this one.
    user = "65534" if os.geteuid() == 0 else None
    result = cli("--config-file", path, "cell", "list", user=user)
    assert result.returncode == 2, result.stderr
    one_error(result.stderr, "configuration", "reqspec.conf")


def test_no_configuration_creates_nothing_and_says_so(
    tmp_path: object,
) -> None:
    cwd = str(tmp_path)
    for argv in [COMMANDS[1], COMMANDS[2]]:
        result = cli(*argv, cwd=cwd)
        assert result.returncode in (1, 2), (argv, result)
        if argv == ["upgrade", "check"]:
            # Its table is the report: a failure naming the database.
            assert "the API database does not exist" in result.stdout
            assert "Traceback" not in result.stderr
        else:
            one_error(result.stderr, "the API database does not exist")
        assert (
            "using the API database: sqlite:///"
            + os.path.join(cwd, "reqspec-state", "api.sqlite")
            + " (no [api_database] connection"
        ) in result.stdout
        assert "no --config-file given" in result.stdout
    assert os.listdir(cwd) == []  # no state directory, no database

    misspelt = _config(tmp_path, "[api_databse]\nconnection = sqlite://\n")
    result = cli("--config-file", misspelt, "db", "version", cwd=cwd)
    assert result.returncode == 1
    assert "unknown section(s) ignored: [api_databse]" in result.stdout
    assert os.listdir(cwd) == ["reqspec.conf"]


def test_before_db_sync_no_traceback(
    fresh: Fresh, capsys: pytest.CaptureFixture[str]
) -> None:
    # oslo.db logs PostgreSQL's missing table with a traceback before the
    # error it raises; only the error line may reach the operator. One
    # real process (where nothing captures logging), then main() for the
    # rest (the command's own log handler writes to the captured stderr).
    result = cli("--config-file", fresh.config_file, "cell", "list")
    assert result.returncode == 1
    one_error(result.stderr, "reqspec-manage db sync")
    for argv in COMMANDS[:5]:
        code = manage.main(["--config-file", fresh.config_file, *argv])
        out, err = capsys.readouterr()
        result = subprocess.CompletedProcess(argv, code, out, err)
        assert "Traceback" not in result.stdout + result.stderr, argv
        if argv == ["db", "version"]:
            # An empty database is a state, not an error (docs agree).
            assert (result.returncode, result.stderr) == (0, ""), result
            assert "run 'reqspec-manage db sync'" in result.stdout
            continue
        if argv == ["upgrade", "check"]:
            assert (result.returncode, result.stderr) == (2, ""), result
            assert "run 'reqspec-" in result.stdout
            continue
        assert result.returncode in (1, 2), (argv, result)
        one_error(result.stderr)


def test_a_database_that_does_not_exist(
    fresh: Fresh, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = missing_database(fresh)
    with open(fresh.config_file, "a") as f:
        f.write(f"[api_database]\nconnection = {missing}\n")
    server = sa.engine.make_url(missing).get_backend_name() != "sqlite"
    # The fix named: CREATE DATABASE on a server, db sync for a SQLite file.
    fix = "CREATE DATABASE" if server else "reqspec-manage db sync"
    commands = [*COMMANDS, ["import-nova", "--connection", fresh.cell_url]]
    for argv in commands:
        code = manage.main(["--config-file", fresh.config_file, *argv])
        out, err = capsys.readouterr()
        assert code in (1, 2), argv
        if argv == ["upgrade", "check"]:
            assert err == "" and "Result: Failure" in out
            continue
        one_error(err, "the API database does not exist", fix)
    code = manage.main(["--config-file", fresh.config_file, "db", "sync"])
    _, err = capsys.readouterr()
    if server:
        assert code == 1
        one_error(err, "the API database does not exist")
    else:
        # db sync is the one command that creates (an SQLite) database.
        assert (code, err) == (0, "")
        assert os.path.exists(sa.engine.make_url(missing).database or "")


def test_import_nova_checks_its_source_first(
    fresh: Fresh, capsys: pytest.CaptureFixture[str]
) -> None:
    assert manage.main(["--config-file", fresh.config_file, "db", "sync"]) == 0
    capsys.readouterr()
    cases = [
        ("notaurl", "is not a database URL"),
        (f"{missing_driver()}://u@h/nova_api", "is not installed"),
        (missing_database(fresh), "the Nova API database does not exist"),
    ]
    for url, needle in cases:
        argv = ["--config-file", fresh.config_file, "import-nova"]
        assert manage.main([*argv, "--connection", url]) == 1, url
        _, err = capsys.readouterr()
        one_error(err, needle)


def test_upgrade_check_fails_while_a_cell_is_unusable(
    fresh: Fresh, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    argv = ["--config-file", fresh.config_file]
    assert manage.main([*argv, "db", "sync"]) == 0
    gone = os.path.join(str(tmp_path), "gone.sqlite")
    for name, url in [
        ("down", "postgresql+psycopg2://nobody@127.0.0.1:1/nowhere"),
        ("gone", conf_settings.sqlite_url(gone)),
        ("nodb", missing_database(fresh)),
    ]:
        create = ["cell", "create", "--name", name, "--connection", url]
        assert manage.main([*argv, *create, "--no-verify"]) == 0
    capsys.readouterr()
    assert manage.main([*argv, "upgrade", "check"]) == 2
    out, err = capsys.readouterr()
    assert "Cannot reach cell down" in out
    assert "cell gone" in out
    assert "Traceback" not in out + err
    assert not os.path.exists(gone)  # a read-only check creates nothing

    # db version: each unusable cell is a row saying why (exit 1).
    assert manage.main([*argv, "db", "version"]) == 1
    out, err = capsys.readouterr()
    rows = {
        line.split("|")[1].strip(): line
        for line in out.splitlines()
        if line.startswith("| cell ")
    }
    assert (
        "Cannot reach cell down" in rows[next(r for r in rows if "down" in r)]
    )
    for name in ("gone", "nodb"):
        row = rows[next(r for r in rows if f"cell {name} " in r)]
        assert "does not exist" in row, row
    assert err == "" and not os.path.exists(gone)
