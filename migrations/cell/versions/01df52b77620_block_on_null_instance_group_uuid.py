"""Refuse to go on while a spec with a server group lacks its uuid column.

The data half of ef39a8cd269c: later code may rely on
``instance_group_uuid`` being filled in for every spec whose document has
a server group. Nothing is changed here; the upgrade stops with the command
that fixes the data. Self-contained on purpose: a revision must keep
meaning what it meant when it was written, whatever the code around it
becomes.

Revision ID: 01df52b77620
Revises: ef39a8cd269c
Create Date: 2026-11-25
"""

from alembic import context
from alembic import op
import sqlalchemy as sa

from reqspec import exception

revision = "01df52b77620"
down_revision = "ef39a8cd269c"
branch_labels = None
depends_on = None

# A stored document is compact JSON: this appears exactly when the spec has
# a (non-null) server group; inside a JSON string the quotes would be
# escaped.
_HAS_GROUP = '"instance_group":{'


def upgrade() -> None:
    specs = sa.table(
        "request_specs",
        sa.column("spec", sa.Text),
        sa.column("instance_group_uuid", sa.String),
    )
    count = op.get_bind().scalar(
        sa.select(sa.func.count())
        .select_from(specs)
        .where(specs.c.instance_group_uuid.is_(None))
        .where(specs.c.spec.contains(_HAS_GROUP, autoescape=True))
    )
    if count:
        raise exception.DataMigrationRequired(
            database=context.config.attributes.get("label", "the database"),
            count=count,
            what="request specs with a server group have no "
            "instance_group_uuid yet",
        )
