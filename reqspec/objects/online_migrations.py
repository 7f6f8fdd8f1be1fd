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
    """Where a run got to in one table: the last row id looked at, and
    the damaged rows met on the way (one message each, naming the
    instance and the database)."""

    after_id: int = 0
    damaged: list[str] = dataclasses.field(default_factory=list)


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


def _advance(cursor: Cursor | None, rows: list[spec_db.SpecRow]) -> None:
    if cursor is not None and rows:
        cursor.after_id = rows[-1].id


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


# -- 1: rows written before spec_version existed -----------------------------


def backfill_spec_version(
    ctx: "RequestContext", max_count: int, cursor: Cursor | None = None
) -> tuple[int, int]:
    """Fill in ``spec_version`` (and ``instance_group_uuid``) of rows
    written before those columns existed, rewriting any document of an
    older version on the way.

    Rows without a version are exactly the rows of older releases, so
    this also does what ``backfill_instance_group_uuid`` did (its blocking
    revisions, e677c5eb119f and 01df52b77620, already guarantee no row
    still waits for that).
    """
    rows = db.get_unversioned(ctx, cursor.after_id if cursor else 0, max_count)
    _advance(cursor, rows)
    return len(rows), _bring_up_to_date(ctx, rows, cursor)


def count_unversioned(ctx: "RequestContext") -> int:
    return db.count_unversioned(ctx)


# -- 2: documents written at an older RequestSpec version -------------------


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
    rows = db.get_at_other_version(
        ctx, RequestSpec.VERSION, cursor.after_id if cursor else 0, max_count
    )
    _advance(cursor, rows)
    return len(rows), _bring_up_to_date(ctx, rows, cursor)


def count_old_documents(ctx: "RequestContext") -> int:
    return db.count_at_other_version(ctx, RequestSpec.VERSION)


#: Run in this order, oldest first. Never remove an entry in the release
#: that adds it: operators run them after upgrading the code, and a later
#: schema revision may refuse to run until they have.
MIGRATIONS: tuple[OnlineMigration, ...] = (
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
    _undecodable_rows(
        ctx, lambda after: db.get_unversioned(ctx, after, batch), found
    )
    _undecodable_rows(
        ctx,
        lambda after: db.get_at_other_version(ctx, version, after, batch),
        found,
    )
    return found
