"""reqspec-manage import-nova, with rows that real Nova wrote."""

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from reqspec.cmd import manage
from reqspec.db import engines
from reqspec.objects import nova_translation
from reqspec.objects import RequestSpec
from tests.conftest import Env
from tests.fixtures import databases
from tests.fixtures import nova_api

pytestmark = pytest.mark.backends("sqlite", "postgresql")

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
