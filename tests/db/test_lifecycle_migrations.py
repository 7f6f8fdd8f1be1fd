"""The lifecycle revisions create exactly what the models declare."""

from alembic import autogenerate
from alembic import migration as alembic_migration
import pytest
import sqlalchemy as sa

from reqspec.db import api_models
from reqspec.db import cell_models
from reqspec.db import engines
from reqspec.db import migration

TABLES = {
    "api": ({"instance_mappings"}, api_models.APIBase.metadata),
    "cell": ({"compute_nodes", "instances"}, cell_models.CellBase.metadata),
}


@pytest.mark.parametrize("kind", sorted(TABLES))
def test_migrated_schema_matches_the_models(empty_database_url, kind):
    tables, metadata = TABLES[kind]
    migration.db_sync(kind, empty_database_url)
    engine = engines.create_engine(empty_database_url)
    try:
        with engine.connect() as conn:
            assert tables <= set(sa.inspect(conn).get_table_names())
            context = alembic_migration.MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "version_table": migration.VERSION_TABLES[kind],
                },
            )
            diff = autogenerate.compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert diff == []
