"""Listing servers across every cell, with paging and down cells.

The API database decides which servers a page holds and in what order:
its instance mappings, newest first (by their primary key, which is
unique, so no tie-break is needed and pages never overlap), only the
caller's project unless it is an admin. Each database holding a server
of the page (the API database for servers not built yet, and each cell)
is then asked for the page's servers at once, one thread per database
(``reqspec.lifecycle.scatter``), and the answers are put back in the
page's order.

Taking the order from the API database rather than merging each cell's
own sorted answers (as Nova's multi-cell lister does) is what lets a
cell be down without breaking paging: the servers of a cell that does
not answer within ``cell_timeout`` seconds keep their place, shown from
their mapping with status ``UNKNOWN`` (Nova's microversion 2.69
behaviour), so every server is listed exactly once across pages whether
its cell was up or down when each page was read. A server in the middle
of a move is listed once, from the database its mapping names (which
always holds a copy).
"""

from collections.abc import Callable

from reqspec import context
from reqspec import exception
from reqspec.lifecycle import scatter
from reqspec.lifecycle import transfer
from reqspec.lifecycle import views
from reqspec.lifecycle.views import ServerView
from reqspec.objects import CellMapping
from reqspec.objects import Instance
from reqspec.objects import InstanceMapping
from reqspec.objects import RequestSpec

#: The most servers one page holds (Nova's ``[api] max_limit``).
MAX_LIMIT = 1000

_Found = dict[str, ServerView]


def list_servers(
    ctx: context.RequestContext,
    *,
    limit: int | None = None,
    marker: str | None = None,
    cell_timeout: float | None = None,
) -> list[ServerView]:
    """One page of the servers ``ctx`` may see, newest first.

    ``limit`` servers at most (None, or more than ``MAX_LIMIT``:
    ``MAX_LIMIT``), starting after the server ``marker`` (the last uuid
    of the previous page; ``MarkerNotFound`` if it names no server the
    context may see). A database that does not answer within
    ``cell_timeout`` seconds (None: ``[database] cell_timeout``) has its
    servers listed as ``UNKNOWN``; the call returns by then, whatever
    the databases do.
    """
    transfer.require_api_context(ctx)
    timeout = views.cell_timeout_or_default(ctx, cell_timeout)
    if limit is None or limit > MAX_LIMIT:
        limit = MAX_LIMIT
    if limit < 0:
        raise exception.Invalid(reason="limit must not be negative")
    after = None if marker is None else _marker(ctx, marker)
    if limit == 0:
        return []
    page = InstanceMapping.get_page(ctx, limit, after)
    by_database: dict[str | None, list[InstanceMapping]] = {}
    cells: dict[str | None, CellMapping | None] = {}
    for mapping in page:
        cell = mapping.cell_mapping
        key = None if cell is None else cell.uuid
        by_database.setdefault(key, []).append(mapping)
        cells[key] = cell
    calls: dict[str | None, Callable[[], _Found]] = {
        key: _reader(ctx, cells[key], mappings)
        for key, mappings in by_database.items()
    }
    answers = scatter.scatter(calls, timeout)
    shown = []
    for mapping in page:
        cell = mapping.cell_mapping
        answer = answers[None if cell is None else cell.uuid]
        if isinstance(answer, scatter.CellDown):
            shown.append(views.unknown(mapping, cell))
            continue
        view = answer.get(mapping.instance_uuid)
        if view is None:
            # Moved on or deleted since the page was read: ask again the
            # way show does (None if it is gone).
            view = _show_again(ctx, mapping.instance_uuid, timeout)
        if view is not None:
            shown.append(view)
    return shown


def _marker(ctx: context.RequestContext, marker: str) -> InstanceMapping:
    try:
        mapping = InstanceMapping.get_by_instance_uuid(ctx, marker)
    except exception.InstanceNotFound:
        raise exception.MarkerNotFound(marker=marker) from None
    if not ctx.is_admin and mapping.project_id != ctx.project_id:
        raise exception.MarkerNotFound(marker=marker)
    return mapping


def _reader(
    ctx: context.RequestContext,
    cell: CellMapping | None,
    mappings: list[InstanceMapping],
) -> Callable[[], _Found]:
    """What one database's thread does: read the page's specs and
    servers there, two queries, and build their views."""

    def read() -> _Found:
        uuids = [m.instance_uuid for m in mappings]
        with transfer.database_of(ctx, cell) as dctx:
            specs = RequestSpec.get_by_instance_uuids(dctx, uuids)
            servers = (
                {} if cell is None else Instance.get_by_uuids(dctx, uuids)
            )
        by_uuid = {m.instance_uuid: m for m in mappings}
        return {
            spec.instance_uuid: views.build(
                by_uuid[spec.instance_uuid],
                cell,
                spec,
                servers.get(spec.instance_uuid),
            )
            for spec in specs
        }

    return read


def _show_again(
    ctx: context.RequestContext, uuid: str, timeout: float
) -> ServerView | None:
    try:
        return views.show(ctx, uuid, cell_timeout=timeout)
    except exception.InstanceNotFound:
        return None
