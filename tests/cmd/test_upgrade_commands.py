"""reqspec-manage upgrade check."""

from alembic import command
import pytest

from reqspec import conf
from reqspec.cmd import manage
from reqspec.db import engines
from reqspec.db import migration
from tests.conftest import Env
from tests.fixtures.specs import make_spec
from tests.fixtures.specs import store_old_row

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def _result(out: str, check: str) -> tuple[str, str]:
    """(result, details) of one check in oslo.upgradecheck's table."""
    lines = [line.strip("| ").rstrip() for line in out.splitlines()]
    start = lines.index(f"Check: {check}")
    result = lines[start + 1].removeprefix("Result: ")
    details = []
    for line in lines[start + 2 :]:
        if line.startswith("+") or line.startswith("Check:"):
            break
        details.append(line.removeprefix("Details: ").strip())
    # The table wraps long lines, after a hyphen too ("reqspec-" then
    # "manage"): join those back without a space.
    return result, " ".join(details).replace("- ", "-")


def _stamp_head(env: Env) -> None:
    """The fixture builds schemas with create_all; record them as at the
    head revision, as db sync would have left them."""
    targets = [("api", env.api_url)]
    targets += [("cell", c.database_connection) for c in env.cells]
    for tree, url in targets:
        engine = engines.create_engine(url, max_retries=0)
        with engine.begin() as connection:
            command.stamp(migration._config(tree, connection), "head")
        engine.dispose()


def test_pending_online_migrations_warn_until_run(
    db: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    _stamp_head(db)
    assert manage.main(["upgrade", "check"]) == 0
    capsys.readouterr()
    store_old_row(db.cell_context(1), make_spec(db.ctx), "1.0")

    assert manage.main(["upgrade", "check"]) == 1
    out, _ = capsys.readouterr()
    result, details = _result(out, "Online data migrations")
    assert result == "Warning"
    assert "cell cell2" in details
    assert "backfill_spec_version has 1 row(s)" in details
    assert "reqspec-manage db online_data_migrations" in details

    assert manage.main(["db", "online_data_migrations"]) == 0
    capsys.readouterr()
    assert manage.main(["upgrade", "check"]) == 0
    out, _ = capsys.readouterr()
    assert _result(out, "Online data migrations") == ("Success", "None")


def test_a_database_behind_the_code_is_a_warning(
    empty_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    conf.CONF.set_override(
        "connection", empty_database_url, group="api_database"
    )
    first = migration.script_directory("api").get_base()
    migration.db_sync("api", empty_database_url, revision=first)

    assert manage.main(["upgrade", "check"]) == 1
    out, _ = capsys.readouterr()
    result, details = _result(out, "Database schema")
    assert result == "Warning"
    assert "the API database is behind" in details
    assert "reqspec-manage db sync" in details


def test_an_unreachable_database_is_a_failure(
    capsys: pytest.CaptureFixture[str],
) -> None:
    conf.CONF.set_override(
        "connection",
        "postgresql+psycopg2://postgres@127.0.0.1:1/reqspec",
        group="api_database",
    )
    assert manage.main(["upgrade", "check"]) == 2
    out, _ = capsys.readouterr()
    assert _result(out, "Database schema")[0] == "Failure"
    assert _result(out, "Online data migrations")[0] == "Failure"
