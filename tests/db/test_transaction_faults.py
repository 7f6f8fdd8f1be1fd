"""Database faults, made real: afterwards the row is the old version or the
new one, never a mixture, and the next call works.

Transient errors are genuine: ``faults.genuine_errors`` provokes them on
the backend (a deadlock between two connections, a repeatable-read
transaction losing a race, a SQLite writer finding the lock taken) and the
injector re-raises the driver's own exception from inside statement
execution, after the statement really ran. Lost connections are real too:
the DBAPI connection is closed under SQLAlchemy, the server is told to
kill the session, or the whole process is SIGKILLed mid-transaction.
"""

import json
import signal
import threading
import time

import pytest
import sqlalchemy as sa

from reqspec import context
from reqspec import exception
from reqspec import objects
from reqspec.db import engines
from reqspec.db import request_specs
from reqspec.db import transactions
from tests.conftest import Env
from tests.fixtures import databases
from tests.fixtures import faults
from tests.fixtures import spec_worker

UUID = "3c9e7d12-5a4b-4f6e-8d21-7b0a9c8e6f14"
UPDATE = "UPDATE request_specs"


@pytest.fixture(scope="session")
def genuine(
    backend: str,
    provisioners: dict[str, databases.Provisioner],
) -> dict[str, BaseException]:
    provisioner = databases.provisioner_for(provisioners, backend)
    url = provisioner.create("faults")
    try:
        return faults.genuine_errors(backend, url)
    finally:
        provisioner.drop(url)


def _engine(db: Env) -> sa.engine.Engine:
    return engines.database(db.api_url).engine


def _row(db: Env) -> tuple:
    with _engine(db).connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT instance_uuid, project_id, generation, spec "
                "FROM request_specs"
            )
        ).all()
    assert len(rows) == 1
    return tuple(rows[0])


def _stored(db: Env) -> objects.RequestSpec:
    spec = spec_worker.new_spec(db.ctx, UUID)
    spec.create()
    return objects.RequestSpec.get_by_instance_uuid(db.ctx, UUID)


def _changed(spec: objects.RequestSpec, zone: str = "az-new") -> tuple:
    """Change ``spec`` in memory; the row it should become once saved."""
    spec.availability_zone = zone
    return (UUID, spec.project_id, spec.generation + 1, spec.to_document())


def _next_call_works(db: Env, expected_generation: int) -> None:
    """Several calls in a row (more than one pooled connection's worth)
    succeed after the fault."""
    for i in range(8):
        spec = objects.RequestSpec.get_by_instance_uuid(db.ctx, UUID)
        assert spec.generation == expected_generation + i
        spec.availability_zone = f"after-{i}"
        spec.save()


class TestTransientErrorsAreRetried:
    def test_each_genuine_error_retries_the_whole_transaction(
        self, db: Env, genuine: dict[str, BaseException]
    ) -> None:
        spec = _stored(db)
        for kind, error in genuine.items():
            new_row = _changed(spec, zone=kind)
            action = faults.raise_after_running(error)
            with faults.Injector(_engine(db), UPDATE, action) as injector:
                spec.save()
            # The first UPDATE ran, was rolled back, and ran again: had the
            # first survived, the second would have conflicted.
            assert (injector.fired, injector.calls) == (1, 2), kind
            assert _row(db) == new_row, kind
        assert spec.generation == 1 + len(genuine)

    def test_retries_are_bounded_and_write_nothing(
        self, db: Env, genuine: dict[str, BaseException]
    ) -> None:
        spec = _stored(db)
        old_row = _row(db)
        error = next(iter(genuine.values()))
        _changed(spec)
        action = faults.raise_after_running(error)
        with (
            faults.Injector(_engine(db), UPDATE, action, times=None) as inj,
            pytest.raises(exception.DatabaseBusy) as info,
        ):
            spec.save()
        assert inj.calls == transactions.MAX_ATTEMPTS
        assert f"{transactions.MAX_ATTEMPTS} times" in str(info.value)
        assert "nothing was written" in str(info.value)
        assert _row(db) == old_row
        # The object still holds the loaded generation: saving again works.
        spec.save()
        _next_call_works(db, expected_generation=2)

    def test_a_nested_transaction_is_retried_from_the_outermost(
        self, db: Env, genuine: dict[str, BaseException]
    ) -> None:
        first = spec_worker.new_spec(db.ctx, UUID).to_document()
        second = spec_worker.new_spec(db.ctx, UUID, name="big").to_document()

        @transactions.writer
        def create_then_update(ctx: context.RequestContext) -> None:
            request_specs.create(ctx, UUID, "project-a", first)
            # A writer inside a writer joins its transaction.
            request_specs.update(ctx, UUID, 1, "project-a", second)

        error = next(iter(genuine.values()))
        action = faults.raise_after_running(error)
        with faults.Injector(_engine(db), UPDATE, action) as injector:
            create_then_update(db.ctx)
        # Re-running only the inner UPDATE inside the broken outer
        # transaction would conflict (or bump the generation twice).
        assert injector.calls == 2
        assert _row(db) == (UUID, "project-a", 2, second)

    @pytest.mark.backends("postgresql")
    def test_a_real_serialization_failure_is_retried(self, db: Env) -> None:
        """Under repeatable read, an UPDATE that waited for another
        transaction's lock on the row fails with 40001 when that one
        commits; the whole save is run again, on a fresh snapshot."""
        url = sa.engine.make_url(db.api_url).update_query_dict(
            {"options": "-c default_transaction_isolation=repeatable\\ read"}
        )
        settings = db.settings.with_api_connection(
            url.render_as_string(hide_password=False)
        )
        ctx = context.get_admin_context(settings=settings)
        spec = spec_worker.new_spec(ctx, UUID)
        spec.create()
        new_row = _changed(spec)
        database = settings.database
        engine = engines.database(
            database.api_connection, database.api_engine
        ).engine
        outcomes: list[str] = []

        def watch(cursor, statement, parameters):  # type: ignore[no-untyped-def]
            # Runs the UPDATE as the driver would, noting how it ended.
            try:
                cursor.execute(statement, parameters)
            except Exception as err:
                outcomes.append(getattr(err, "pgcode", None) or repr(err))
                raise
            outcomes.append(f"{cursor.rowcount} row")
            return True

        other = sa.create_engine(db.api_url, poolclass=sa.pool.NullPool)
        saver = threading.Thread(target=spec.save, daemon=True)
        try:
            with (
                faults.Injector(engine, UPDATE, watch, times=None),
                other.connect() as blocker,
                other.connect() as watcher,
            ):
                # Another writer holds the row (without moving its
                # generation) while the save's UPDATE arrives.
                blocker.execute(
                    sa.text(
                        "UPDATE request_specs SET updated_at = now() "
                        "WHERE instance_uuid = :u"
                    ),
                    {"u": UUID},
                )
                saver.start()
                _wait_for_a_lock_wait(watcher)
                blocker.commit()
                saver.join(30)
        finally:
            other.dispose()
        assert not saver.is_alive()
        # Serialization failure, then the whole save again: one row.
        assert outcomes == ["40001", "1 row"]
        assert _row(db) == new_row
        assert spec.generation == 2


def _wait_for_a_lock_wait(conn: sa.Connection) -> None:
    for _ in range(200):
        waiting = conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
        ).scalar_one()
        conn.rollback()
        if waiting:
            return
        time.sleep(0.05)
    raise AssertionError("the save never waited for the row lock")


class TestLostConnections:
    def test_connection_closed_before_the_update(self, db: Env) -> None:
        spec = _stored(db)
        old_row = _row(db)
        new_row = _changed(spec)

        def close_first(cursor, statement, parameters):  # type: ignore[no-untyped-def]
            cursor.connection.close()  # the statement runs into it

        with (
            faults.Injector(_engine(db), UPDATE, close_first),
            pytest.raises(exception.DatabaseUnavailable) as info,
        ):
            spec.save()
        assert not info.value.outcome_unknown
        assert "nothing was written" in str(info.value)
        assert _row(db) == old_row
        # Not committed, so the very same object saves fine now.
        spec.save()
        assert _row(db) == new_row
        _next_call_works(db, expected_generation=2)

    def test_connection_lost_while_committing(self, db: Env) -> None:
        spec = _stored(db)
        old_row = _row(db)
        new_row = _changed(spec)
        closed = []

        def close(conn: sa.Connection) -> None:
            if not closed:
                closed.append(True)
                conn.connection.dbapi_connection.close()  # type: ignore[union-attr]

        with (
            faults.on_commit(_engine(db), close),
            pytest.raises(exception.DatabaseUnavailable) as info,
        ):
            spec.save()
        assert info.value.outcome_unknown
        assert "may or may not have been saved" in str(info.value)
        assert _row(db) in (old_row, new_row)
        # The generation tells which: here the server rolled it back.
        assert _row(db) == old_row
        _next_call_works(db, expected_generation=1)

    @pytest.mark.backends("postgresql", "mysql")
    def test_server_kills_the_session_mid_transaction(self, db: Env) -> None:
        spec = _stored(db)
        old_row = _row(db)
        _changed(spec)
        admin = sa.create_engine(db.api_url, poolclass=sa.pool.NullPool)

        def run_then_get_killed(cursor, statement, parameters):  # type: ignore[no-untyped-def]
            cursor.execute(statement, parameters)
            if db.backend == "postgresql":
                pid = cursor.connection.get_backend_pid()
                kill = f"SELECT pg_terminate_backend({pid})"
            else:
                kill = f"KILL CONNECTION {cursor.connection.thread_id()}"
            with admin.connect() as conn:
                conn.exec_driver_sql(kill)
            return True

        try:
            with (
                faults.Injector(_engine(db), UPDATE, run_then_get_killed),
                pytest.raises(exception.DatabaseUnavailable),
            ):
                spec.save()
        finally:
            admin.dispose()
        assert _row(db) == old_row
        _next_call_works(db, expected_generation=1)


@pytest.mark.parametrize(
    ("mode", "survives"),
    [("kill-before-commit", False), ("kill-after-commit", True)],
)
def test_a_process_killed_mid_save(db: Env, mode: str, survives: bool) -> None:
    spec = _stored(db)
    old_row = _row(db)
    [(code, out, err)] = spec_worker.run_workers(
        [[mode, db.api_url, UUID]], timeout=60
    )
    assert code == -signal.SIGKILL, err
    attempted = out[0]
    new_row = (UUID, spec.project_id, 2, attempted)
    assert json.loads(attempted)["spec"]["availability_zone"] == (
        "written-by-the-killed-process"
    )
    assert _row(db) == (new_row if survives else old_row)
    # The dead process's locks are gone: this process carries on.
    _next_call_works(db, expected_generation=2 if survives else 1)


def test_a_failed_statement_leaves_a_clean_pooled_connection(
    db: Env,
) -> None:
    spec = _stored(db)
    for _ in range(8):
        # A unique-key violation aborts the transaction (on PostgreSQL the
        # connection refuses everything until it is rolled back).
        with pytest.raises(exception.RequestSpecExists):
            spec_worker.new_spec(db.ctx, UUID).create()
        stale = objects.RequestSpec.get_by_instance_uuid(db.ctx, UUID)
        spec.availability_zone = f"zone-{spec.generation}"
        spec.save()
        stale.availability_zone = "stale"
        with pytest.raises(exception.RequestSpecConflict):
            stale.save()
    assert _row(db)[2] == 9


def test_other_driver_errors_are_typed_and_not_retried(db: Env) -> None:
    calls = []

    @transactions.writer
    def broken(ctx: context.RequestContext) -> None:
        calls.append(1)
        ctx.connection.exec_driver_sql("SELEC 1")

    with pytest.raises(exception.DatabaseError) as info:
        broken(db.ctx)
    assert type(info.value) is exception.DatabaseError
    assert "the API database failed" in str(info.value)
    assert len(calls) == 1
