"""Schema migrations: one alembic tree per kind of database.

The API database and every cell database are upgraded independently, each
by its own tree (``migrations/api``, ``migrations/cell``, installed as
``reqspec.migrations``) with its own version table. ``db_sync`` hands the
connection to the tree's ``env.py`` through ``config.attributes``, so the
CLI, the tests and plain ``alembic`` all run the same code, and in-memory
SQLite works.

Each revision runs in a transaction of its own (``transaction_per_migration``):
a revision that refuses to run (one that waits for an online data
migration) leaves the database at the revision before it, with the schema
the online data migration needs, instead of rolling the whole upgrade back.
"""

from collections.abc import Iterator
import contextlib
import dataclasses
from importlib import resources
import logging
import logging.config
from typing import Any

from alembic import command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from alembic import script as alembic_script
from alembic import util as alembic_util
from oslo_db import exception as db_exc
import sqlalchemy as sa

from reqspec import exception
from reqspec.conf import settings as conf_settings
from reqspec.db import engines
from reqspec.db import sqlite_files
from reqspec.db import urls

LOG = logging.getLogger(__name__)

DATABASES = ("api", "cell")

VERSION_TABLES = {
    "api": "reqspec_api_alembic_version",
    "cell": "reqspec_cell_alembic_version",
}


def _check_database(database: str) -> None:
    if database not in DATABASES:
        raise ValueError(f"unknown database kind {database!r}")


def alembic_ini(database: str) -> str:
    """Path of the tree's alembic.ini, wherever reqspec is installed."""
    _check_database(database)
    ref = resources.files("reqspec.migrations") / database / "alembic.ini"
    return str(ref)


def _config(
    database: str, connection: Any = None, label: str | None = None
) -> alembic_config.Config:
    config = alembic_config.Config(alembic_ini(database))
    # reqspec configures its own logging; don't let alembic's ini take
    # over the root logger when run from code.
    config.attributes["configure_logger"] = False
    if connection is not None:
        config.attributes["connection"] = connection
    if label is not None:
        # For messages of revisions that refuse to run.
        config.attributes["label"] = label
    return config


def script_directory(database: str) -> alembic_script.ScriptDirectory:
    return alembic_script.ScriptDirectory.from_config(_config(database))


def head(database: str) -> str:
    """The newest revision of the tree (exactly one head is enforced)."""
    heads = script_directory(database).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the {database} tree has heads {heads}")
    return heads[0]


@contextlib.contextmanager
def _connect(
    database: str, url: str, label: str, create: bool = False
) -> Iterator[sa.Connection]:
    """A connection to ``url``; only ``create`` may make a new SQLite file
    (a server database is never created: ``DatabaseNotFound``)."""
    if create:
        urls.check(url, label)
    else:
        urls.check_exists(url, label)
    engine = None
    path = None if create else sqlite_files.missing_sqlite_file(url)
    if path is not None:
        raise exception.DatabaseMissing(database=label, path=path)
    try:
        engine = engines.create_engine(url, create=create)
        # Not engine.begin(): alembic opens one transaction per revision.
        with engine.connect() as connection:
            yield connection
    except (db_exc.DBError, sa.exc.DBAPIError) as err:
        if urls.is_missing_database(err):
            raise exception.DatabaseNotFound(
                database=label, url=urls.mask(url)
            ) from None
        if not isinstance(
            err, (db_exc.DBConnectionError, sa.exc.OperationalError)
        ):
            raise
        raise exception.DatabaseUnavailable(
            database=label, reason=urls.first_line(err)
        ) from None
    finally:
        if engine is not None:
            engine.dispose()


@dataclasses.dataclass(frozen=True)
class Status:
    """Where a database stands against the code."""

    database: str
    label: str
    current: str | None
    head: str

    @property
    def state(self) -> str:
        if self.current == self.head:
            return "up to date"
        if self.current is None:
            return "empty"
        if self.current not in _known_revisions(self.database):
            return "ahead of the code"
        return "behind"


def _known_revisions(database: str) -> set[str]:
    return {
        rev.revision for rev in script_directory(database).walk_revisions()
    }


def _current(database: str, connection: sa.Connection) -> str | None:
    context = alembic_migration.MigrationContext.configure(
        connection, opts={"version_table": VERSION_TABLES[database]}
    )
    revision: str | None = context.get_current_revision()
    return revision


def db_version(database: str, url: str, label: str | None = None) -> Status:
    """Read the revision a database is at, without changing it."""
    _check_database(database)
    label = label or f"the {database} database"
    with _connect(database, url, label) as connection:
        current = _current(database, connection)
    return Status(database, label, current, head(database))


def db_sync(
    database: str,
    url: str,
    revision: str = "head",
    label: str | None = None,
) -> Status:
    """Upgrade a database to ``revision`` (default: the newest).

    Refuses a database whose revision this code does not know (upgraded by
    a newer release) with ``DatabaseAheadOfCode``.
    """
    _check_database(database)
    label = label or f"the {database} database"
    with _connect(database, url, label, create=True) as connection:
        current = _current(database, connection)
        # End the read so that alembic starts a transaction per revision.
        connection.commit()
        if current is not None and current not in _known_revisions(database):
            raise exception.DatabaseAheadOfCode(
                database=label, current=current
            )
        command.upgrade(_config(database, connection, label), revision)
        current = _current(database, connection)
    return Status(database, label, current, head(database))


def compare_type(
    context: Any,
    inspected_column: Any,
    metadata_column: Any,
    inspected_type: Any,
    metadata_type: Any,
) -> bool | None:
    """alembic's ``compare_type`` hook: also compare MySQL collations.

    alembic compares a column's type but not its collation, so a MySQL
    identifier column left case-insensitive would look up to date (see
    ``reqspec.db.base.Identifier``). True: they differ; None: let alembic
    compare the rest as usual.
    """
    dialect = context.dialect
    if dialect.name != "mysql":
        return None
    impl = metadata_type.dialect_impl(dialect)
    impl = getattr(impl, "impl_instance", impl)
    wanted = getattr(impl, "collation", None)
    if wanted is not None and getattr(inspected_type, "collation", None) != (
        wanted
    ):
        return True
    return None


def run_environment(
    context: Any, database: str, metadata: sa.MetaData
) -> None:
    """The body of both trees' env.py; only the metadata differs."""
    config = context.config
    # Plain alembic: its ini's logging section, so that every applied
    # revision is printed ("Running upgrade a -> b").
    if config.attributes.get("configure_logger", True) and (
        config.config_file_name
    ):
        logging.config.fileConfig(
            config.config_file_name, disable_existing_loggers=False
        )
    options: dict[str, Any] = {
        "target_metadata": metadata,
        "version_table": VERSION_TABLES[database],
        "render_as_batch": True,
        "compare_type": compare_type,
        "transaction_per_migration": True,
    }
    if context.is_offline_mode():
        context.configure(url=_plain_alembic_url(context, database), **options)
        _refuse_downgrade(context)
        with context.begin_transaction():
            context.run_migrations()
        return

    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, **options)
        _refuse_downgrade(context)
        with context.begin_transaction():
            context.run_migrations()
        return

    # Plain `alembic -c .../alembic.ini upgrade head`.
    engine = engines.create_engine(
        _plain_alembic_url(context, database), create=True
    )
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, **options)
            _refuse_downgrade(context)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


def _refuse_downgrade(context: Any) -> None:
    """Downgrades are not supported: revisions have no downgrade step.

    Going back means restoring a backup taken before ``db sync``; a
    schema downgrade would also have to undo online data migrations and
    would lose what newer code wrote. ``alembic downgrade`` would otherwise
    fail with an AttributeError half-way.
    """
    # The function alembic's command passes to run the steps: its
    # "downgrade" command names it so.
    step = context.get_context().opts.get("fn")
    if getattr(step, "__name__", None) == "downgrade":
        raise alembic_util.CommandError(
            "reqspec does not support schema downgrades: restore the "
            "backup taken before 'reqspec-manage db sync' instead"
        )


def _plain_alembic_url(context: Any, database: str) -> str:
    url: str | None = context.get_x_argument(as_dictionary=True).get("url")
    url = url or context.config.get_main_option("sqlalchemy.url")
    if url:
        return url
    if database == "api":
        # Plain alembic reads no reqspec configuration file: CONF's
        # defaults, or the process's settings if something set them.
        return conf_settings.get_default().database.api_connection
    raise SystemExit(
        "a cell database has no default URL: pass -x url=<SQLAlchemy URL>"
    )
