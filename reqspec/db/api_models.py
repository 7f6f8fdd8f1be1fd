"""Tables of the API database."""

import sqlalchemy as sa
from sqlalchemy import orm

from reqspec.db import base


class APIBase(orm.DeclarativeBase):
    metadata = sa.MetaData(naming_convention=base.NAMING_CONVENTION)


class RequestSpec(base.RequestSpecMixin, APIBase):
    """Specs of servers that are not scheduled to a cell yet."""


class CellMapping(base.TimestampMixin, APIBase):
    """A cell: its name and where its database is."""

    __tablename__ = "cell_mappings"
    __table_args__ = base.MYSQL_TABLE_ARGS

    id: orm.Mapped[int] = orm.mapped_column(sa.Integer, primary_key=True)
    uuid: orm.Mapped[str] = orm.mapped_column(
        base.Identifier(36), nullable=False, unique=True
    )
    name: orm.Mapped[str] = orm.mapped_column(
        base.Identifier(255), nullable=False, unique=True
    )
    database_connection: orm.Mapped[str] = orm.mapped_column(
        sa.Text, nullable=False
    )


class InstanceMapping(base.TimestampMixin, APIBase):
    """Which database holds a server's spec, and any move in progress.

    ``cell_id`` is NULL while the server is unscheduled (its spec is in
    this API database) and names the cell once it is scheduled. The
    ``move_*`` columns record a spec being carried from one database to
    another (``reqspec.lifecycle.transfer``): ``move_step`` is the last
    step that completed, NULL when no move is in progress; the source is
    NULL for the API database.
    """

    __tablename__ = "instance_mappings"
    __table_args__ = base.MYSQL_TABLE_ARGS

    id: orm.Mapped[int] = orm.mapped_column(sa.Integer, primary_key=True)
    instance_uuid: orm.Mapped[str] = orm.mapped_column(
        base.Identifier(36), nullable=False, unique=True
    )
    project_id: orm.Mapped[str | None] = orm.mapped_column(
        base.Identifier(255), nullable=True, index=True
    )
    cell_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("cell_mappings.id"), nullable=True, index=True
    )
    move_step: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(16), nullable=True, index=True
    )
    move_source_cell_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("cell_mappings.id"), nullable=True
    )
    move_target_cell_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("cell_mappings.id"), nullable=True
    )
    move_host: orm.Mapped[str | None] = orm.mapped_column(
        base.Identifier(255), nullable=True
    )
    move_node: orm.Mapped[str | None] = orm.mapped_column(
        base.Identifier(255), nullable=True
    )
    fault: orm.Mapped[str | None] = orm.mapped_column(sa.Text, nullable=True)
