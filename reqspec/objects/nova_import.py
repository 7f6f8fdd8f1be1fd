"""Import the request specs of an existing Nova deployment.

Reads a Nova API database's ``request_specs`` table in batches, converts
each row (``nova_translation``) and creates the spec in the database the
context addresses (the API database, for ``reqspec-manage import-nova``).

Idempotent: a row whose instance already has a spec with the same
document is counted as already present; one with a different document is
a conflict, reported and left alone (the existing spec may have been
changed since by reqspec itself, and an import must never overwrite it).
Each spec is created in its own transaction, so an interrupted import
keeps what it wrote and a re-run carries on.
"""

from collections.abc import Iterator
import dataclasses
import enum
from typing import TYPE_CHECKING

from reqspec import exception
from reqspec.db import nova_source
from reqspec.objects import nova_translation
from reqspec.objects.request_spec import RequestSpec

if TYPE_CHECKING:
    from reqspec.context import RequestContext


class Outcome(enum.Enum):
    IMPORTED = "imported"
    PRESENT = "already present"
    CONFLICT = "conflict"
    UNCONVERTIBLE = "unconvertible"


@dataclasses.dataclass(frozen=True)
class RowResult:
    """What became of one Nova row."""

    nova_id: int
    instance_uuid: str
    outcome: Outcome
    reason: str = ""
    notes: tuple[str, ...] = ()


def import_row(ctx: "RequestContext", row: nova_source.NovaRow) -> RowResult:
    """Convert one Nova row and store it, unless it is there already."""
    try:
        translation = nova_translation.translate(row.instance_uuid, row.spec)
    except exception.NovaSpecUnconvertible as err:
        return RowResult(
            row.id, row.instance_uuid, Outcome.UNCONVERTIBLE, err.message
        )
    spec = translation.spec
    spec._context = ctx
    notes = tuple(translation.notes)
    try:
        # Nova's timestamps: when the server was booted and last changed.
        spec.create(created_at=row.created_at, updated_at=row.updated_at)
    except exception.RequestSpecExists:
        existing = RequestSpec.get_by_instance_uuid(ctx, row.instance_uuid)
        if existing.to_document() == spec.to_document():
            return RowResult(
                row.id, row.instance_uuid, Outcome.PRESENT, notes=notes
            )
        return RowResult(
            row.id,
            row.instance_uuid,
            Outcome.CONFLICT,
            "a different spec is already stored for this instance; left "
            "as it is",
            notes,
        )
    return RowResult(row.id, row.instance_uuid, Outcome.IMPORTED, notes=notes)


def import_from(
    ctx: "RequestContext",
    source: nova_source.NovaSource,
    batch_size: int = 500,
) -> Iterator[RowResult]:
    """Import every row of ``source``, yielding each row's result."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    after_id = 0
    while True:
        rows = source.batch_after(after_id, batch_size)
        if not rows:
            return
        for row in rows:
            yield import_row(ctx, row)
        after_id = rows[-1].id
