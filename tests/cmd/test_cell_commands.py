"""reqspec-manage cell create/list/update/delete, and commands that meet
a cell mapping no command could use (saved by an older release)."""

from collections.abc import Iterator
import contextlib
import os
from typing import cast

from oslo_utils import uuidutils
import pytest
import sqlalchemy as sa

from reqspec.conf import settings as conf_settings
from reqspec.db import api_models
from reqspec.db import cell_models
from reqspec.db import engines
from reqspec.db import urls
from tests.cmd.test_manage import Fresh
from tests.cmd.test_manage import run
from tests.db.test_urls import missing_driver

_cells = cast(sa.Table, api_models.CellMapping.__table__)


def one_error(err: str, *needles: str) -> str:
    """The single stderr line of an expected error."""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def missing_database(env: Fresh) -> str:
    """A URL of a database that was never created, on fresh's backend."""
    url = sa.engine.make_url(env.cell_url)
    if url.get_backend_name() == "sqlite":
        directory = os.path.dirname(env.config_file)
        return conf_settings.sqlite_url(
            os.path.join(directory, "no", "db.sqlite")
        )
    never = url.set(database="reqspec_never_created")
    return never.render_as_string(hide_password=False)


@contextlib.contextmanager
def writing(url: str) -> Iterator[sa.Connection]:
    """A transaction on ``url`` whose engine is closed afterwards (an open
    pool would keep the test database from being dropped)."""
    engine = engines.create_engine(url)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def cell_rows(env: Fresh) -> list[tuple[str, str]]:
    with writing(env.api_url) as conn:
        rows = conn.execute(sa.select(_cells.c.name, _cells.c.uuid))
        return [tuple(r) for r in rows]  # type: ignore[misc]


@pytest.fixture
def synced(
    fresh: Fresh,
    capsys: pytest.CaptureFixture[str],
) -> Fresh:
    code, _, _ = run(fresh, "db", "sync", "--database", "api", capsys=capsys)
    assert code == 0
    return fresh


def test_create_refuses_what_no_command_could_use(
    synced: Fresh, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = [
        (["--name", "c1", "--connection", "notaurl"], "not a database URL"),
        (
            ["--name", "c1", "--connection", f"{missing_driver()}://u@h/d"],
            "is not installed",
        ),
        (
            ["--name", "c1", "--connection", missing_database(synced)],
            "does not exist",
        ),
        (["--name", "", "--connection", synced.cell_url], "must not be"),
        (["--name", "  ", "--connection", synced.cell_url], "must not be"),
        (["--name", "c1", "--connection", "notaurl", "--no-verify"], "URL"),
    ]
    for argv, needle in cases:
        code, _, err = run(synced, "cell", "create", *argv, capsys=capsys)
        assert code == 1, argv
        one_error(err, needle)
    assert cell_rows(synced) == []


def test_no_verify_saves_a_database_that_is_not_up_yet(
    synced: Fresh, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        synced,
        "cell",
        "create",
        "--name",
        "later",
        "--connection",
        missing_database(synced),
        "--no-verify",
        capsys=capsys,
    )
    assert (code, err) == (0, "")
    assert "created cell later" in out
    assert [name for name, _ in cell_rows(synced)] == ["later"]


def test_update_renames_and_moves_a_cell(
    synced: Fresh, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--name", "c1", "--connection", synced.cell_url]
    assert run(synced, "cell", "create", *argv, capsys=capsys)[0] == 0
    code, out, _ = run(
        synced, "cell", "update", "c1", "--name", "c2", capsys=capsys
    )
    assert code == 0 and "updated cell c2" in out
    [(name, uuid)] = cell_rows(synced)
    assert name == "c2"

    code, _, err = run(
        synced, "cell", "update", uuid, "--connection", "x", capsys=capsys
    )
    assert code == 1
    one_error(err, "not a database URL")
    code, _, err = run(synced, "cell", "update", "c2", capsys=capsys)
    assert code == 1
    one_error(err, "--name and/or --connection")
    code, _, err = run(
        synced, "cell", "update", "nope", "--name", "x", capsys=capsys
    )
    assert code == 1
    one_error(err, "nope")

    code, out, err = run(synced, "cell", "delete", uuid, capsys=capsys)
    assert (code, err) == (0, "")
    assert cell_rows(synced) == []


def test_delete_refuses_a_cell_that_holds_servers(
    synced: Fresh, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--name", "c1", "--connection", synced.cell_url]
    assert run(synced, "cell", "create", *argv, capsys=capsys)[0] == 0
    code, _, _ = run(synced, "db", "sync", "--database", "cell", capsys=capsys)
    assert code == 0
    mappings = cast(sa.Table, api_models.InstanceMapping.__table__)
    with writing(synced.api_url) as conn:
        cell_id = conn.execute(sa.select(_cells.c.id)).scalar_one()
        conn.execute(
            mappings.insert().values(
                instance_uuid=uuidutils.generate_uuid(), cell_id=cell_id
            )
        )
    code, _, err = run(synced, "cell", "delete", "c1", capsys=capsys)
    assert code == 1
    one_error(err, "still holds servers", "1 instance mapping(s)")

    with writing(synced.api_url) as conn:
        conn.execute(mappings.delete())
    instances = cast(sa.Table, cell_models.Instance.__table__)
    with writing(synced.cell_url) as conn:
        conn.execute(
            instances.insert().values(
                uuid=uuidutils.generate_uuid(),
                status="active",
                vcpus=1,
                memory_mb=64,
                disk_gb=1,
            )
        )
    code, _, err = run(synced, "cell", "delete", "c1", capsys=capsys)
    assert code == 1
    one_error(err, "its database has 1 server(s)")
    assert [name for name, _ in cell_rows(synced)] == ["c1"]


@pytest.mark.parametrize("bad", ["notaurl", "unknowndb://u@h/d"])
def test_every_command_survives_a_bad_mapping_row(
    synced: Fresh, bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # As an older release saved it: nothing checked the URL or the name.
    uuid = uuidutils.generate_uuid()
    with writing(synced.api_url) as conn:
        conn.execute(
            _cells.insert().values(uuid=uuid, name="", database_connection=bad)
        )

    code, out, err = run(synced, "cell", "list", capsys=capsys)
    assert (code, err) == (0, "")
    assert uuid in out and urls.mask(bad) in out

    code, out, err = run(synced, "db", "version", capsys=capsys)
    assert code == 1 and err == ""
    assert f"reqspec-manage cell update {uuid}" in out

    code, out, _ = run(synced, "upgrade", "check", capsys=capsys)
    assert code == 2 and "Result: Failure" in out
    assert "Traceback" not in out

    code, _, err = run(synced, "db", "online_data_migrations", capsys=capsys)
    assert code == 2
    one_error(err, uuid, "cell update")

    code, _, err = run(synced, "db", "sync", capsys=capsys)
    assert code == 1
    one_error(err, uuid, "cell update")

    # The mapping can be repaired, and then everything works.
    code, _, err = run(
        synced,
        "cell",
        "update",
        uuid,
        "--name",
        "c1",
        "--connection",
        synced.cell_url,
        capsys=capsys,
    )
    assert (code, err) == (0, "")
    assert run(synced, "db", "sync", capsys=capsys)[0] == 0
    code, out, err = run(synced, "db", "version", capsys=capsys)
    assert (code, err) == (0, "")
    assert out.count("up to date") == 2
