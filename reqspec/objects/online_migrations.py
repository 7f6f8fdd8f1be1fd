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
from reqspec.db import request_spec_migrations as db
from reqspec.db import request_specs as spec_db
from reqspec.objects import document
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
        return RequestSpec._from_db_row(ctx, row)
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


# -- 1: documents written at an older RequestSpec version -------------------


def rewrite_old_documents(
    ctx: "RequestContext", max_count: int, cursor: Cursor | None = None
) -> tuple[int, int]:
    """Rewrite documents stored at an older version at the current one.

    Reads upgrade old documents in memory on every load but never write
    back; this makes the upgrade permanent, so that the upgrade steps for
    versions no longer in the field can eventually be dropped.
    """
    rows = db.get_not_at_version(
        ctx,
        document.current_version(),
        cursor.after_id if cursor else 0,
        max_count,
    )
    _advance(cursor, rows)
    done = 0
    for row in rows:
        spec = _load(ctx, row, "rewrite", cursor)
        if spec is None:
            continue
        try:
            # The stored text differs from the canonical current document,
            # so save() writes, guarded by the generation it read.
            spec.save()
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
    return len(rows), done


def count_old_documents(ctx: "RequestContext") -> int:
    return db.count_not_at_version(ctx, document.current_version())


# -- 2: instance_group_uuid, a column added after rows existed -------------


def backfill_instance_group_uuid(
    ctx: "RequestContext", max_count: int, cursor: Cursor | None = None
) -> tuple[int, int]:
    """Copy each spec's server group uuid into its indexed column."""
    rows = db.get_missing_group_uuid(
        ctx, cursor.after_id if cursor else 0, max_count
    )
    _advance(cursor, rows)
    done = 0
    for row in rows:
        spec = _load(ctx, row, "read the server group of", cursor)
        if spec is None:
            continue
        group_uuid = spec.instance_group_uuid
        if group_uuid is None:
            # Not a group after all (the text filter is only a superset).
            LOG.warning(
                "%s: the request spec of instance %s matched the server "
                "group filter but has no group",
                ctx.database,
                row.instance_uuid,
            )
            continue
        if db.set_instance_group_uuid(
            ctx, row.instance_uuid, row.generation, group_uuid
        ):
            done += 1
    return len(rows), done


def count_missing_instance_group_uuid(ctx: "RequestContext") -> int:
    return db.count_missing_group_uuid(ctx)


#: Run in this order, oldest first. Never remove an entry in the release
#: that adds it: operators run them after upgrading the code, and a later
#: schema revision may refuse to run until they have.
MIGRATIONS: tuple[OnlineMigration, ...] = (
    OnlineMigration(
        name="rewrite_old_documents",
        summary="rewrite request specs stored at an older document version",
        run=rewrite_old_documents,
        count=count_old_documents,
    ),
    OnlineMigration(
        name="backfill_instance_group_uuid",
        summary="fill in request_specs.instance_group_uuid",
        run=backfill_instance_group_uuid,
        count=count_missing_instance_group_uuid,
    ),
)


def pending(ctx: "RequestContext") -> dict[str, int]:
    """Rows each migration still has to fix in the context's database."""
    return {m.name: m.count(ctx) for m in MIGRATIONS}
