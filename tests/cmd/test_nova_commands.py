"""reqspec-manage import-nova, with rows that real Nova wrote."""

from collections.abc import Iterator
import datetime
import hashlib
import pathlib
import secrets
from typing import Any
import uuid

import pytest
import sqlalchemy as sa

from reqspec import objects
from reqspec.cmd import manage
from reqspec.db import engines
from reqspec.objects import nova_export
from reqspec.objects import nova_translation
from reqspec.objects import RequestSpec
from tests.conftest import Env
from tests.fixtures import databases
from tests.fixtures import nova_api
from tests.fixtures import specs

REFUSED = {
    "unsupported-architecture",
    "broken-truncated-json",
    "broken-not-a-request-spec",
}


@pytest.fixture
def nova_url(
    backend: str, provisioners: dict[str, databases.Provisioner]
) -> Iterator[str]:
    """A Nova-shaped API database holding the fixture rows."""
    provisioner = databases.provisioner_for(provisioners, backend)
    url = provisioner.create("nova_api")
    nova_api.populate(url)
    yield url
    engines.dispose(url)
    provisioner.drop(url)


def _outcomes(out: str) -> dict[str, int]:
    counts = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 2 and cells[1].isdigit():
            counts[cells[0]] = int(cells[1])
    return counts


def _import(url: str, *extra: str) -> int:
    return manage.main(["import-nova", "--connection", url, *extra])


def test_import_converts_every_row_it_can_and_reports_the_rest(
    db: Env, nova_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = nova_api.rows()
    assert _import(nova_url, "--batch-size", "5") == 1
    out, err = capsys.readouterr()
    assert err == ""
    counts = _outcomes(out)
    assert counts["imported"] == len(rows) - len(REFUSED)
    assert counts["unconvertible"] == len(REFUSED)
    assert counts["total"] == len(rows)
    # Each refused row is listed with its Nova id and the reason.
    for row in rows:
        listed = [
            line for line in out.splitlines() if row["instance_uuid"] in line
        ]
        if row["case"] in REFUSED:
            assert len(listed) == 1 and "unconvertible" in listed[0]
            assert listed[0].split("|")[1].strip() == str(row["id"])
    assert "server group policy taken from the pre-1.11 policies" in out

    # What was stored is exactly the translation, in the API database.
    for row in rows:
        if row["case"] in REFUSED:
            continue
        stored = RequestSpec.get_by_instance_uuid(db.ctx, row["instance_uuid"])
        expected = nova_translation.translate(
            row["instance_uuid"], row["spec"]
        ).spec
        assert stored.to_document() == expected.to_document()
    full = RequestSpec.get_by_instance_uuid(
        db.ctx, nova_api.by_case()["full-boot"]["instance_uuid"]
    )
    assert full.flavor.extra_specs == {"quota:disk_read_bytes_sec": "10240000"}
    assert full.instance_group.policy == "anti-affinity"


def test_import_is_idempotent_and_never_overwrites(
    db: Env, nova_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    good = [r for r in nova_api.rows() if r["case"] not in REFUSED]
    _import(nova_url)
    capsys.readouterr()

    # reqspec changes one spec after the import; a re-run keeps it.
    changed = RequestSpec.get_by_instance_uuid(
        db.ctx, good[0]["instance_uuid"]
    )
    changed.availability_zone = "az-after-import"
    changed.save()

    assert _import(nova_url, "--batch-size", "1") == 1
    out, _ = capsys.readouterr()
    counts = _outcomes(out)
    assert counts["imported"] == 0
    assert counts["already present"] == len(good) - 1
    assert counts["conflict"] == 1
    (line,) = [ln for ln in out.splitlines() if good[0]["instance_uuid"] in ln]
    assert "conflict" in line and "left as it is" in line
    kept = RequestSpec.get_by_instance_uuid(db.ctx, good[0]["instance_uuid"])
    assert kept.availability_zone == "az-after-import"


def test_a_clean_source_exits_0(
    db: Env,
    backend: str,
    provisioners: dict[str, databases.Provisioner],
    capsys: pytest.CaptureFixture[str],
) -> None:
    provisioner = databases.provisioner_for(provisioners, backend)
    url = provisioner.create("nova_api")
    try:
        cases = {"full-boot", "requestspec-1.5", "pci-sriov-alias"}
        nova_api.populate(
            url, [r for r in nova_api.rows() if r["case"] in cases]
        )
        assert _import(url) == 0
        assert _outcomes(capsys.readouterr().out)["imported"] == 3
    finally:
        engines.dispose(url)
        provisioner.drop(url)


def test_a_database_that_is_not_nova_is_refused_cleanly(
    db: Env, empty_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = engines.create_engine(empty_database_url, max_retries=0)
    engine.connect().close()  # an SQLite file exists only once opened
    engine.dispose()
    assert _import(empty_database_url) == 1
    out, err = capsys.readouterr()
    # Only the databases the command was about to use.
    assert all(line.startswith("using ") for line in out.splitlines())
    assert err.startswith("error: the Nova API database has no request_specs")
    assert len(err.strip().splitlines()) == 1


def test_an_unreachable_nova_is_one_line(
    db: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "postgresql+psycopg2://nova@127.0.0.1:1/nova_api"
    assert _import(url) == 1
    out, err = capsys.readouterr()
    # Only the databases the command was about to use.
    assert all(line.startswith("using ") for line in out.splitlines())
    assert err.startswith("error: Cannot reach the Nova API database:")
    assert len(err.strip().splitlines()) == 1
    # Nothing was written.
    with engines.database(db.api_url).engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM request_specs"))
        assert count.scalar() == 0


def _read_only_user(url: str) -> tuple[str, list[str]]:
    """A user that may only SELECT from Nova's table: (its URL, the
    statements that drop it)."""
    parsed = sa.engine.make_url(url)
    name = "reqspec_ro_" + secrets.token_hex(4)
    password = secrets.token_hex(8)
    if parsed.get_backend_name() == "postgresql":
        create = [
            f"CREATE ROLE {name} LOGIN PASSWORD '{password}'",
            f"GRANT USAGE ON SCHEMA public TO {name}",
            f"GRANT SELECT ON request_specs TO {name}",
        ]
        drop = [f"DROP OWNED BY {name}", f"DROP ROLE {name}"]
    else:
        hosts = ("%", "localhost")
        create = [
            f"CREATE USER '{name}'@'{h}' IDENTIFIED BY '{password}'"
            for h in hosts
        ] + [
            f"GRANT SELECT ON `{parsed.database}`.* TO '{name}'@'{h}'"
            for h in hosts
        ]
        drop = [f"DROP USER '{name}'@'{h}'" for h in hosts]
    _run(url, create)
    return parsed.set(username=name, password=password).render_as_string(
        hide_password=False
    ), drop


def _run(url: str, statements: list[str]) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def test_the_source_is_never_written(
    db: Env, nova_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """SQLite: the file is byte for byte the same. Servers: the import
    runs as a user that can only SELECT, so any write would fail it."""
    if db.backend == "sqlite":
        path = pathlib.Path(sa.engine.make_url(nova_url).database or "")
        before = hashlib.sha256(path.read_bytes()).hexdigest()
        assert _import(nova_url) == 1  # the refused rows
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before
        assert sorted(p.name for p in path.parent.glob(path.name + "*")) == [
            path.name
        ]
    else:
        ro_url, drop = _read_only_user(nova_url)
        try:
            assert _import(ro_url) == 1
        finally:
            engines.dispose(ro_url)
            _run(nova_url, drop)
    out, err = capsys.readouterr()
    assert err == ""
    assert _outcomes(out)["imported"] == len(nova_api.rows()) - len(REFUSED)


def test_nova_timestamps_are_kept(db: Env, nova_url: str) -> None:
    _import(nova_url)
    table = sa.table(
        "request_specs",
        sa.column("instance_uuid"),
        sa.column("created_at"),
        sa.column("updated_at"),
    )
    with engines.database(db.api_url).engine.connect() as conn:
        stored = {
            r.instance_uuid: (r.created_at, r.updated_at)
            for r in conn.execute(sa.select(table))
        }
    rows = [r for r in nova_api.rows() if r["case"] not in REFUSED]
    assert len(stored) == len(rows)
    assert any(r["updated_at"] for r in rows)
    for row in rows:
        created, updated = stored[row["instance_uuid"]]
        assert _seconds(created) == _seconds(row["created_at"])
        assert _seconds(updated) == _seconds(row["updated_at"])


def _seconds(value: datetime.datetime | str | None) -> str | None:
    # MySQL's DATETIME keeps whole seconds.
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    return None if value is None else value.replace(microsecond=0).isoformat()


def _export(url: str, *extra: str) -> int:
    return manage.main(["export-nova", "--connection", url, *extra])


def _nova_rows(url: str) -> dict[str, Any]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                r.instance_uuid: r
                for r in conn.execute(sa.select(nova_api.request_specs))
            }
    finally:
        engine.dispose()


@pytest.fixture
def empty_nova_url(
    backend: str, provisioners: dict[str, databases.Provisioner]
) -> Iterator[str]:
    """A Nova API database whose request_specs table is empty."""
    provisioner = databases.provisioner_for(provisioners, backend)
    url = provisioner.create("nova_export")
    nova_api.populate(url, [])
    yield url
    engines.dispose(url)
    provisioner.drop(url)


def test_export_writes_every_spec_back_idempotently(
    db: Env,
    nova_url: str,
    empty_nova_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _import(nova_url)
    # A server already scheduled: its spec lives in a cell.
    in_cell = specs.realistic_spec(str(uuid.uuid4()))
    in_cell._context = db.cell_context(0)
    in_cell.create()
    capsys.readouterr()
    good = [r for r in nova_api.rows() if r["case"] not in REFUSED]

    assert _export(empty_nova_url, "--batch-size", "4") == 0
    out, err = capsys.readouterr()
    assert err == ""
    counts = _outcomes(out)
    assert counts["written"] == len(good) + 1
    assert counts["total"] == len(good) + 1
    assert "cell1" in out
    written = _nova_rows(empty_nova_url)
    assert len(written) == len(good) + 1
    for row in good:
        exported = written[row["instance_uuid"]]
        stored = RequestSpec.get_by_instance_uuid(db.ctx, row["instance_uuid"])
        back = nova_translation.translate(row["instance_uuid"], exported.spec)
        assert _same(back.spec, stored)
        # Nova's own timestamps, carried through reqspec.
        assert _seconds(exported.created_at) == _seconds(row["created_at"])
    back = nova_translation.translate(
        in_cell.instance_uuid, written[in_cell.instance_uuid].spec
    )
    assert _same(back.spec, in_cell)

    # A re-run writes nothing; a changed spec is updated, nothing else.
    assert _export(empty_nova_url) == 0
    assert _outcomes(capsys.readouterr().out)["unchanged"] == len(good) + 1
    changed = RequestSpec.get_by_instance_uuid(
        db.ctx, good[0]["instance_uuid"]
    )
    changed.availability_zone = "az-after-import"
    changed.save()
    assert _export(empty_nova_url) == 0
    counts = _outcomes(capsys.readouterr().out)
    assert (counts["updated"], counts["unchanged"]) == (1, len(good))
    row = _nova_rows(empty_nova_url)[good[0]["instance_uuid"]]
    spec = nova_translation.translate(good[0]["instance_uuid"], row.spec).spec
    assert spec.availability_zone == "az-after-import"
    assert row.updated_at is not None
    assert len(_nova_rows(empty_nova_url)) == len(good) + 1


def test_export_into_the_source_leaves_equal_rows_alone(
    db: Env, nova_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _import(nova_url)
    before = _nova_rows(nova_url)
    capsys.readouterr()
    assert _export(nova_url) == 0
    counts = _outcomes(capsys.readouterr().out)
    good = len(nova_api.rows()) - len(REFUSED)
    assert (counts["unchanged"], counts["written"]) == (good, 0)
    # Nova's rows keep everything, its own bookkeeping included.
    assert _nova_rows(nova_url) == before


def test_export_refuses_a_database_that_is_not_nova(
    db: Env, empty_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = engines.create_engine(empty_database_url, max_retries=0)
    engine.connect().close()
    engine.dispose()
    assert _export(empty_database_url) == 1
    out, err = capsys.readouterr()
    # Only the databases the command was about to use.
    assert all(line.startswith("using ") for line in out.splitlines())
    assert err.startswith("error: the Nova API database has no request_specs")
    assert len(err.strip().splitlines()) == 1


def _same(one: RequestSpec, other: RequestSpec) -> bool:
    complete = nova_export.complete
    return complete(one).to_document() == complete(other).to_document()


def test_export_lists_a_spec_nova_cannot_hold_and_exits_1(
    db: Env, empty_nova_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    good = specs.realistic_spec(str(uuid.uuid4()))
    good._context = db.ctx
    good.create()
    odd = specs.realistic_spec(str(uuid.uuid4()))
    odd.numa_topology = objects.InstanceNUMATopology(
        cells=[
            objects.InstanceNUMACell(
                id=0,
                cpuset={0},
                memory=1024,
                pagesize=2048,
                pagesize_policy="large",
            )
        ]
    )
    odd._context = db.ctx
    odd.create()
    assert _export(empty_nova_url) == 1
    out, err = capsys.readouterr()
    assert err == ""
    counts = _outcomes(out)
    assert (counts["written"], counts["unconvertible"]) == (1, 1)
    (line,) = [ln for ln in out.splitlines() if odd.instance_uuid in ln]
    assert "both a page size and a page size policy" in line
    assert set(_nova_rows(empty_nova_url)) == {good.instance_uuid}
