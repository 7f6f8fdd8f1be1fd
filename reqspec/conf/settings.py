"""Configuration resolved once: an immutable ``Settings`` that callers hold.

``reqspec.conf.CONF`` is where options are registered and parsed; it is
not what the code reads per call. ``Settings.from_conf(conf)`` reads every
option reqspec uses once, into frozen dataclasses, and a request context
carries the result (``ctx.settings``; see ``reqspec.context``). The db
layer turns ``ctx.settings.database`` into engines, the scheduler reads
its multipliers there, the conductor its attempts and heal delay.

Which settings a context holds:

* the ones it was given (``get_admin_context(settings=...)``), kept by
  its ``target_cell`` and ``elevated`` copies;
* else the process default, which the services and ``reqspec-manage``
  set with ``set_default`` right after parsing their configuration;
* else, for a library user who never set one, ``CONF`` as it stands when
  the context is made (defaults, or whatever ``CONF.set_override`` put
  there first).

Settings never travel over RPC: a service resolves its own.
"""

from collections.abc import Callable
import dataclasses
import functools
import os

from oslo_config import cfg

import reqspec.conf
from reqspec.conf import database as database_opts


@dataclasses.dataclass(frozen=True)
class EngineSettings:
    """How the engine (and pool) of one kind of database is built.

    Hashable: with the URL it keys the process's engines, so two
    settings that agree share a pool and two that differ never do.
    """

    #: oslo.db's ``[database]`` engine options, the same for every engine
    #: (every field is read from the options: their defaults live there).
    max_pool_size: int | None
    max_overflow: int | None
    pool_timeout: int | None
    connection_recycle_time: int
    connection_debug: int
    connection_trace: bool
    mysql_sql_mode: str | None
    sqlite_synchronous: bool
    connection_parameters: str
    #: Applied on Galera nodes only (see ``reqspec.db.engines``).
    mysql_wsrep_sync_wait: int
    #: reqspec's own, for cell databases only (None: not applied).
    idle_timeout: float | None
    connect_timeout: int | None
    read_timeout: int | None


@dataclasses.dataclass(frozen=True)
class DatabaseSettings:
    """``[api_database]`` and ``[database]``."""

    #: The API database's URL (``[api_database] connection``, or an
    #: SQLite file in ``state_path``).
    api_connection: str
    #: Whether ``api_connection`` is that default rather than configured.
    api_connection_is_default: bool
    #: ``[database] connection``: the cell ``cell create`` registers when
    #: given no ``--connection`` (never used to find a cell otherwise).
    default_cell_connection: str | None
    api_engine: EngineSettings
    cell_engine: EngineSettings
    #: Seconds a listing waits for a cell database.
    cell_timeout: float

    def engine_for(self, url: str) -> EngineSettings:
        """The engine settings of the database at ``url``: a cell's,
        unless it is the API database."""
        if url == self.api_connection:
            return self.api_engine
        return self.cell_engine


@dataclasses.dataclass(frozen=True)
class SchedulerSettings:
    """``[scheduler]``."""

    topic: str
    max_attempts: int
    default_availability_zone: str
    ram_weight_multiplier: float
    soft_affinity_weight_multiplier: float
    soft_anti_affinity_weight_multiplier: float


@dataclasses.dataclass(frozen=True)
class ConductorSettings:
    """``[conductor]``."""

    topic: str
    workers: int
    heal_interval: float
    heal_after: float
    graceful_shutdown_timeout: float


@dataclasses.dataclass(frozen=True)
class RequestSpecSettings:
    """``[request_spec]``."""

    max_document_bytes: int


@dataclasses.dataclass(frozen=True)
class UpgradeLevels:
    """``[upgrade_levels]``: None sends the newest version."""

    conductor: str | None
    scheduler: str | None


#: ``after_step(instance_uuid, step)``; see ``Settings.after_step``.
StepHook = Callable[[str, str], None]


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything reqspec reads from its configuration, read once."""

    state_path: str
    database: DatabaseSettings
    scheduler: SchedulerSettings
    conductor: ConductorSettings
    request_spec: RequestSpecSettings
    upgrade_levels: UpgradeLevels
    #: Crash points, for tests: called after each durable step of a move
    #: (``reqspec.lifecycle.transfer.STEPS``); one that raises, or kills
    #: the process, simulates a crash right there. Never set from a
    #: configuration file: None in every deployment.
    after_step: StepHook | None = dataclasses.field(
        default=None, compare=False
    )

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> "Settings":
        """Read ``conf`` (reqspec's options registered, see
        ``reqspec.conf.register_opts``) once."""
        return cls(
            state_path=conf.state_path,
            database=_database(conf),
            scheduler=SchedulerSettings(
                topic=conf.scheduler.topic,
                max_attempts=conf.scheduler.max_attempts,
                default_availability_zone=(
                    conf.scheduler.default_availability_zone
                ),
                ram_weight_multiplier=conf.scheduler.ram_weight_multiplier,
                soft_affinity_weight_multiplier=(
                    conf.scheduler.soft_affinity_weight_multiplier
                ),
                soft_anti_affinity_weight_multiplier=(
                    conf.scheduler.soft_anti_affinity_weight_multiplier
                ),
            ),
            conductor=ConductorSettings(
                topic=conf.conductor.topic,
                workers=conf.conductor.workers,
                heal_interval=conf.conductor.heal_interval,
                heal_after=conf.conductor.heal_after,
                graceful_shutdown_timeout=(
                    conf.conductor.graceful_shutdown_timeout
                ),
            ),
            request_spec=RequestSpecSettings(
                max_document_bytes=conf.request_spec.max_document_bytes
            ),
            upgrade_levels=UpgradeLevels(
                conductor=conf.upgrade_levels.conductor or None,
                scheduler=conf.upgrade_levels.scheduler or None,
            ),
        )

    def replace(self, **changes: object) -> "Settings":
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def with_api_connection(self, url: str) -> "Settings":
        """A copy whose API database is ``url``."""
        return self.replace(
            database=dataclasses.replace(
                self.database,
                api_connection=url,
                api_connection_is_default=False,
            )
        )


def _database(conf: cfg.ConfigOpts) -> DatabaseSettings:
    group = conf.database
    api_url: str | None = conf.api_database.connection
    default_api = not api_url
    if not api_url:
        api_url = sqlite_url(os.path.join(conf.state_path, "api.sqlite"))
    cell_sync_wait = group.mysql_wsrep_sync_wait
    if cell_sync_wait is None:
        cell_sync_wait = database_opts.DEFAULT_WSREP_SYNC_WAIT
    shared = EngineSettings(
        max_pool_size=group.max_pool_size,
        max_overflow=group.max_overflow,
        pool_timeout=group.pool_timeout,
        connection_recycle_time=group.connection_recycle_time,
        connection_debug=group.connection_debug,
        connection_trace=group.connection_trace,
        mysql_sql_mode=group.mysql_sql_mode,
        sqlite_synchronous=group.sqlite_synchronous,
        connection_parameters=group.connection_parameters,
        mysql_wsrep_sync_wait=cell_sync_wait,
        idle_timeout=None,
        connect_timeout=None,
        read_timeout=None,
    )
    api_sync_wait = conf.api_database.mysql_wsrep_sync_wait
    return DatabaseSettings(
        api_connection=api_url,
        api_connection_is_default=default_api,
        default_cell_connection=group.connection or None,
        api_engine=dataclasses.replace(
            shared,
            mysql_wsrep_sync_wait=(
                cell_sync_wait if api_sync_wait is None else api_sync_wait
            ),
        ),
        cell_engine=dataclasses.replace(
            shared,
            max_pool_size=group.cell_pool_size,
            max_overflow=group.cell_max_overflow,
            idle_timeout=group.cell_pool_idle_timeout or None,
            connect_timeout=group.cell_connect_timeout,
            read_timeout=group.cell_read_timeout,
        ),
        cell_timeout=float(group.cell_timeout),
    )


def sqlite_url(path: str) -> str:
    """The SQLAlchemy URL of the SQLite file at ``path``."""
    return "sqlite:///" + os.path.abspath(path)


def new_conf() -> cfg.ConfigOpts:
    """A configuration of its own with reqspec's options registered and
    no files read: set options with ``set_override`` and pass it to
    ``Settings.from_conf`` (tests, and libraries that keep ``CONF`` for
    their own use)."""
    conf = cfg.ConfigOpts()
    reqspec.conf.register_opts(conf)
    conf([], project="reqspec", default_config_files=[])
    return conf


@functools.cache
def defaults() -> Settings:
    """The settings of a configuration that sets nothing."""
    return Settings.from_conf(new_conf())


_default: Settings | None = None


def set_default(settings: Settings | None) -> None:
    """Make ``settings`` what a context built without any holds (None:
    resolve ``CONF`` for each such context)."""
    global _default
    _default = settings


def pinned_default() -> Settings | None:
    """What ``set_default`` last set (None: nothing)."""
    return _default


def get_default() -> Settings:
    """What a context built without settings holds (see the module
    docstring)."""
    if _default is not None:
        return _default
    return Settings.from_conf(reqspec.conf.CONF)
