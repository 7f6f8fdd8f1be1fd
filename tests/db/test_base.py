"""The shared column types: identifiers compare byte for byte everywhere.

Issue 13: under MySQL/MariaDB's default collation ``PROJ-B``, ``prój-b``
and ``proj-b `` all equal ``proj-b``, so one project reached another's
specs. Each test here runs on SQLite, PostgreSQL and MySQL/MariaDB.
"""

import pytest

from reqspec import exception
from reqspec.db import api_models
from reqspec.db import cell_mappings
from reqspec.db import cell_models
from reqspec.db import engines
from reqspec.db import instance_mappings
from reqspec.db import request_specs
from tests.conftest import Env
from tests.fixtures import identifiers

#: Every column a lookup, a scope or a unique key compares (reqspec/db/*).
EXPECTED = {
    "api": {
        ("request_specs", "instance_uuid"),
        ("request_specs", "project_id"),
        ("request_specs", "instance_group_uuid"),
        ("cell_mappings", "uuid"),
        ("cell_mappings", "name"),
        ("instance_mappings", "instance_uuid"),
        ("instance_mappings", "project_id"),
        ("instance_mappings", "move_host"),
        ("instance_mappings", "move_node"),
    },
    "cell": {
        ("request_specs", "instance_uuid"),
        ("request_specs", "project_id"),
        ("request_specs", "instance_group_uuid"),
        ("compute_nodes", "uuid"),
        ("compute_nodes", "host"),
        ("compute_nodes", "node"),
        ("instances", "uuid"),
        ("instances", "project_id"),
        ("instances", "user_id"),
        ("instances", "host"),
        ("instances", "node"),
        ("instances", "group_uuid"),
        ("instances", "old_host"),
        ("instances", "old_node"),
    },
}
METADATA = {
    "api": api_models.APIBase.metadata,
    "cell": cell_models.CellBase.metadata,
}


@pytest.mark.parametrize("database", sorted(METADATA))
def test_every_looked_up_column_is_an_identifier(database: str) -> None:
    columns = identifiers.identifier_columns(METADATA[database])
    assert set(columns) == EXPECTED[database]


def test_every_identifier_column_compares_byte_for_byte(db: Env) -> None:
    urls = {"api": db.api_url, "cell": db.cells[0].database_connection}
    found = {}
    for database, url in urls.items():
        with engines.database(url).engine.connect() as conn:
            for table, column in EXPECTED[database]:
                found[database, table, column] = identifiers.matches(
                    conn, table, column
                )
    assert found == {key: [] for key in found}


def test_request_spec_rows_answer_only_to_their_exact_uuid(db: Env) -> None:
    uuid = identifiers.STORED_UUID
    for ctx in (db.ctx, db.cell_context(0)):
        request_specs.create(ctx, uuid, "proj-b", "{}")
        for other in identifiers.UUID_LOOKALIKES:
            assert request_specs.get_by_instance_uuid(ctx, other) is None
            assert request_specs.get_by_instance_uuids(ctx, [other]) == []
            with pytest.raises(exception.RequestSpecNotFound):
                request_specs.update(ctx, other, 1, "proj-b", "[]")
            with pytest.raises(exception.RequestSpecNotFound):
                request_specs.destroy(ctx, other)
        row = request_specs.get_by_instance_uuid(ctx, uuid)
        assert row is not None and (row.generation, row.spec) == (1, "{}")


def test_request_spec_rows_answer_only_to_their_exact_project(db: Env) -> None:
    uuid = identifiers.STORED_UUID
    for ctx in (db.ctx, db.cell_context(0)):
        request_specs.create(ctx, uuid, "proj-b", "{}")
        for other in identifiers.LOOKALIKES:
            assert request_specs.get_by_instance_uuid(ctx, uuid, other) is None
            assert (
                request_specs.get_by_instance_uuids(ctx, [uuid], other) == []
            )
            assert list(request_specs.iter_batches(ctx, 10, other)) == []
            with pytest.raises(exception.RequestSpecNotFound):
                request_specs.update(
                    ctx, uuid, 1, other, "[]", match_project_id=other
                )
            with pytest.raises(exception.RequestSpecNotFound):
                request_specs.destroy(ctx, uuid, other)
        row = request_specs.get_by_instance_uuid(ctx, uuid, "proj-b")
        assert row is not None and (row.generation, row.spec) == (1, "{}")


def test_cells_and_mappings_answer_only_to_their_exact_keys(db: Env) -> None:
    uuid = identifiers.STORED_UUID
    instance_mappings.create(db.ctx, uuid, "proj-b")
    cell_uuid = db.cells[0].uuid
    for other in identifiers.UUID_LOOKALIKES:
        assert instance_mappings.get_by_instance_uuid(db.ctx, other) is None
        assert not instance_mappings.destroy(db.ctx, other)
    for other in (cell_uuid.upper(), cell_uuid + " "):
        assert cell_mappings.get_by_uuid(db.ctx, other) is None
    for other in ("CELL1", "Cell1", "cell1 ", "céll1"):
        assert cell_mappings.get_by_name(db.ctx, other) is None
    assert cell_mappings.get_by_name(db.ctx, "cell1") is not None
    assert cell_mappings.get_by_uuid(db.ctx, cell_uuid) is not None
    assert instance_mappings.get_by_instance_uuid(db.ctx, uuid) is not None
