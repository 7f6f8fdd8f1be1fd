"""Request contexts: the database choice is visible on the context."""

import threading

import pytest

from reqspec import conf
from reqspec import context
from reqspec.conf import settings as conf_settings
from tests.fixtures import settings


class _Cell:
    uuid = "00000000-0000-0000-0000-000000000001"
    name = "c1"
    database_connection = "sqlite:////tmp/c1.sqlite"


def test_admin_context_addresses_the_api_database() -> None:
    ctx = context.get_admin_context()
    assert ctx.is_admin
    assert ctx.cell is None
    assert ctx.database == "the API database"


def test_target_cell_yields_a_targeted_copy() -> None:
    ctx = context.RequestContext(project_id="p", user_id="u")
    with context.target_cell(ctx, _Cell()) as cctx:
        assert cctx is not ctx
        assert cctx.cell.name == "c1"
        assert cctx.project_id == "p" and cctx.user_id == "u"
        assert "cell c1" in cctx.database
    assert ctx.cell is None


def test_a_targeted_copy_does_not_share_transactions() -> None:
    ctx = context.RequestContext()
    ctx.transaction_state().running = {"sqlite://": (object(), True)}
    with context.target_cell(ctx, _Cell()) as cctx:
        assert not hasattr(cctx.transaction_state(), "running")
    assert not hasattr(ctx.elevated().transaction_state(), "running")
    assert ctx.transaction_state().running


def test_transaction_state_is_per_thread() -> None:
    ctx = context.RequestContext()
    ctx.transaction_state().connection = "main thread's"
    seen = []
    thread = threading.Thread(
        target=lambda: seen.append(
            getattr(ctx.transaction_state(), "connection", None)
        )
    )
    thread.start()
    thread.join()
    assert seen == [None]
    assert ctx.transaction_state() is ctx.transaction_state()


def test_connection_outside_a_transaction_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="no transaction is running"):
        _ = context.RequestContext().connection


def test_elevated_keeps_the_target() -> None:
    ctx = context.RequestContext(project_id="p")
    with context.target_cell(ctx, _Cell()) as cctx:
        admin = cctx.elevated()
    assert admin.is_admin and "admin" in admin.roles
    assert admin.cell is not None
    assert not ctx.is_admin


def test_to_dict_names_the_cell() -> None:
    ctx = context.RequestContext()
    assert ctx.to_dict()["cell_uuid"] is None
    with context.target_cell(ctx, _Cell()) as cctx:
        assert cctx.to_dict()["cell_uuid"] == _Cell.uuid


def test_a_context_holds_the_settings_it_was_given() -> None:
    own = settings.make(scheduler={"max_attempts": 7})
    ctx = context.get_admin_context(settings=own)
    assert ctx.settings is own
    with context.target_cell(ctx, _Cell()) as cctx:
        assert cctx.settings is own
        assert cctx.elevated().settings is own
    # Never on the wire: the receiver holds its own.
    assert "settings" not in ctx.to_dict()
    assert own not in ctx.to_dict().values()


def test_without_settings_a_context_holds_the_process_default(
    tmp_path: object,
) -> None:
    # Nothing set: CONF as it stands when the context is made.
    conf.CONF.set_override("max_attempts", 5, group="scheduler")
    assert context.RequestContext().settings.scheduler.max_attempts == 5
    # Set (as services and reqspec-manage do after parsing): that one,
    # whatever CONF says afterwards.
    pinned = settings.make(scheduler={"max_attempts": 2})
    conf_settings.set_default(pinned)
    conf.CONF.set_override("max_attempts", 9, group="scheduler")
    assert context.get_admin_context().settings is pinned
    conf_settings.set_default(None)
    assert context.get_admin_context().settings.scheduler.max_attempts == 9
