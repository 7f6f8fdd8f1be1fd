"""RequestSpec persistence through the public API, on every backend.

The context decides the database: untargeted means the API database,
``target_cell`` means that cell's. Each test runs on SQLite, PostgreSQL and
MySQL/MariaDB (the ``db`` fixture).
"""

from collections.abc import Iterator
import contextlib
import json

from oslo_utils import uuidutils
import pytest
import sqlalchemy as sa

from reqspec import conf
from reqspec import context
from reqspec import exception
from reqspec import objects
from reqspec.db import engines
from reqspec.db import request_specs
from tests import strategies
from tests.conftest import Env
from tests.fixtures import document_format
from tests.fixtures import generic_document
from tests.fixtures import specs

FORMAT = document_format.FORMAT

# Also on Galera: API database and cells on the cluster.
pytestmark = pytest.mark.galera

CONF = conf.CONF


def _spec(ctx: context.RequestContext, n: int = 0) -> objects.RequestSpec:
    # As it comes back from storage (server group reduced to its stored
    # fields), so a loaded copy compares equal.
    spec = strategies.stored_view(specs.realistic_spec(specs.UUIDS[10 + n]))
    spec._context = ctx
    return spec


@contextlib.contextmanager
def statements(url: str) -> Iterator[list[str]]:
    """Record the SQL statements sent to ``url``'s engine."""
    seen: list[str] = []
    engine = engines.database(url).engine

    def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        seen.append(statement.strip().split()[0].upper())

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def _raw_rows(url: str) -> list[sa.Row]:
    with engines.database(url).engine.connect() as conn:
        return list(
            conn.execute(
                sa.text(
                    "SELECT instance_uuid, generation, spec FROM request_specs"
                )
            )
        )


class TestWhichDatabase:
    def test_untargeted_context_uses_the_api_database(self, db: Env) -> None:
        spec = _spec(db.ctx)
        spec.create()
        assert [r.instance_uuid for r in _raw_rows(db.api_url)] == [
            spec.instance_uuid
        ]
        for cell in db.cells:
            assert _raw_rows(cell.database_connection) == []
        for i in range(2):
            with pytest.raises(exception.RequestSpecNotFound):
                objects.RequestSpec.get_by_instance_uuid(
                    db.cell_context(i), spec.instance_uuid
                )

    def test_targeted_context_uses_that_cell_only(self, db: Env) -> None:
        cctx = db.cell_context(0)
        spec = _spec(cctx)
        spec.create()
        assert len(_raw_rows(db.cells[0].database_connection)) == 1
        assert _raw_rows(db.cells[1].database_connection) == []
        assert _raw_rows(db.api_url) == []
        with pytest.raises(exception.RequestSpecNotFound):
            objects.RequestSpec.get_by_instance_uuid(
                db.ctx, spec.instance_uuid
            )
        with pytest.raises(exception.RequestSpecNotFound):
            objects.RequestSpec.get_by_instance_uuid(
                db.cell_context(1), spec.instance_uuid
            )

    def test_the_same_instance_in_two_cells_is_two_rows(self, db: Env) -> None:
        first = _spec(db.cell_context(0))
        second = _spec(db.cell_context(1))
        first.create()
        second.availability_zone = "other"
        second.create()
        one = objects.RequestSpec.get_by_instance_uuid(
            db.cell_context(0), first.instance_uuid
        )
        two = objects.RequestSpec.get_by_instance_uuid(
            db.cell_context(1), first.instance_uuid
        )
        assert (one.availability_zone, two.availability_zone) == (
            "az-east-1",
            "other",
        )

    def test_target_cell_leaves_the_original_context_alone(
        self, db: Env
    ) -> None:
        with context.target_cell(db.ctx, db.cells[0]) as cctx:
            assert cctx.cell is db.cells[0]
            _spec(cctx).create()
        assert db.ctx.cell is None
        assert _raw_rows(db.api_url) == []


class TestCrud:
    def test_create_get_save_destroy(self, db: Env) -> None:
        for ctx in (db.ctx, db.cell_context(1)):
            spec = _spec(ctx)
            spec.create()
            assert spec.id is not None and spec.generation == 1
            loaded = objects.RequestSpec.get_by_instance_uuid(
                ctx, spec.instance_uuid
            )
            assert loaded == spec
            assert not loaded.obj_what_changed()
            loaded.flavor = specs.flavor(vcpus=8, flavorid="m1.xlarge")
            loaded.save()
            assert loaded.generation == 2
            again = objects.RequestSpec.get_by_instance_uuid(
                ctx, spec.instance_uuid
            )
            assert again.flavor.vcpus == 8 and again.generation == 2
            again.destroy()
            with pytest.raises(exception.RequestSpecNotFound):
                objects.RequestSpec.get_by_instance_uuid(
                    ctx, spec.instance_uuid
                )

    def test_duplicate_create(self, db: Env) -> None:
        _spec(db.ctx).create()
        with pytest.raises(exception.RequestSpecExists):
            _spec(db.ctx).create()
        assert len(_raw_rows(db.api_url)) == 1

    def test_create_twice_with_the_same_object(self, db: Env) -> None:
        spec = _spec(db.ctx)
        spec.create()
        with pytest.raises(exception.ObjectActionError):
            spec.create()

    def test_missing_rows(self, db: Env) -> None:
        spec = _spec(db.ctx)
        spec.create()
        objects.RequestSpec.get_by_instance_uuid(
            db.ctx, spec.instance_uuid
        ).destroy()
        spec.availability_zone = "changed"
        with pytest.raises(exception.RequestSpecNotFound):
            spec.save()
        with pytest.raises(exception.RequestSpecNotFound):
            spec.destroy()
        never = _spec(db.ctx, 1)
        with pytest.raises(exception.ObjectActionError):
            never.save()

    def test_stale_save_conflicts_and_writes_nothing(self, db: Env) -> None:
        spec = _spec(db.ctx)
        spec.create()
        one = objects.RequestSpec.get_by_instance_uuid(
            db.ctx, spec.instance_uuid
        )
        two = objects.RequestSpec.get_by_instance_uuid(
            db.ctx, spec.instance_uuid
        )
        one.availability_zone = "first"
        one.save()
        two.availability_zone = "second"
        with pytest.raises(exception.RequestSpecConflict):
            two.save()
        (row,) = _raw_rows(db.api_url)
        assert json.loads(row.spec)["spec"]["availability_zone"] == "first"
        assert row.generation == 2

    def test_save_without_changes_writes_nothing(self, db: Env) -> None:
        spec = _spec(db.ctx)
        spec.create()
        loaded = objects.RequestSpec.get_by_instance_uuid(
            db.ctx, spec.instance_uuid
        )
        loaded.ignore_hosts = ["compute-1"]  # per-move: not a stored change
        loaded.retry = objects.SchedulerRetries(num_attempts=1)
        with statements(db.api_url) as seen:
            loaded.save()
        assert seen == []
        assert loaded.generation == 1
        assert _raw_rows(db.api_url)[0].generation == 1

    def test_reading_unset_fields_is_not_a_change(self, db: Env) -> None:
        # A scheduler reads fields the user never set; ovo fills them in.
        spec = _spec(db.ctx)
        del spec.image.__dict__["_obj_name"]
        del spec.flavor.__dict__["_obj_swap"]
        spec.create()
        loaded = objects.RequestSpec.get_by_instance_uuid(
            db.ctx, spec.instance_uuid
        )
        assert loaded.image.name is None
        assert loaded.flavor.swap == 0
        with statements(db.api_url) as seen:
            loaded.save()
        assert seen == []
        assert _raw_rows(db.api_url)[0].generation == 1

    def test_in_place_changes_are_saved(self, db: Env) -> None:
        # ovo does not notice a dict changed in place; the document does.
        spec = _spec(db.ctx)
        spec.create()
        spec.flavor.extra_specs["hw:cpu_policy"] = "dedicated"
        spec.save()
        loaded = objects.RequestSpec.get_by_instance_uuid(
            db.ctx, spec.instance_uuid
        )
        assert loaded.flavor.extra_specs["hw:cpu_policy"] == "dedicated"

    def test_bad_uuid_is_refused_before_any_query(self, db: Env) -> None:
        with statements(db.api_url) as seen:
            with pytest.raises(exception.InvalidRequestSpec, match="uuid"):
                objects.RequestSpec.get_by_instance_uuid(db.ctx, "nope")
            with pytest.raises(exception.InvalidRequestSpec):
                objects.RequestSpec.get_by_instance_uuids(db.ctx, ["x"])
        assert seen == []

    def test_invalid_spec_is_not_written(self, db: Env) -> None:
        spec = _spec(db.ctx)
        spec.force_hosts = ["ok"]
        spec.force_hosts.append(3)
        with pytest.raises(exception.InvalidRequestSpec):
            spec.create()
        assert _raw_rows(db.api_url) == []


class TestGetMany:
    def test_one_query_for_the_whole_list(self, db: Env) -> None:
        created = []
        for n in range(5):
            spec = _spec(db.ctx, n)
            spec.create()
            created.append(spec)
        wanted = [created[3].instance_uuid, specs.UUIDS[30]] + [
            s.instance_uuid for s in created[:3]
        ]
        with statements(db.api_url) as seen:
            found = objects.RequestSpec.get_by_instance_uuids(db.ctx, wanted)
        assert [s.instance_uuid for s in found] == [
            created[3].instance_uuid,
            *(s.instance_uuid for s in created[:3]),
        ]
        assert seen.count("SELECT") == 1
        assert found[0] == created[3]

    def test_more_uuids_than_one_in_list(self, db: Env) -> None:
        created = []
        for n in range(4):
            spec = _spec(db.ctx, n)
            spec.create()
            created.append(spec)
        uuids = [s.instance_uuid for s in created]
        # One IN list full of unknown servers, then the rest.
        unknown = [
            uuidutils.generate_uuid() for _ in range(request_specs.IN_CHUNK)
        ]
        wanted = [uuids[2], *unknown, uuids[0], uuids[3], uuids[1]]
        with statements(db.api_url) as seen:
            found = objects.RequestSpec.get_by_instance_uuids(db.ctx, wanted)
        # In the order asked, the unknown ones left out.
        assert [s.instance_uuid for s in found] == [
            uuids[2],
            uuids[0],
            uuids[3],
            uuids[1],
        ]
        assert found == [created[2], created[0], created[3], created[1]]
        assert seen.count("SELECT") == 2

    def test_empty_input_asks_nothing(self, db: Env) -> None:
        with statements(db.api_url) as seen:
            assert objects.RequestSpec.get_by_instance_uuids(db.ctx, []) == []
        assert seen == []

    def test_duplicates_are_returned_once(self, db: Env) -> None:
        spec = _spec(db.ctx)
        spec.create()
        found = objects.RequestSpec.get_by_instance_uuids(
            db.ctx, [spec.instance_uuid, spec.instance_uuid.upper()]
        )
        assert len(found) == 1


class TestStoredDocuments:
    def test_reads_never_write(self, db: Env) -> None:
        spec = _spec(db.ctx)
        old = generic_document.encode_via_primitive(spec, target_version="1.0")
        with engines.database(db.api_url).engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO request_specs "
                    "(instance_uuid, project_id, generation, spec) "
                    "VALUES (:u, :p, 1, :s)"
                ),
                {"u": spec.instance_uuid, "p": spec.project_id, "s": old},
            )
        with statements(db.api_url) as seen:
            loaded = objects.RequestSpec.get_by_instance_uuid(
                db.ctx, spec.instance_uuid
            )
            objects.RequestSpec.get_by_instance_uuids(
                db.ctx, [spec.instance_uuid]
            )
        assert set(seen) <= {"SELECT", "BEGIN", "ROLLBACK", "COMMIT"}
        assert loaded.is_bfv is False  # upgraded in memory only
        assert _raw_rows(db.api_url)[0].spec == old
        # Saving writes the current version.
        loaded.save()
        stored = json.loads(_raw_rows(db.api_url)[0].spec)
        assert stored["version"] == objects.RequestSpec.VERSION

    def test_a_malformed_row_is_a_typed_error(self, db: Env) -> None:
        with engines.database(db.api_url).engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO request_specs "
                    "(instance_uuid, project_id, generation, spec) "
                    "VALUES (:u, 'p', 1, '{\"spec\": {}')"
                ),
                {"u": specs.UUIDS[20]},
            )
        with pytest.raises(exception.InvalidRequestSpec, match="JSON"):
            objects.RequestSpec.get_by_instance_uuid(db.ctx, specs.UUIDS[20])

    def test_a_row_holding_another_instances_document(self, db: Env) -> None:
        text = FORMAT.encode(_spec(db.ctx))
        with engines.database(db.api_url).engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO request_specs "
                    "(instance_uuid, project_id, generation, spec) "
                    "VALUES (:u, 'p', 1, :s)"
                ),
                {"u": specs.UUIDS[21], "s": text},
            )
        with pytest.raises(exception.InvalidRequestSpec, match="holds"):
            objects.RequestSpec.get_by_instance_uuid(db.ctx, specs.UUIDS[21])

    def test_multi_megabyte_document_round_trips(self, db: Env) -> None:
        api = db.context_with(
            request_spec={"max_document_bytes": 8 * 1024 * 1024}
        )
        for ctx in (api, db.cell_context(0, api)):
            spec = _spec(ctx)
            spec.flavor.extra_specs = {
                f"key:{i}": "v" * 1000 for i in range(6000)
            }
            spec.create()
            url = ctx.cell.database_connection if ctx.cell else db.api_url
            size = len(_raw_rows(url)[0].spec)
            assert size > 5 * 1024 * 1024
            loaded = objects.RequestSpec.get_by_instance_uuid(
                ctx, spec.instance_uuid
            )
            assert loaded.flavor.extra_specs == spec.flavor.extra_specs
