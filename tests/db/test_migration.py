"""The alembic trees: upgrades, the data-fix block, plain alembic."""

import os
import subprocess
import sys

from alembic import autogenerate
from alembic import migration as alembic_migration
import pytest
import sqlalchemy as sa

from reqspec import conf
from reqspec import context
from reqspec import exception
from reqspec.db import api_models
from reqspec.db import cell_models
from reqspec.db import engines
from reqspec.db import migration
from reqspec.objects import CellMapping
from reqspec.objects import online_migrations as odm
from tests.fixtures.specs import make_spec

pytestmark = pytest.mark.backends("sqlite", "postgresql")

#: Per tree: (revision adding instance_group_uuid, the revision blocking
#: until it is filled in).
GROUP_UUID_REVISIONS = {
    "api": ("3fd8b600f9ed", "e677c5eb119f"),
    "cell": ("ef39a8cd269c", "01df52b77620"),
}
METADATA = {
    "api": api_models.APIBase.metadata,
    "cell": cell_models.CellBase.metadata,
}


def _context_for(tree: str, url: str) -> context.RequestContext:
    ctx = context.get_admin_context()
    if tree == "api":
        conf.CONF.set_override("connection", url, group="api_database")
        return ctx
    cell = CellMapping(name="under-test", database_connection=url)
    cell.uuid = "00000000-0000-4000-8000-000000000001"
    with context.target_cell(ctx, cell) as cctx:
        return cctx


def _insert_old_row(url: str, grouped: bool) -> str:
    """A row as the release before the column wrote it."""
    spec = make_spec(group=grouped)
    with engines.create_engine(url, max_retries=0).begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO request_specs "
                "(instance_uuid, project_id, generation, spec) "
                "VALUES (:u, :p, 1, :s)"
            ),
            {"u": spec.instance_uuid, "p": "p", "s": spec.to_document()},
        )
    return spec.instance_uuid


@pytest.mark.parametrize("tree", ["api", "cell"])
def test_fresh_database_upgrades_to_head_and_matches_the_models(
    tree: str, empty_database_url: str
) -> None:
    before = migration.db_version(tree, empty_database_url)
    assert (before.current, before.state) == (None, "empty")

    status = migration.db_sync(tree, empty_database_url)
    assert status.current == migration.head(tree)
    assert status.state == "up to date"
    # Upgrading again is a no-op.
    assert migration.db_sync(tree, empty_database_url) == status

    engine = engines.create_engine(empty_database_url, max_retries=0)
    try:
        with engine.connect() as conn:
            mc = alembic_migration.MigrationContext.configure(
                conn, opts={"compare_type": True}
            )
            diff = autogenerate.compare_metadata(mc, METADATA[tree])
    finally:
        engine.dispose()
    # The version table is alembic's, not the models'.
    diff = [
        d
        for d in diff
        if not (d[0] == "remove_table" and "alembic_version" in d[1].name)
    ]
    assert diff == []


@pytest.mark.parametrize("tree", ["api", "cell"])
def test_the_block_waits_for_the_online_migration(
    tree: str, empty_database_url: str
) -> None:
    add_column, block = GROUP_UUID_REVISIONS[tree]
    url = empty_database_url
    previous = migration.script_directory(tree).get_revision(add_column)
    migration.db_sync(tree, url, revision=previous.down_revision)
    grouped = _insert_old_row(url, grouped=True)
    _insert_old_row(url, grouped=False)

    with pytest.raises(exception.DataMigrationRequired) as raised:
        migration.db_sync(tree, url, label="the database under test")
    message = raised.value.message
    assert "the database under test: 1 request spec" in message
    assert "reqspec-manage db online_data_migrations" in message
    # Each revision commits on its own: the column is there for the online
    # migration, and the block did not run.
    status = migration.db_version(tree, url)
    assert (status.current, status.state) == (add_column, "behind")

    ctx = _context_for(tree, url)
    assert odm.pending(ctx)["backfill_instance_group_uuid"] == 1
    assert odm.backfill_instance_group_uuid(ctx, 50) == (1, 1)
    engines.dispose(url)

    assert migration.db_sync(tree, url).current == block
    with engines.create_engine(url, max_retries=0).connect() as conn:
        column = conn.execute(
            sa.text(
                "SELECT instance_group_uuid FROM request_specs "
                "WHERE instance_uuid = :u"
            ),
            {"u": grouped},
        ).scalar()
    assert column is not None


@pytest.mark.parametrize("tree", ["api", "cell"])
def test_a_database_newer_than_the_code_is_refused(
    tree: str, empty_database_url: str
) -> None:
    migration.db_sync(tree, empty_database_url)
    table = migration.VERSION_TABLES[tree]
    engine = engines.create_engine(empty_database_url, max_retries=0)
    with engine.begin() as conn:
        conn.execute(
            sa.text(f"UPDATE {table} SET version_num = 'f00dfeedbeef'")
        )
    engine.dispose()

    status = migration.db_version(tree, empty_database_url)
    assert status.state == "ahead of the code"
    with pytest.raises(exception.DatabaseAheadOfCode, match="f00dfeedbeef"):
        migration.db_sync(tree, empty_database_url)
    assert migration.db_version(tree, empty_database_url).current == (
        "f00dfeedbeef"
    )


@pytest.mark.parametrize("tree", ["api", "cell"])
def test_plain_alembic_upgrades_a_tree(
    tree: str, empty_database_url: str
) -> None:
    """Operators and packagers may run the trees with alembic itself."""
    alembic = os.path.join(os.path.dirname(sys.executable), "alembic")
    result = subprocess.run(
        [
            alembic,
            "-c",
            migration.alembic_ini(tree),
            "-x",
            f"url={empty_database_url}",
            "upgrade",
            "head",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert migration.db_version(tree, empty_database_url).state == (
        "up to date"
    )


def test_each_tree_has_one_base_and_one_head() -> None:
    for tree in migration.DATABASES:
        scripts = migration.script_directory(tree)
        assert len(scripts.get_bases()) == 1
        assert len(scripts.get_heads()) == 1
