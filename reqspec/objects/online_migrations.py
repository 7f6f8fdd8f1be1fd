"""Online data migrations: rewrite old rows while the service runs.

Every entry of ``MIGRATIONS`` fixes one kind of old row in whichever
database the context addresses (``reqspec-manage db online_data_migrations``
runs each of them over the API database and every cell database). The
contract is nova-manage's::

    migration(ctx, max_count) -> (found, done)

* at most ``max_count`` rows are looked at; ``found`` is how many of them
  needed work and ``done`` how many were fixed;
* every row is fixed in a transaction of its own, so an interrupted run
  loses nothing and a re-run carries on;
* a row that a live writer changed in between (its generation moved) is
  left alone and counted as not done: the writer's own save already wrote
  the new format, or the next run picks the row up;
* a row that cannot be fixed (its document does not decode: damaged) is
  logged with its instance uuid, recorded in the cursor's ``damaged`` (the
  command reports each as an error and exits 2) and counted as not done;
  the rest of the batch goes on.

An optional ``cursor`` (one per database per run) makes a run scan each
table once: rows left behind (broken, or changed under our feet) are not
looked at again by the same run, so they can neither stall it nor make it
quadratic. A new run starts from the beginning again.

Each migration also has a ``count(ctx)`` of the rows still waiting, for the
upgrade check and for progress display.

The upgrade from a release before ``spec_version`` has two stages, and
every migration and count works at both:

1. ``db sync`` stops at the block revision (api e677c5eb119f, cell
   01df52b77620) while a spec with a server group lacks its
   ``instance_group_uuid``. The database has no ``spec_version`` yet:
   ``backfill_instance_group_uuid`` fills the group uuids in; the other
   migrations have nothing to do there (found 0, count 0).
2. After ``db sync`` reaches the head, ``backfill_spec_version`` states the
   version of every row older than that column, and
   ``rewrite_old_documents`` rewrites documents of older versions.
"""

from collections.abc import Callable
import dataclasses
import logging
from typing import TYPE_CHECKING

from reqspec import exception
from reqspec.db import base as db_base
from reqspec.db import request_spec_migrations as db
from reqspec.db import request_specs as spec_db
from reqspec.objects.request_spec import RequestSpec

if TYPE_CHECKING:
    from reqspec.context import RequestContext

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class Cursor:
    """Where a run got to in one table: the last row id looked at, the
    damaged rows met on the way (one message each, naming the instance
    and the database), whether the last call reached the end of the
    candidates (``at_end``), and whether the database has
    ``spec_version`` (asked once per run)."""

    after_id: int = 0
    damaged: list[str] = dataclasses.field(default_factory=list)
    # ``found`` alone cannot tell: backfill_instance_group_uuid looks at
    # rows it does not count (specs without a group).
    at_end: bool = False
    versioned: bool | None = None


@dataclasses.dataclass(frozen=True)
class OnlineMigration:
    """One registered online data migration."""

    name: str
    summary: str
    run: Callable[["RequestContext", int, Cursor | None], tuple[int, int]]
    count: Callable[["RequestContext"], int]

    def __call__(
        self,
        ctx: "RequestContext",
        max_count: int,
        cursor: Cursor | None = None,
    ) -> tuple[int, int]:
        if max_count < 1:
            raise ValueError("max_count must be at least 1")
        return self.run(ctx, max_count, cursor)


def _load(
    ctx: "RequestContext",
    row: spec_db.SpecRow,
    what: str,
    cursor: Cursor | None,
) -> RequestSpec | None:
    try:
        return RequestSpec.from_db_row(ctx, row)
    except exception.InvalidRequestSpec as err:
        LOG.warning(
            "%s: cannot %s the request spec of instance %s: %s",
            ctx.database,
            what,
            row.instance_uuid,
            err.message,
        )
        if cursor is not None:
            cursor.damaged.append(err.message)
        return None


def _advance(
    cursor: Cursor | None, rows: list[spec_db.SpecRow], max_count: int
) -> None:
    if cursor is not None:
        if rows:
            cursor.after_id = rows[-1].id
        cursor.at_end = len(rows) < max_count


def _versioned(ctx: "RequestContext", cursor: Cursor | None) -> bool:
    """Whether the database has ``spec_version`` (stage 2, see above)."""
    if cursor is None:
        return db.has_spec_version(ctx)
    if cursor.versioned is None:
        cursor.versioned = db.has_spec_version(ctx)
    return cursor.versioned


def _bring_up_to_date(
    ctx: "RequestContext",
    rows: list[spec_db.SpecRow],
    cursor: Cursor | None,
) -> int:
    """Leave each row with a current document and the columns that state
    it; returns how many were done.

    The objects layer decides after parsing: a document written at an
    older version is rewritten (``save``: a new document and generation,
    columns filled in); one already current only has its columns filled
    in (``fill_columns``: same document, same generation). Either way the
    row stops being a candidate of any migration.
    """
    done = 0
    for row in rows:
        spec = _load(ctx, row, "migrate", cursor)
        if spec is None:
            continue
        try:
            if spec.document_version() != RequestSpec.VERSION:
                # The stored text differs from the canonical current
                # document, so save() writes, guarded by the generation
                # it read.
                spec.save()
            elif not spec.fill_columns():
                continue  # changed since it was read: the writer wins
        except (
            exception.RequestSpecConflict,
            exception.RequestSpecNotFound,
        ):
            continue
        except exception.InvalidRequestSpec as err:
            LOG.warning(
                "%s: cannot rewrite the request spec of instance %s: %s",
                ctx.database,
                row.instance_uuid,
                err.message,
            )
            continue
        done += 1
    return done


# -- 1: instance_group_uuid, a column added after rows existed -------------


def backfill_instance_group_uuid(
    ctx: "RequestContext", max_count: int, cursor: Cursor | None = None
) -> tuple[int, int]:
    """Copy each spec's server group uuid into its indexed column.

    The block revisions wait for this one, at a schema without
    ``spec_version``. Candidates are the rows of older releases without a
    group uuid (see ``request_spec_migrations``); a spec without a server
    group is looked at but needs nothing (not counted in ``found``: the
    cursor's ``at_end`` tells the runner whether more rows follow). At
    the head a damaged candidate is left to ``backfill_spec_version``,
    whose candidate it is too, so that it is reported once.
    """
    versioned = _versioned(ctx, cursor)
    rows = db.get_missing_group_uuid(
        ctx, cursor.after_id if cursor else 0, max_count, versioned
    )
    _advance(cursor, rows, max_count)
    found = done = 0
    for row in rows:
        spec: RequestSpec | None
        if versioned:
            try:
                spec = RequestSpec.from_db_row(ctx, row)
            except exception.InvalidRequestSpec:
                # Unversioned too: backfill_spec_version reports it, once.
                continue
        else:
            spec = _load(ctx, row, "read the server group of", cursor)
            if spec is None:
                found += 1  # it may have a group: not done
                continue
        group_uuid = spec.instance_group_uuid
        if group_uuid is None:
            continue
        found += 1
        if db.set_instance_group_uuid(
            ctx, row.instance_uuid, row.generation, group_uuid
        ):
            done += 1
    return found, done


def count_missing_instance_group_uuid(ctx: "RequestContext") -> int:
    """Specs with a server group whose column is empty (and, before
    ``spec_version`` exists, damaged candidates, which may be such; at the
    head ``count_unversioned`` counts those). The group is only known
    after parsing, so this reads every candidate: the rows of older
    releases, and at the head only until ``backfill_spec_version`` has
    stated their version."""
    versioned = db.has_spec_version(ctx)
    waiting = 0
    after_id = 0
    while rows := db.get_missing_group_uuid(
        ctx, after_id, db_base.READ_BATCH_SIZE, versioned
    ):
        after_id = rows[-1].id
        for row in rows:
            try:
                spec = RequestSpec.from_db_row(ctx, row)
            except exception.InvalidRequestSpec:
                if not versioned:
                    waiting += 1
                continue
            if spec.instance_group_uuid is not None:
                waiting += 1
    return waiting


# -- 2: rows written before spec_version existed -----------------------------


def backfill_spec_version(
    ctx: "RequestContext", max_count: int, cursor: Cursor | None = None
) -> tuple[int, int]:
    """Fill in ``spec_version`` (and ``instance_group_uuid``) of rows
    written before those columns existed, rewriting any document of an
    older version on the way.

    Rows without a version are exactly the rows of older releases. It
    fills in their group uuid too, although the block revisions (api
    e677c5eb119f, cell 01df52b77620) have already waited for
    ``backfill_instance_group_uuid`` to do so for every spec with a group.
    Nothing to do before the database has the column (stage 1).
    """
    if not _versioned(ctx, cursor):
        _advance(cursor, [], max_count)
        return 0, 0  # stage 1: the column is not there yet
    rows = db.get_unversioned(ctx, cursor.after_id if cursor else 0, max_count)
    _advance(cursor, rows, max_count)
    return len(rows), _bring_up_to_date(ctx, rows, cursor)


def count_unversioned(ctx: "RequestContext") -> int:
    if not db.has_spec_version(ctx):
        return 0
    return db.count_unversioned(ctx)


# -- 3: documents written at an older RequestSpec version -------------------


def rewrite_old_documents(
    ctx: "RequestContext", max_count: int, cursor: Cursor | None = None
) -> tuple[int, int]:
    """Rewrite documents stored at an older version at the current one.

    Reads upgrade old documents in memory on every load but never write
    back; this makes the upgrade permanent, so that the upgrade steps for
    versions no longer in the field can eventually be dropped. Rows are
    found by their ``spec_version`` column (see ``backfill_spec_version``
    for rows that have none).
    """
    if not _versioned(ctx, cursor):
        _advance(cursor, [], max_count)
        return 0, 0  # stage 1: no row states its version yet
    rows = db.get_at_other_version(
        ctx, RequestSpec.VERSION, cursor.after_id if cursor else 0, max_count
    )
    _advance(cursor, rows, max_count)
    return len(rows), _bring_up_to_date(ctx, rows, cursor)


def count_old_documents(ctx: "RequestContext") -> int:
    if not db.has_spec_version(ctx):
        return 0
    return db.count_at_other_version(ctx, RequestSpec.VERSION)


#: Run in this order, oldest first. Never remove an entry in the release
#: that adds it: operators run them after upgrading the code, and a later
#: schema revision may refuse to run until they have (the block revisions
#: wait for backfill_instance_group_uuid).
MIGRATIONS: tuple[OnlineMigration, ...] = (
    OnlineMigration(
        name="backfill_instance_group_uuid",
        summary="fill in request_specs.instance_group_uuid of rows of "
        "older releases whose spec has a server group",
        run=backfill_instance_group_uuid,
        count=count_missing_instance_group_uuid,
    ),
    OnlineMigration(
        name="backfill_spec_version",
        summary="fill in request_specs.spec_version (and "
        "instance_group_uuid) of rows older than the column",
        run=backfill_spec_version,
        count=count_unversioned,
    ),
    OnlineMigration(
        name="rewrite_old_documents",
        summary="rewrite request specs stored at an older document version",
        run=rewrite_old_documents,
        count=count_old_documents,
    ),
)


def pending(ctx: "RequestContext") -> dict[str, int]:
    """Rows each migration still has to fix in the context's database."""
    return {m.name: m.count(ctx) for m in MIGRATIONS}


def _undecodable_rows(
    ctx: "RequestContext",
    fetch: Callable[[int], list[spec_db.SpecRow]],
    found: dict[str, str],
) -> None:
    after_id = 0
    while rows := fetch(after_id):
        after_id = rows[-1].id
        for row in rows:
            try:
                RequestSpec.from_db_row(ctx, row)
            except exception.InvalidRequestSpec as err:
                found[row.instance_uuid] = err.message


def undecodable(
    ctx: "RequestContext", batch: int = db_base.READ_BATCH_SIZE
) -> dict[str, str]:
    """Rows some migration still waits for that no run can fix, because
    their document does not decode: instance uuid -> reason. Reads only;
    the upgrade check asks this so that it fails exactly where
    ``online_data_migrations`` reports damaged rows (exit 2)."""
    found: dict[str, str] = {}
    version = RequestSpec.VERSION
    if not db.has_spec_version(ctx):
        # Stage 1: only backfill_instance_group_uuid has candidates.
        _undecodable_rows(
            ctx,
            lambda after: db.get_missing_group_uuid(ctx, after, batch, False),
            found,
        )
        return found
    # The group candidates are unversioned rows too: read once.
    _undecodable_rows(
        ctx, lambda after: db.get_unversioned(ctx, after, batch), found
    )
    _undecodable_rows(
        ctx,
        lambda after: db.get_at_other_version(ctx, version, after, batch),
        found,
    )
    return found
