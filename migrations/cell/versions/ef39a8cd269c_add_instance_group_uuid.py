"""Add request_specs.instance_group_uuid, indexed.

Rows that exist already get NULL here; ``reqspec-manage db
online_data_migrations`` copies each one's server group uuid out of its
document, and revision 01df52b77620 refuses to run until that is done.

Revision ID: ef39a8cd269c
Revises: d3a8f06b91c4
Create Date: 2026-11-25
"""

from alembic import op
import sqlalchemy as sa

revision = "ef39a8cd269c"
down_revision = "d3a8f06b91c4"
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
