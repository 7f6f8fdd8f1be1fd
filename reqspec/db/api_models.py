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
        sa.String(36), nullable=False, unique=True
    )
    name: orm.Mapped[str] = orm.mapped_column(
        sa.String(255), nullable=False, unique=True
    )
    database_connection: orm.Mapped[str] = orm.mapped_column(
        sa.Text, nullable=False
    )
