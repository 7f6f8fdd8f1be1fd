"""The alembic trees: one line of history each, walkable on every backend,
and ending exactly at the models."""

import subprocess
import sys

from alembic import autogenerate
from alembic import migration as alembic_migration
import pytest
import sqlalchemy as sa

from reqspec import exception
from reqspec.db import api_models
from reqspec.db import cell_models
from reqspec.db import engines
from reqspec.db import migration

METADATA = {
    "api": api_models.APIBase.metadata,
    "cell": cell_models.CellBase.metadata,
}


def _revisions(database: str) -> list[str]:
    """Revisions from the base to the head."""
    script = migration.script_directory(database)
    return [rev.revision for rev in script.walk_revisions()][::-1]


@pytest.mark.parametrize("database", migration.DATABASES)
def test_one_base_and_one_head(database: str) -> None:
    script = migration.script_directory(database)
    assert len(script.get_bases()) == 1
    assert len(script.get_heads()) == 1
    assert migration.head(database) == _revisions(database)[-1]


def test_trees_are_independent() -> None:
    assert set(_revisions("api")).isdisjoint(_revisions("cell"))
    assert migration.VERSION_TABLES["api"] != migration.VERSION_TABLES["cell"]


def test_request_specs_table_is_the_same_in_both_databases() -> None:
    def shape(metadata: sa.MetaData) -> list[tuple[str, str, bool]]:
        table = metadata.tables["request_specs"]
        return [(c.name, repr(c.type), c.nullable) for c in table.columns]

    assert shape(METADATA["api"]) == shape(METADATA["cell"])


def _tables(url: str) -> set[str]:
    engine = engines.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


# Checks run right after a revision is applied, by revision id.
def _check_initial_api(url: str) -> None:
    assert {"request_specs", "cell_mappings"} <= _tables(url)


def _check_initial_cell(url: str) -> None:
    assert "request_specs" in _tables(url)
    assert "cell_mappings" not in _tables(url)


CHECKS = {
    "a1f3c2e0d9b4": _check_initial_api,
    "c7d2e81b5f30": _check_initial_cell,
}


@pytest.mark.parametrize("database", migration.DATABASES)
def test_walk_every_revision_then_match_the_models(
    database: str, empty_database_url: str
) -> None:
    url = empty_database_url
    status = migration.db_version(database, url)
    assert status.current is None and status.state == "empty"
    for revision in _revisions(database):
        status = migration.db_sync(database, url, revision=revision)
        assert status.current == revision
        check = CHECKS.get(revision)
        if check is not None:
            check(url)
    assert status.state == "up to date"

    engine = engines.create_engine(url)
    try:
        with engine.connect() as conn:
            context = alembic_migration.MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "version_table": migration.VERSION_TABLES[database],
                },
            )
            diff = autogenerate.compare_metadata(context, METADATA[database])
    finally:
        engine.dispose()
    assert diff == []


@pytest.mark.parametrize("database", migration.DATABASES)
def test_sync_is_idempotent(database: str, empty_database_url: str) -> None:
    first = migration.db_sync(database, empty_database_url)
    second = migration.db_sync(database, empty_database_url)
    assert first.current == second.current == migration.head(database)


@pytest.mark.backends("sqlite", "postgresql")
def test_a_database_ahead_of_the_code_is_refused(
    empty_database_url: str,
) -> None:
    migration.db_sync("api", empty_database_url)
    engine = engines.create_engine(empty_database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    f"UPDATE {migration.VERSION_TABLES['api']} "
                    "SET version_num = 'ffffffffffff'"
                )
            )
    finally:
        engine.dispose()
    status = migration.db_version("api", empty_database_url)
    assert status.state == "ahead of the code"
    with pytest.raises(exception.DatabaseAheadOfCode, match="ffffffffffff"):
        migration.db_sync("api", empty_database_url)


@pytest.mark.backends("sqlite", "postgresql")
@pytest.mark.parametrize("database", migration.DATABASES)
def test_plain_alembic_works(database: str, empty_database_url: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "alembic",
            "-c",
            migration.alembic_ini(database),
            "-x",
            f"url={empty_database_url}",
            "upgrade",
            "head",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    status = migration.db_version(database, empty_database_url)
    assert status.state == "up to date"


def test_unreachable_database_is_a_typed_error() -> None:
    url = "postgresql+psycopg2://nobody@127.0.0.1:9/nowhere"
    with pytest.raises(exception.DatabaseUnavailable, match="the api"):
        migration.db_version("api", url)
