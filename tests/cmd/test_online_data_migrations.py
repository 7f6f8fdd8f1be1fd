"""reqspec-manage db online_data_migrations."""

import io
from typing import Any

import pytest

from reqspec.cmd import manage
from reqspec.cmd import online_data_migrations
from reqspec.cmd import output
from reqspec.objects import online_migrations as odm
from tests.conftest import Env
from tests.fixtures.specs import damage_row
from tests.fixtures.specs import make_spec
from tests.fixtures.specs import store_old_row

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def _old_rows(env: Env) -> None:
    """Six rows of version 1.0: two in the API database and one in cell2
    from a release before ``spec_version`` (NULL there), three in cell1
    from a later one (which stated 1.0 in it)."""
    for ctx, n, stated in (
        (env.ctx, 2, False),
        (env.cell_context(0), 3, True),
        (env.cell_context(1), 1, False),
    ):
        for _ in range(n):
            store_old_row(ctx, make_spec(ctx), "1.0", stated=stated)


def _pending(env: Env) -> int:
    contexts = [env.ctx, env.cell_context(0), env.cell_context(1)]
    return sum(sum(odm.pending(ctx).values()) for ctx in contexts)


def _table_row(out: str, name: str) -> list[str]:
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells and cells[0] == name:
            return cells[1:]
    raise AssertionError(f"no row {name!r} in:\n{out}")


def test_every_database_is_migrated_and_summarised(
    db: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    _old_rows(db)
    # Each row waits for one migration; the three unversioned ones (with a
    # server group, and no group uuid in this fixture) for the group
    # backfill too.
    assert _pending(db) == 9

    assert manage.main(["db", "online_data_migrations"]) == 0

    out, err = capsys.readouterr()
    assert _table_row(out, "backfill_instance_group_uuid") == ["3", "3"]
    # Rows without a version are rewritten by the backfill, so the other
    # migration never sees them.
    assert _table_row(out, "backfill_spec_version") == ["3", "3"]
    assert _table_row(out, "rewrite_old_documents") == ["3", "3"]
    assert _pending(db) == 0
    # stderr is not a terminal here: no progress bar, no escape codes.
    assert "\r" not in err and "\x1b" not in err

    # Re-running finds nothing and says so.
    assert manage.main(["db", "online_data_migrations"]) == 0
    out, _ = capsys.readouterr()
    assert _table_row(out, "backfill_instance_group_uuid") == ["0", "0"]
    assert _table_row(out, "backfill_spec_version") == ["0", "0"]
    assert _table_row(out, "rewrite_old_documents") == ["0", "0"]


def test_max_count_limits_a_run_and_exit_1_means_more(
    db: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    _old_rows(db)
    codes = []
    while True:
        code = manage.main(
            ["db", "online_data_migrations", "--max-count", "4"]
        )
        out, _ = capsys.readouterr()
        codes.append(code)
        if code != 1:
            break
        done = sum(int(_table_row(out, m.name)[1]) for m in odm.MIGRATIONS)
        assert 0 < done <= 4
    assert codes[-1] == 0
    # nine row migrations, four at a time, then a final 0
    assert len(codes) >= 4
    assert _pending(db) == 0


def test_rows_without_a_group_do_not_end_the_group_backfill_early(
    db: Env, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    # A whole batch of rows that need no group uuid finds nothing, and
    # yet a row that does need one follows.
    monkeypatch.setattr(online_data_migrations, "DEFAULT_BATCH", 2)
    for group in (False, False, True):
        store_old_row(db.ctx, make_spec(db.ctx, group=group), "1.0")

    assert manage.main(["db", "online_data_migrations"]) == 0
    out, _ = capsys.readouterr()
    assert _table_row(out, "backfill_instance_group_uuid") == ["1", "1"]
    assert _table_row(out, "backfill_spec_version") == ["3", "3"]
    assert _pending(db) == 0


@pytest.mark.parametrize("bad", ["0", "-3", "ten"])
def test_bad_max_count_is_127(
    db: Env, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    _old_rows(db)
    assert manage.main(
        ["db", "online_data_migrations", "--max-count", bad]
    ) == (127)
    assert "positive integer" in capsys.readouterr().err
    assert _pending(db) == 9  # nothing was touched


def test_a_failing_migration_is_exit_2_and_others_still_run(
    db: Env, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    _old_rows(db)

    def explode(ctx: Any, max_count: int, cursor: Any = None) -> Any:
        raise RuntimeError("boom")

    broken = odm.OnlineMigration("explode", "fails", explode, lambda c: 0)
    monkeypatch.setattr(odm, "MIGRATIONS", (broken, *odm.MIGRATIONS))

    assert manage.main(["db", "online_data_migrations"]) == 2
    out, err = capsys.readouterr()
    assert "explode failed on the API database" in err
    assert "boom" in err
    assert _table_row(out, "backfill_spec_version") == ["3", "3"]
    assert _table_row(out, "rewrite_old_documents") == ["3", "3"]


def test_rows_that_cannot_be_migrated_are_reported(
    db: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = make_spec(db.ctx)
    store_old_row(
        db.ctx,
        spec,
        text='{"spec":{"instance_uuid":"' + spec.instance_uuid + '",'
        '"flavor":7},"version":"1.0"}',
    )
    # A row no release could have written is damage: an error, exit 2.
    assert manage.main(["db", "online_data_migrations"]) == 2
    out, err = capsys.readouterr()
    assert _table_row(out, "backfill_spec_version") == ["1", "0"]
    assert (
        "backfill_spec_version could not migrate a damaged row: "
        f"Invalid request spec: stored spec of instance {spec.instance_uuid}"
    ) in err
    # Named once: the group backfill, whose candidate it is too, leaves
    # unversioned rows' damage to backfill_spec_version.
    assert _table_row(out, "backfill_instance_group_uuid") == ["0", "0"]
    named = [line for line in err.splitlines() if spec.instance_uuid in line]
    assert len(named) == 2  # the warning, then the error
    assert "Traceback" not in out + err
    # The upgrade check agrees: a failure, not "run the migrations".
    assert manage.main(["upgrade", "check"]) == 2
    out, _ = capsys.readouterr()
    assert "cannot be migrated" in out


@pytest.mark.backends("sqlite", "postgresql", "mysql")
def test_a_damaged_row_is_an_error_and_the_others_are_migrated(
    db: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 13: on SQLite a row holding invalid UTF-8 failed the whole
    batch (DatabaseError) and no other row of it was migrated."""
    _old_rows(db)
    damaged = make_spec(db.cell_context(0))
    store_old_row(db.cell_context(0), damaged, "1.0", stated=True)
    damage_row(db.cell_context(0), damaged.instance_uuid)

    assert manage.main(["db", "online_data_migrations"]) == 2
    out, err = capsys.readouterr()
    assert _table_row(out, "backfill_spec_version") == ["3", "3"]
    assert _table_row(out, "rewrite_old_documents") == ["4", "3"]
    errors = [line for line in err.splitlines() if "damaged row" in line]
    assert len(errors) == 1
    assert f"stored spec of instance {damaged.instance_uuid}" in errors[0]
    assert "cell cell1" in errors[0]
    # Everything else is done; only the damaged row is still pending.
    contexts = [db.ctx, db.cell_context(0), db.cell_context(1)]
    left = [odm.pending(c)["rewrite_old_documents"] for c in contexts]
    assert left == [0, 1, 0]


def test_the_progress_bar_draws_only_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Terminal()
    bar = output.Progress(10, stream=tty)
    bar.advance(5, "halfway")
    bar.close()
    assert "[" + "#" * 15 + "." * 15 + "] 5/10 halfway" in tty.getvalue()
    assert tty.getvalue().endswith("\n")

    log = io.StringIO()
    bar = output.Progress(10, stream=log)
    bar.advance(5)
    bar.close()
    assert log.getvalue() == ""
