"""PostgreSQL and MySQL engines: pinged only when idle, Galera's sync wait."""

import pytest
import sqlalchemy as sa

from reqspec.conf.settings import EngineSettings
from reqspec.db import engines
from reqspec.db import server_engines
from tests.conftest import Env
from tests.fixtures import settings as test_settings


def _kill_the_pooled_connection(db: Env) -> None:
    """Have the server end the (idle) connection the pool holds."""
    engine = engines.database(db.api_url).engine
    with engine.connect() as conn:
        dbapi_con = conn.connection.dbapi_connection
        if db.backend == "postgresql":
            kill = (
                f"SELECT pg_terminate_backend({dbapi_con.get_backend_pid()})"
            )
        else:
            kill = f"KILL CONNECTION {dbapi_con.thread_id()}"
    admin = sa.create_engine(db.api_url, poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(kill)
    admin.dispose()


def _count_pings(db: Env, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    dialect = engines.database(db.api_url).engine.dialect
    pings: list[object] = []
    real = dialect.do_ping

    def counting(dbapi_con: object) -> bool:
        pings.append(dbapi_con)
        return real(dbapi_con)

    monkeypatch.setattr(dialect, "do_ping", counting)
    return pings


@pytest.mark.backends("postgresql", "mysql")
def test_busy_server_connections_are_not_pinged(
    db: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reqspec import objects

    objects.CellMapping.get_all(db.ctx)
    pings = _count_pings(db, monkeypatch)
    for _ in range(5):
        objects.CellMapping.get_by_name(db.ctx, "cell1")
    assert pings == []
    monkeypatch.setattr(server_engines, "IDLE_PING_SECONDS", 0.0)
    objects.CellMapping.get_by_name(db.ctx, "cell1")
    assert len(pings) == 1


@pytest.mark.backends("postgresql", "mysql")
def test_an_idle_connection_the_server_dropped_is_replaced(
    db: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reqspec import objects

    objects.CellMapping.get_all(db.ctx)
    _kill_the_pooled_connection(db)
    # As if the connection had sat idle past the threshold.
    monkeypatch.setattr(server_engines, "IDLE_PING_SECONDS", 0.0)
    assert objects.CellMapping.get_by_name(db.ctx, "cell1").name == "cell1"


@pytest.mark.backends("postgresql", "mysql")
def test_a_busy_connection_the_server_dropped_fails_once(db: Env) -> None:
    # Not pinged (used a moment ago): the call fails cleanly, nothing was
    # written, and the pool is replaced for the next call.
    from reqspec import exception
    from reqspec import objects

    objects.CellMapping.get_all(db.ctx)
    _kill_the_pooled_connection(db)
    with pytest.raises(exception.DatabaseUnavailable, match="nothing was"):
        objects.CellMapping.get_by_name(db.ctx, "cell1")
    assert objects.CellMapping.get_by_name(db.ctx, "cell1").name == "cell1"


def _session_sync_wait(
    url: str, settings: EngineSettings | None = None
) -> int:
    with engines.database(url, settings).engine.connect() as conn:
        return int(
            conn.exec_driver_sql("SELECT @@SESSION.wsrep_sync_wait").scalar()
        )


@pytest.mark.backends("mysql")
@pytest.mark.galera
def test_causal_reads_are_asked_of_galera_nodes_only(db: Env) -> None:
    cell_url = db.cells[0].database_connection
    engines.dispose(cell_url)
    engines.dispose(db.api_url)
    # A plain MariaDB keeps its own setting (0); a Galera node gets 3.
    expected = 3 if db.backend == "galera" else 0
    assert _session_sync_wait(cell_url) == expected
    assert _session_sync_wait(db.api_url) == expected


@pytest.mark.backends()
@pytest.mark.galera
def test_sync_wait_is_configurable_per_database_group(db: Env) -> None:
    cell_url = db.cells[0].database_connection
    both = test_settings.make(
        api_database={"connection": db.api_url, "mysql_wsrep_sync_wait": 7},
        database={"mysql_wsrep_sync_wait": 1},
    ).database
    assert _session_sync_wait(cell_url, both.engine_for(cell_url)) == 1
    assert _session_sync_wait(db.api_url, both.engine_for(db.api_url)) == 7
    # Unset in [api_database]: the API database follows [database].
    cells_only = test_settings.make(
        api_database={"connection": db.api_url},
        database={"mysql_wsrep_sync_wait": 1},
    ).database
    assert _session_sync_wait(db.api_url, cells_only.api_engine) == 1
