"""Add instance_mappings: which database holds each server's spec.

Revision ID: b4e19d7c2a61
Revises: a1f3c2e0d9b4
Create Date: 2026-11-26
"""

from alembic import op
import sqlalchemy as sa

revision = "b4e19d7c2a61"
down_revision = "a1f3c2e0d9b4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instance_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_uuid", sa.String(36), nullable=False),
        sa.Column("project_id", sa.String(255), nullable=True),
        sa.Column("cell_id", sa.Integer(), nullable=True),
        sa.Column("move_step", sa.String(16), nullable=True),
        sa.Column("move_source_cell_id", sa.Integer(), nullable=True),
        sa.Column("move_target_cell_id", sa.Integer(), nullable=True),
        sa.Column("move_host", sa.String(255), nullable=True),
        sa.Column("move_node", sa.String(255), nullable=True),
        sa.Column("fault", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instance_mappings")),
        sa.UniqueConstraint(
            "instance_uuid", name=op.f("uniq_instance_mappings0instance_uuid")
        ),
        sa.ForeignKeyConstraint(
            ["cell_id"],
            ["cell_mappings.id"],
            name=op.f("fk_instance_mappings_cell_id_cell_mappings"),
        ),
        sa.ForeignKeyConstraint(
            ["move_source_cell_id"],
            ["cell_mappings.id"],
            name=op.f(
                "fk_instance_mappings_move_source_cell_id_cell_mappings"
            ),
        ),
        sa.ForeignKeyConstraint(
            ["move_target_cell_id"],
            ["cell_mappings.id"],
            name=op.f(
                "fk_instance_mappings_move_target_cell_id_cell_mappings"
            ),
        ),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )
    op.create_index(
        op.f("ix_instance_mappings_cell_id"), "instance_mappings", ["cell_id"]
    )
    op.create_index(
        op.f("ix_instance_mappings_move_step"),
        "instance_mappings",
        ["move_step"],
    )
    op.create_index(
        op.f("ix_instance_mappings_project_id"),
        "instance_mappings",
        ["project_id"],
    )
