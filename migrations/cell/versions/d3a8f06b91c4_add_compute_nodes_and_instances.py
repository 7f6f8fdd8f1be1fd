"""Add compute_nodes and instances: the hosts and servers of a cell.

Revision ID: d3a8f06b91c4
Revises: c7d2e81b5f30
Create Date: 2026-11-26
"""

from alembic import op
import sqlalchemy as sa

revision = "d3a8f06b91c4"
down_revision = "c7d2e81b5f30"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compute_nodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("node", sa.String(255), nullable=False),
        sa.Column("availability_zone", sa.String(255), nullable=True),
        sa.Column("vcpus", sa.Integer(), nullable=False),
        sa.Column("memory_mb", sa.Integer(), nullable=False),
        sa.Column("local_gb", sa.Integer(), nullable=False),
        sa.Column("cpu_allocation_ratio", sa.Float(), nullable=False),
        sa.Column("ram_allocation_ratio", sa.Float(), nullable=False),
        sa.Column("disk_allocation_ratio", sa.Float(), nullable=False),
        sa.Column("architecture", sa.String(32), nullable=True),
        sa.Column("hypervisor_type", sa.String(32), nullable=True),
        sa.Column("aggregates", sa.Text(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("forced_down", sa.Boolean(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compute_nodes")),
        sa.UniqueConstraint("uuid", name=op.f("uniq_compute_nodes0uuid")),
        sa.UniqueConstraint(
            "host", "node", name=op.f("uniq_compute_nodes0host_node")
        ),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )
    op.create_table(
        "instances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("project_id", sa.String(255), nullable=True),
        sa.Column("user_id", sa.String(255), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("node", sa.String(255), nullable=True),
        sa.Column("vcpus", sa.Integer(), nullable=False),
        sa.Column("memory_mb", sa.Integer(), nullable=False),
        sa.Column("disk_gb", sa.Integer(), nullable=False),
        sa.Column("group_uuid", sa.String(36), nullable=True),
        sa.Column("old_host", sa.String(255), nullable=True),
        sa.Column("old_node", sa.String(255), nullable=True),
        sa.Column("old_vcpus", sa.Integer(), nullable=True),
        sa.Column("old_memory_mb", sa.Integer(), nullable=True),
        sa.Column("old_disk_gb", sa.Integer(), nullable=True),
        sa.Column("old_flavor", sa.Text(), nullable=True),
        sa.Column("new_flavor", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instances")),
        sa.UniqueConstraint("uuid", name=op.f("uniq_instances0uuid")),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )
    op.create_index(
        op.f("ix_instances_group_uuid"), "instances", ["group_uuid"]
    )
    op.create_index(op.f("ix_instances_host"), "instances", ["host"])
    op.create_index(op.f("ix_instances_old_host"), "instances", ["old_host"])
    op.create_index(
        op.f("ix_instances_project_id"), "instances", ["project_id"]
    )
