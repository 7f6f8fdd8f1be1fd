"""The alembic trees: one line of history each, walkable on every backend,
and ending exactly at the models."""

from collections.abc import Callable
import os
import subprocess
import sys

from alembic import autogenerate
from alembic import migration as alembic_migration
import pytest
import sqlalchemy as sa

from reqspec import context
from reqspec import exception
from reqspec.cmd import manage
from reqspec.conf import CONF
from reqspec.db import api_models
from reqspec.db import cell_models
from reqspec.db import engines
from reqspec.db import migration
from reqspec.objects import CellMapping
from reqspec.objects import online_migrations as odm
from reqspec.objects import RequestSpec
from tests.fixtures import identifiers
from tests.fixtures import settings as test_settings
from tests.fixtures import specs

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


def _columns(url: str, table: str) -> set[str]:
    engine = engines.create_engine(url)
    try:
        return {c["name"] for c in sa.inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def _check_instance_mappings(url: str) -> None:
    assert {
        "instance_uuid",
        "cell_id",
        "move_step",
        "move_source_cell_id",
        "move_target_cell_id",
    } <= _columns(url, "instance_mappings")


def _check_hosts_and_instances(url: str) -> None:
    assert {"host", "node", "availability_zone", "generation"} <= _columns(
        url, "compute_nodes"
    )
    assert {"uuid", "host", "node", "group_uuid", "status"} <= _columns(
        url, "instances"
    )


def _check_indexed_nullable_spec_column(name: str) -> Callable[[str], None]:
    """A check that ``request_specs.<name>`` exists, is nullable (rows
    older than it have none) and is indexed."""

    def check(url: str) -> None:
        engine = engines.create_engine(url)
        try:
            inspector = sa.inspect(engine)
            columns = {
                c["name"]: c for c in inspector.get_columns("request_specs")
            }
            indexes = {
                i["name"] for i in inspector.get_indexes("request_specs")
            }
        finally:
            engine.dispose()
        assert columns[name]["nullable"]
        assert f"ix_request_specs_{name}" in indexes

    return check


_check_group_uuid_column = _check_indexed_nullable_spec_column(
    "instance_group_uuid"
)
_check_spec_version_column = _check_indexed_nullable_spec_column(
    "spec_version"
)


def _check_nothing_changed(url: str) -> None:
    # The data-fix block only reads; its schema is its predecessor's.
    _check_group_uuid_column(url)


def _check_identifiers_byte_for_byte(database: str) -> Callable[[str], None]:
    def check(url: str) -> None:
        engine = engines.create_engine(url)
        try:
            with engine.connect() as conn:
                columns = identifiers.identifier_columns(METADATA[database])
                assert columns
                found = {
                    (table, column): identifiers.matches(conn, table, column)
                    for table, column in columns
                }
        finally:
            engine.dispose()
        assert found == {key: [] for key in found}

    return check


CHECKS = {
    "a1f3c2e0d9b4": _check_initial_api,
    "c7d2e81b5f30": _check_initial_cell,
    "b4e19d7c2a61": _check_instance_mappings,
    "d3a8f06b91c4": _check_hosts_and_instances,
    "3fd8b600f9ed": _check_group_uuid_column,
    "ef39a8cd269c": _check_group_uuid_column,
    "e677c5eb119f": _check_nothing_changed,
    "01df52b77620": _check_nothing_changed,
    "5b2e9c4d7a10": _check_identifiers_byte_for_byte("api"),
    "8d41f0a3c6e2": _check_identifiers_byte_for_byte("cell"),
    "7c3e5a91d2f8": _check_spec_version_column,
    "9a4d2b6e0c17": _check_spec_version_column,
}


@pytest.mark.galera
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
        CHECKS[revision](url)
    assert status.state == "up to date"

    engine = engines.create_engine(url)
    try:
        with engine.connect() as conn:
            context = alembic_migration.MigrationContext.configure(
                conn,
                opts={
                    "compare_type": migration.compare_type,
                    "version_table": migration.VERSION_TABLES[database],
                },
            )
            diff = autogenerate.compare_metadata(context, METADATA[database])
    finally:
        engine.dispose()
    assert diff == []


@pytest.mark.galera
@pytest.mark.parametrize("database", migration.DATABASES)
def test_sync_is_idempotent(database: str, empty_database_url: str) -> None:
    first = migration.db_sync(database, empty_database_url)
    second = migration.db_sync(database, empty_database_url)
    assert first.current == second.current == migration.head(database)


@pytest.mark.galera
@pytest.mark.parametrize("database", migration.DATABASES)
def test_every_table_has_a_primary_key(
    database: str, empty_database_url: str
) -> None:
    # Galera replicates row changes by primary key: without one, a DELETE
    # or UPDATE is applied inconsistently across nodes (the test cluster
    # runs with innodb_force_primary_key, which refuses such tables).
    migration.db_sync(database, empty_database_url)
    engine = engines.create_engine(empty_database_url)
    try:
        inspector = sa.inspect(engine)
        tables = inspector.get_table_names()
        assert migration.VERSION_TABLES[database] in tables
        missing = [
            table
            for table in tables
            if not inspector.get_pk_constraint(table)["constrained_columns"]
        ]
    finally:
        engine.dispose()
    assert missing == []


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


def _alembic(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alembic", *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.backends("sqlite", "postgresql")
@pytest.mark.parametrize("database", migration.DATABASES)
def test_plain_alembic_works(
    database: str,
    empty_database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The installed tree, wherever pip put it, as an operator finds it.
    assert manage.main(["db", "alembic-ini", database]) == 0
    ini = capsys.readouterr().out.strip()
    assert ini == migration.alembic_ini(database) and os.path.isfile(ini)
    url = f"url={empty_database_url}"
    result = _alembic("-c", ini, "-x", url, "upgrade", "head")
    assert result.returncode == 0, result.stderr
    # Each applied revision is said (alembic's ini logging is used).
    head = migration.head(database)
    assert "Running upgrade " in result.stderr and head in result.stderr
    status = migration.db_version(database, empty_database_url)
    assert status.state == "up to date"

    # Downgrades are refused with a message, and change nothing.
    result = _alembic("-c", ini, "-x", url, "downgrade", "-1")
    assert result.returncode != 0
    assert "FAILED: reqspec does not support schema downgrades" in (
        result.stdout + result.stderr
    )
    assert "Traceback" not in result.stdout + result.stderr
    status = migration.db_version(database, empty_database_url)
    assert status.state == "up to date"


def test_unreachable_database_is_a_typed_error() -> None:
    url = "postgresql+psycopg2://nobody@127.0.0.1:9/nowhere"
    with pytest.raises(exception.DatabaseUnavailable, match="the api"):
        migration.db_version("api", url)


#: Per tree: (revision adding instance_group_uuid, the revision that blocks
#: until the online data migration has filled it in).
GROUP_UUID_REVISIONS = {
    "api": ("3fd8b600f9ed", "e677c5eb119f"),
    "cell": ("ef39a8cd269c", "01df52b77620"),
}


def _context_for(database: str, url: str) -> context.RequestContext:
    settings = test_settings.make(api_database={"connection": url})
    ctx = context.get_admin_context(settings=settings)
    if database == "api":
        return ctx
    cell = CellMapping(
        name="under-test",
        uuid="00000000-0000-4000-8000-000000000001",
        database_connection=url,
    )
    with context.target_cell(ctx, cell) as cctx:
        return cctx


def _insert_row_of_older_release(url: str, grouped: bool) -> str:
    spec = specs.make_spec(group=grouped)
    engine = engines.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO request_specs "
                    "(instance_uuid, project_id, generation, spec) "
                    "VALUES (:u, :p, 1, :s)"
                ),
                {
                    "u": spec.instance_uuid,
                    "p": spec.project_id,
                    "s": spec.to_document(),
                },
            )
    finally:
        engine.dispose()
    return spec.instance_uuid


def _manage_over(
    database: str, url: str, request: pytest.FixtureRequest
) -> Callable[..., tuple[int, str]]:
    """``reqspec-manage``, in-process, over the database under test: as
    the API database, or as a cell of a current API database (the ``db``
    fixture's, with its two empty cells). Returns (exit code, stdout)."""
    if database == "api":
        CONF.set_override("connection", url, group="api_database")
    else:
        env = request.getfixturevalue("db")
        CellMapping(
            env.ctx, name="under-test", database_connection=url
        ).create()
    capsys = request.getfixturevalue("capsys")

    def run(*argv: str) -> tuple[int, str]:
        capsys.readouterr()
        code = manage.main(list(argv))
        return code, capsys.readouterr().out

    return run


def _table_row(out: str, name: str) -> list[str]:
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells and cells[0] == name:
            return cells[1:]
    raise AssertionError(f"no row {name!r} in:\n{out}")


@pytest.mark.backends("sqlite", "postgresql", "mysql")
@pytest.mark.parametrize("database", migration.DATABASES)
def test_the_block_waits_for_the_online_data_migration(
    database: str, empty_database_url: str, request: pytest.FixtureRequest
) -> None:
    add_column, _block = GROUP_UUID_REVISIONS[database]
    url = empty_database_url
    before = migration.script_directory(database).get_revision(add_column)
    migration.db_sync(database, url, revision=before.down_revision)
    first = _insert_row_of_older_release(url, grouped=True)
    _insert_row_of_older_release(url, grouped=False)
    second = _insert_row_of_older_release(url, grouped=True)

    with pytest.raises(exception.DataMigrationRequired) as raised:
        migration.db_sync(database, url, label="the database under test")
    message = raised.value.message
    assert "the database under test: 2 request spec" in message
    assert "reqspec-manage db online_data_migrations" in message
    # Each revision commits on its own: the column is there for the online
    # data migration, and the block did not pass.
    status = migration.db_version(database, url)
    assert (status.current, status.state) == (add_column, "behind")

    # Stage 1, no spec_version yet: only the group backfill has work, and
    # nothing touches a column this schema lacks.
    ctx = _context_for(database, url)
    assert odm.pending(ctx) == {
        "backfill_instance_group_uuid": 2,
        "backfill_spec_version": 0,
        "rewrite_old_documents": 0,
    }
    assert odm.undecodable(ctx) == {}
    assert odm.backfill_spec_version(ctx, 50) == (0, 0)
    assert odm.rewrite_old_documents(ctx, 50) == (0, 0)
    cursor = odm.Cursor()
    assert odm.backfill_instance_group_uuid(ctx, 1, cursor) == (1, 1)
    # The row without a group is looked at, needs nothing, and is passed.
    assert odm.backfill_instance_group_uuid(ctx, 1, cursor) == (0, 0)
    assert not cursor.at_end
    assert odm.pending(ctx)["backfill_instance_group_uuid"] == 1
    engines.dispose(url)

    # The upgrade check counts on this schema too: a warning naming the
    # migration, not a failure to count.
    manage_ = _manage_over(database, url, request)
    code, out = manage_("upgrade", "check")
    assert code == 1, out
    assert "backfill_instance_group_uuid has 1 row(s)" in " ".join(
        out.replace("|", " ").split()
    )
    assert "cannot count" not in out
    # The command the block names does the rest.
    code, out = manage_("db", "online_data_migrations")
    assert code == 0, out
    assert _table_row(out, "backfill_instance_group_uuid") == ["1", "1"]
    assert _table_row(out, "backfill_spec_version") == ["0", "0"]
    assert odm.pending(ctx) == dict.fromkeys(odm.pending(ctx), 0)
    engines.dispose(url)

    # The block passes now (and so does every revision after it).
    assert migration.db_sync(database, url).current == migration.head(database)
    # Stage 2: the rows predate spec_version; backfill_spec_version finds
    # exactly them, states their version and leaves nothing behind.
    assert odm.pending(ctx) == {
        "backfill_instance_group_uuid": 0,
        "backfill_spec_version": 3,
        "rewrite_old_documents": 0,
    }
    assert odm.backfill_spec_version(ctx, 50) == (3, 3)
    assert odm.pending(ctx) == {
        "backfill_instance_group_uuid": 0,
        "backfill_spec_version": 0,
        "rewrite_old_documents": 0,
    }
    engines.dispose(url)
    engine = engines.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT instance_uuid, instance_group_uuid, spec_version "
                    "FROM request_specs"
                )
            ).all()
    finally:
        engine.dispose()
    assert {row[2] for row in rows} == {RequestSpec.VERSION}
    assert sorted(row[0] for row in rows if row[1] is not None) == sorted(
        [first, second]
    )
