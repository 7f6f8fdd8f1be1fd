"""Tables of a cell database."""

import sqlalchemy as sa
from sqlalchemy import orm

from reqspec.db import base


class CellBase(orm.DeclarativeBase):
    metadata = sa.MetaData(naming_convention=base.NAMING_CONVENTION)


class RequestSpec(base.RequestSpecMixin, CellBase):
    """Specs of the servers that live in this cell."""
