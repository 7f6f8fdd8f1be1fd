"""Tables of a cell database."""

import sqlalchemy as sa
from sqlalchemy import orm

from reqspec.db import base


class CellBase(orm.DeclarativeBase):
    metadata = sa.MetaData(naming_convention=base.NAMING_CONVENTION)


class RequestSpec(base.RequestSpecMixin, CellBase):
    """Specs of the servers that live in this cell."""


class ComputeNode(base.TimestampMixin, CellBase):
    """A hypervisor the scheduler can place servers on.

    Capacity is stored; usage is not: it is the sum of the sizes of the
    servers in ``instances`` on this node, so it can never drift from
    them. ``generation`` is bumped by every claim, which makes the claim's
    first statement a write that serialises claims on one node on every
    backend. ``aggregates`` is a JSON list of aggregate names.
    """

    __tablename__ = "compute_nodes"
    __table_args__ = (
        sa.UniqueConstraint("host", "node"),
        base.MYSQL_TABLE_ARGS,
    )

    id: orm.Mapped[int] = orm.mapped_column(sa.Integer, primary_key=True)
    uuid: orm.Mapped[str] = orm.mapped_column(
        base.Identifier(36), nullable=False, unique=True
    )
    host: orm.Mapped[str] = orm.mapped_column(
        base.Identifier(255), nullable=False
    )
    node: orm.Mapped[str] = orm.mapped_column(
        base.Identifier(255), nullable=False
    )
    availability_zone: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(255), nullable=True
    )
    vcpus: orm.Mapped[int] = orm.mapped_column(sa.Integer, nullable=False)
    memory_mb: orm.Mapped[int] = orm.mapped_column(sa.Integer, nullable=False)
    local_gb: orm.Mapped[int] = orm.mapped_column(sa.Integer, nullable=False)
    cpu_allocation_ratio: orm.Mapped[float] = orm.mapped_column(
        sa.Float, nullable=False
    )
    ram_allocation_ratio: orm.Mapped[float] = orm.mapped_column(
        sa.Float, nullable=False
    )
    disk_allocation_ratio: orm.Mapped[float] = orm.mapped_column(
        sa.Float, nullable=False
    )
    architecture: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(32), nullable=True
    )
    hypervisor_type: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(32), nullable=True
    )
    aggregates: orm.Mapped[str | None] = orm.mapped_column(
        sa.Text, nullable=True
    )
    disabled: orm.Mapped[bool] = orm.mapped_column(sa.Boolean, nullable=False)
    forced_down: orm.Mapped[bool] = orm.mapped_column(
        sa.Boolean, nullable=False
    )
    generation: orm.Mapped[int] = orm.mapped_column(sa.Integer, nullable=False)


class Instance(base.TimestampMixin, CellBase):
    """A server placed in this cell: where it runs and what it holds.

    ``vcpus``/``memory_mb``/``disk_gb`` are what it holds on ``host``/
    ``node`` (NULL host: shelved offloaded, holding nothing). While a
    resize waits for confirmation the ``old_*`` columns keep the source's
    claim and ``old_flavor``/``new_flavor`` keep both flavors, so confirm
    and revert can be repeated after a crash.
    """

    __tablename__ = "instances"
    __table_args__ = base.MYSQL_TABLE_ARGS

    id: orm.Mapped[int] = orm.mapped_column(sa.Integer, primary_key=True)
    uuid: orm.Mapped[str] = orm.mapped_column(
        base.Identifier(36), nullable=False, unique=True
    )
    project_id: orm.Mapped[str | None] = orm.mapped_column(
        base.Identifier(255), nullable=True, index=True
    )
    user_id: orm.Mapped[str | None] = orm.mapped_column(
        base.Identifier(255), nullable=True
    )
    status: orm.Mapped[str] = orm.mapped_column(sa.String(32), nullable=False)
    host: orm.Mapped[str | None] = orm.mapped_column(
        base.Identifier(255), nullable=True, index=True
    )
    node: orm.Mapped[str | None] = orm.mapped_column(
        base.Identifier(255), nullable=True
    )
    vcpus: orm.Mapped[int] = orm.mapped_column(sa.Integer, nullable=False)
    memory_mb: orm.Mapped[int] = orm.mapped_column(sa.Integer, nullable=False)
    disk_gb: orm.Mapped[int] = orm.mapped_column(sa.Integer, nullable=False)
    group_uuid: orm.Mapped[str | None] = orm.mapped_column(
        base.Identifier(36), nullable=True, index=True
    )
    old_host: orm.Mapped[str | None] = orm.mapped_column(
        base.Identifier(255), nullable=True, index=True
    )
    old_node: orm.Mapped[str | None] = orm.mapped_column(
        base.Identifier(255), nullable=True
    )
    old_vcpus: orm.Mapped[int | None] = orm.mapped_column(
        sa.Integer, nullable=True
    )
    old_memory_mb: orm.Mapped[int | None] = orm.mapped_column(
        sa.Integer, nullable=True
    )
    old_disk_gb: orm.Mapped[int | None] = orm.mapped_column(
        sa.Integer, nullable=True
    )
    old_flavor: orm.Mapped[str | None] = orm.mapped_column(
        sa.Text, nullable=True
    )
    new_flavor: orm.Mapped[str | None] = orm.mapped_column(
        sa.Text, nullable=True
    )
