"""Declarative bases and the columns both databases share.

Each database has its own ``MetaData`` (the API and cell schemas are
migrated by separate alembic trees), both with the same naming convention
so that constraint and index names come out identical on every backend
and in every migration.
"""

import datetime
from typing import Any
from typing import cast

from oslo_utils import timeutils
import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects import mysql

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uniq_%(table_name)s0%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


class _SQLiteDocument(sa.Text):
    """TEXT whose value SQLite hands over as bytes, decoded here.

    SQLite stores whatever bytes it is given in a TEXT column, and pysqlite
    decodes every TEXT value while fetching: one row holding invalid UTF-8
    made the whole fetch fail, taking every other row of a get-many or an
    iteration down with it, with no word of which row it was. Read as a
    BLOB, a valid document comes back as the same ``str``; an invalid one
    comes back as the undecoded ``bytes``, which the objects layer refuses
    as ``InvalidRequestSpec`` naming that row alone. (PostgreSQL and MySQL
    refuse to store invalid UTF-8 in the first place.)
    """

    def column_expression(self, colexpr: Any) -> Any:
        return sa.cast(colexpr, _BlobOfText())


class _BlobOfText(sa.LargeBinary):
    """What the cast above reads: the stored bytes, decoded if they can be."""

    def result_processor(self, dialect: sa.Dialect, coltype: Any) -> Any:
        return _decode_document


def _decode_document(value: bytes | None) -> str | bytes | None:
    if value is None:
        return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value


# A document may be several megabytes. TEXT is unbounded on PostgreSQL and
# SQLite but only 64 KiB on MySQL/MariaDB, where MEDIUMTEXT (16 MiB) is
# needed.
LargeText = (
    sa.Text()
    .with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
    .with_variant(_SQLiteDocument(), "sqlite")
)


#: Byte-for-byte collations of MySQL/MariaDB, by server. Both are binary
#: *and* NO PAD: ``utf8mb4_bin`` alone still ignores trailing spaces.
BINARY_COLLATIONS = {
    "mariadb": "utf8mb4_nopad_bin",
    "mysql": "utf8mb4_0900_bin",
}


def binary_collation(dialect: sa.Dialect) -> str:
    """The byte-for-byte collation of a (connected) MySQL/MariaDB dialect."""
    server = "mariadb" if getattr(dialect, "is_mariadb", False) else "mysql"
    return BINARY_COLLATIONS[server]


#: Rows read per short read transaction when walking a whole table by
#: keyset pagination: memory stays flat and no transaction stays open
#: while the caller works on a batch.
READ_BATCH_SIZE = 500
#: Rows written per transaction by bulk writers: enough to amortise the
#: commit, few enough that locks are held briefly and a failure redoes
#: little.
WRITE_BATCH_SIZE = 500

#: Width of ``request_specs.spec_version`` ("MAJOR.MINOR").
SPEC_VERSION_LENGTH = 16

#: Width of every ``project_id`` column (Nova's), which the objects check
#: before writing so an over-long id is refused rather than truncated.
PROJECT_ID_LENGTH = 255


class Identifier(sa.types.TypeDecorator[str]):
    """A column that lookups and project scoping compare: uuids, project
    and user ids, cell names, hosts and nodes.

    Such a value must equal only itself, byte for byte, on every backend.
    PostgreSQL (deterministic collation) and SQLite (BINARY) do that
    already; MySQL/MariaDB compare under the server's default collation,
    where ``PROJ-B``, ``prój-b`` and ``proj-b `` all equal ``proj-b``: one
    project would reach another's rows. There the column gets a binary,
    NO PAD collation (chosen per server: the two name it differently).
    """

    impl = sa.String
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> Any:
        if dialect.name == "mysql":
            length = cast(sa.String, self.impl_instance).length
            return dialect.type_descriptor(
                mysql.VARCHAR(
                    length,
                    charset="utf8mb4",
                    collation=binary_collation(dialect),
                )
            )
        return dialect.type_descriptor(self.impl_instance)


#: Table options for MySQL/MariaDB (ignored elsewhere).
MYSQL_TABLE_ARGS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def utcnow() -> datetime.datetime:
    """Naive UTC, as oslo.db and Nova store timestamps."""
    return timeutils.utcnow()


class TimestampMixin:
    created_at: orm.Mapped[datetime.datetime | None] = orm.mapped_column(
        sa.DateTime, default=utcnow
    )
    updated_at: orm.Mapped[datetime.datetime | None] = orm.mapped_column(
        sa.DateTime, onupdate=utcnow
    )


class RequestSpecMixin(TimestampMixin):
    """The ``request_specs`` table, identical in the API and cell databases.

    ``spec`` holds the stored document; ``instance_uuid``,
    ``project_id`` and ``instance_group_uuid`` are copied out of it into
    indexed columns because lookups, project isolation and "every spec of
    this server group" filter on them; ``generation`` is the
    optimistic-concurrency counter that ``save()`` checks and bumps.

    ``spec_version`` is the version the document was written at, stated by
    the writer (this layer never reads documents): the online data
    migrations find rows written at another version than the current one
    by it. It came after rows existed: rows written before it hold NULL
    until ``reqspec-manage db online_data_migrations`` fills it in (and
    ``instance_group_uuid``, which came after rows existed too).
    """

    __tablename__ = "request_specs"
    __table_args__ = MYSQL_TABLE_ARGS

    id: orm.Mapped[int] = orm.mapped_column(sa.Integer, primary_key=True)
    instance_uuid: orm.Mapped[str] = orm.mapped_column(
        Identifier(36), nullable=False, unique=True
    )
    project_id: orm.Mapped[str | None] = orm.mapped_column(
        Identifier(255), nullable=True, index=True
    )
    instance_group_uuid: orm.Mapped[str | None] = orm.mapped_column(
        Identifier(36), nullable=True, index=True
    )
    generation: orm.Mapped[int] = orm.mapped_column(sa.Integer, nullable=False)
    spec: orm.Mapped[str] = orm.mapped_column(LargeText, nullable=False)
    spec_version: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(SPEC_VERSION_LENGTH), nullable=True, index=True
    )
