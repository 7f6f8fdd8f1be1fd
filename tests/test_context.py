"""Request contexts: the database choice is visible on the context."""

from reqspec import context


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
    ctx._enginefacade_context = object()  # what enginefacade leaves behind
    with context.target_cell(ctx, _Cell()) as cctx:
        assert "_enginefacade_context" not in cctx.__dict__


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
