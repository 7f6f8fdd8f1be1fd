"""Add request_specs.instance_group_uuid, indexed.

Rows that exist already get NULL here; ``reqspec-manage db
online_data_migrations`` copies each one's server group uuid out of its
document, and revision e677c5eb119f refuses to run until that is done.

Revision ID: 3fd8b600f9ed
Revises: b4e19d7c2a61
Create Date: 2026-11-25
"""

from alembic import op
import sqlalchemy as sa

revision = "3fd8b600f9ed"
down_revision = "b4e19d7c2a61"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "request_specs",
        sa.Column("instance_group_uuid", sa.String(36), nullable=True),
    )
    op.create_index(
        op.f("ix_request_specs_instance_group_uuid"),
        "request_specs",
        ["instance_group_uuid"],
    )
