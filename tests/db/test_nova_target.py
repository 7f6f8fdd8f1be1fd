"""Writing a Nova API database's ``request_specs``: checked against the
table, on a Nova-shaped database of each backend."""

from collections.abc import Iterator
import datetime
import pathlib

from oslo_db import exception as db_exc
from oslo_utils import uuidutils
import pytest
import sqlalchemy as sa

from reqspec import exception
from reqspec.db import engines
from reqspec.db import nova_target
from tests.fixtures import databases
from tests.fixtures import nova_api


@pytest.fixture
def nova_url(
    backend: str, provisioners: dict[str, databases.Provisioner]
) -> Iterator[str]:
    """Nova's empty ``request_specs`` table in a database of its own."""
    provisioner = databases.provisioner_for(provisioners, backend)
    url = provisioner.create("nova_api")
    nova_api.populate(url, selected=[])
    yield url
    engines.dispose(url)
    provisioner.drop(url)


def table(url: str) -> dict[str, tuple[str, bool]]:
    """instance uuid -> (spec, updated_at is set), read with an engine of
    the test's own."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    nova_api.request_specs.c.instance_uuid,
                    nova_api.request_specs.c.spec,
                    nova_api.request_specs.c.updated_at,
                )
            )
            return {r[0]: (r[1], r[2] is not None) for r in rows}
    finally:
        engine.dispose()


def test_inserts_and_updates_in_one_transaction(nova_url: str) -> None:
    created = datetime.datetime(2024, 1, 2, 3, 4, 5)
    a, b = uuidutils.generate_uuid(), uuidutils.generate_uuid()
    target = nova_target.NovaTarget(nova_url)
    try:
        target.write(
            [
                nova_target.Row(a, "spec-a", created, None),
                nova_target.Row(b, "spec-b", None, None),
            ],
            [],
        )
        assert table(nova_url) == {a: ("spec-a", False), b: ("spec-b", False)}
        target.write([], [nova_target.Row(a, "spec-a2", None, None)])
        assert table(nova_url) == {a: ("spec-a2", True), b: ("spec-b", False)}
        # A failing insert takes the update of the same call with it.
        with pytest.raises(db_exc.DBDuplicateEntry):
            target.write(
                [nova_target.Row(b, "again", None, None)],
                [nova_target.Row(a, "lost", None, None)],
            )
        assert table(nova_url)[a] == ("spec-a2", True)
        target.write([], [])  # nothing to write
    finally:
        target.close()


def test_specs_of_reads_over_many_in_lists(nova_url: str) -> None:
    written = [uuidutils.generate_uuid() for _ in range(3)]
    target = nova_target.NovaTarget(nova_url)
    try:
        target.write(
            [nova_target.Row(u, f"spec-{u}", None, None) for u in written], []
        )
        missing = [
            uuidutils.generate_uuid() for _ in range(nova_target.IN_CHUNK)
        ]
        asked = [written[0], *missing, written[1], written[2]]
        assert target.specs_of(asked) == {u: f"spec-{u}" for u in written}
        assert target.specs_of([]) == {}
    finally:
        target.close()


@pytest.mark.backends("sqlite")
def test_not_a_nova_database(
    nova_url: str, empty_database_url: str, tmp_path: pathlib.Path
) -> None:
    with pytest.raises(exception.DatabaseUnavailable, match="no such file"):
        nova_target.NovaTarget(f"sqlite:///{tmp_path / 'absent.sqlite'}")
    assert not (tmp_path / "absent.sqlite").exists()
    with pytest.raises(exception.NotANovaDatabase):
        nova_target.NovaTarget(empty_database_url)
