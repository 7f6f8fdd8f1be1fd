"""Compare identifiers byte for byte on MySQL/MariaDB.

Uuids, project ids, cell names and hosts were compared under the server's
default collation (``utf8mb4_general_ci``: case-, accent- and
trailing-space-insensitive), so ``PROJ-B``, ``prój-b`` and ``proj-b ``
all matched ``proj-b`` and one project reached another's specs. Each such
column gets a binary NO PAD collation, as PostgreSQL and SQLite compare
already; elsewhere nothing changes. Moving to a stricter comparison cannot
make two rows collide, so unique keys survive it. Self-contained on
purpose: a revision must keep meaning what it meant when it was written.

Revision ID: 5b2e9c4d7a10
Revises: e677c5eb119f
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

revision = "5b2e9c4d7a10"
down_revision = "e677c5eb119f"
branch_labels = None
depends_on = None

# (table, column, length, nullable)
COLUMNS = (
    ("request_specs", "instance_uuid", 36, False),
    ("request_specs", "project_id", 255, True),
    ("request_specs", "instance_group_uuid", 36, True),
    ("cell_mappings", "uuid", 36, False),
    ("cell_mappings", "name", 255, False),
    ("instance_mappings", "instance_uuid", 36, False),
    ("instance_mappings", "project_id", 255, True),
    ("instance_mappings", "move_host", 255, True),
    ("instance_mappings", "move_node", 255, True),
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "mysql":
        return
    # MariaDB and MySQL 8 name their binary NO PAD collations differently.
    is_mariadb = getattr(bind.dialect, "is_mariadb", False)
    collation = "utf8mb4_nopad_bin" if is_mariadb else "utf8mb4_0900_bin"
    for table, column, length, nullable in COLUMNS:
        op.alter_column(
            table,
            column,
            existing_type=sa.String(length),
            type_=mysql.VARCHAR(
                length, charset="utf8mb4", collation=collation
            ),
            existing_nullable=nullable,
        )
