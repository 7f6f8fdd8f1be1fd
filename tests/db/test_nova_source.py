"""Reading a Nova API database without ever writing to it."""

from collections.abc import Iterator
import datetime
import hashlib
import os
import pathlib

from oslo_db import exception as db_exc
import pytest
import sqlalchemy as sa

from reqspec.db import engines
from reqspec.db import nova_source
from tests.fixtures import databases
from tests.fixtures import nova_api


@pytest.fixture
def nova_url(
    backend: str, provisioners: dict[str, databases.Provisioner]
) -> Iterator[str]:
    provisioner = databases.provisioner_for(provisioners, backend)
    url = provisioner.create("nova_api")
    nova_api.populate(url)
    yield url
    engines.dispose(url)
    provisioner.drop(url)


def _digest(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.backends("sqlite")
def test_an_sqlite_source_is_not_touched(nova_url: str) -> None:
    path = pathlib.Path(sa.engine.make_url(nova_url).database or "")
    before = _digest(path)
    mtime = os.stat(path).st_mtime_ns
    source = nova_source.NovaSource(nova_url)
    try:
        assert source.count() == len(nova_api.rows())
        rows = source.batch_after(0, 1000)
    finally:
        source.close()
    assert len(rows) == len(nova_api.rows())
    assert _digest(path) == before
    assert os.stat(path).st_mtime_ns == mtime
    # No WAL switch: no side files, and the journal mode is still Nova's.
    assert [p.name for p in path.parent.glob(path.name + "*")] == [path.name]
    with sa.create_engine(f"sqlite:///{path}").connect() as conn:
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
    assert mode == "delete"


def test_the_source_connection_refuses_writes(nova_url: str) -> None:
    engine = nova_source.read_only_engine(sa.engine.make_url(nova_url))
    try:
        refused = (sa.exc.DBAPIError, db_exc.DBError)
        with pytest.raises(refused) as raised, engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE request_specs SET spec = 'x' WHERE id = 1")
            )
        assert "read" in str(raised.value).lower()  # read-only, readonly
        with engine.connect() as conn:
            spec = conn.execute(
                sa.text("SELECT spec FROM request_specs WHERE id = 1")
            ).scalar()
        assert spec == nova_api.rows()[0]["spec"]
    finally:
        engine.dispose()


def test_rows_carry_nova_timestamps(nova_url: str) -> None:
    source = nova_source.NovaSource(nova_url)
    try:
        rows = source.batch_after(0, 3)
    finally:
        source.close()
    expected = nova_api.rows()[:3]
    assert [r.id for r in rows] == [r["id"] for r in expected]
    for row, fixture_row in zip(rows, expected, strict=True):
        assert _seconds(row.created_at) == _seconds(fixture_row["created_at"])
        assert _seconds(row.updated_at) == _seconds(fixture_row["updated_at"])


def _seconds(value: datetime.datetime | str | None) -> str | None:
    # MySQL's DATETIME (Nova's column type) keeps whole seconds.
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    return None if value is None else value.replace(microsecond=0).isoformat()
