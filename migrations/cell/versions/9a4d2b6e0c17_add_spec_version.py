"""Add request_specs.spec_version, indexed.

The version each stored document was written at, stated by its writer,
so that the online data migrations find the rows written at another
version than the current one by a column rather than by the document's
bytes. Existing rows get NULL; ``reqspec-manage db online_data_migrations``
fills it in (``backfill_spec_version``). Nothing here reads a document.

Revision ID: 9a4d2b6e0c17
Revises: 8d41f0a3c6e2
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa

revision = "9a4d2b6e0c17"
down_revision = "8d41f0a3c6e2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "request_specs",
        sa.Column("spec_version", sa.String(16), nullable=True),
    )
    op.create_index(
        op.f("ix_request_specs_spec_version"),
        "request_specs",
        ["spec_version"],
    )
