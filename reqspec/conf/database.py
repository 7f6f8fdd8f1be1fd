"""The ``[api_database]`` and ``[database]`` option groups.

``[database]`` is oslo.db's own group (pool sizes, retries, SQLite
durability...); its settings tune every engine reqspec creates, and its
``connection`` is the default cell database that ``reqspec-manage cell
create`` uses when no ``--connection`` is given, as nova-manage does.
``[api_database] connection`` is the API database. Cell databases are
otherwise found through the cell mappings in the API database, never
through configuration.

The ``cell_*`` options of ``[database]`` are reqspec's own: every database
other than the API database (each cell's) gets a small pool of its own
whose idle connections are closed, so a process that reaches many cells
holds connections only to those it is using.

On a Galera cluster, ``mysql_wsrep_sync_wait`` (oslo.db's option, in
``[database]`` for the cell databases and repeated in ``[api_database]``)
makes each connection wait for the writes the cluster has already
committed before it reads, so a spec saved through one node is seen
through any other in the next request. When it is unset reqspec uses 3
(reads, updates and deletes), where oslo.db would set nothing; it is
applied only to servers that run Galera.
"""

from collections.abc import Sequence

from oslo_config import cfg
from oslo_db import options as oslo_db_options

from reqspec.conf import groups

api_db_group = cfg.OptGroup(
    "api_database",
    title="API database options",
    help="The database that holds cell mappings and unscheduled specs.",
)

api_db_opts = [
    cfg.StrOpt(
        "connection",
        secret=True,
        help=(
            "SQLAlchemy URL of the API database. When empty, an SQLite "
            "file named api.sqlite in [DEFAULT] state_path is used."
        ),
    ),
    cfg.IntOpt(
        "mysql_wsrep_sync_wait",
        min=0,
        max=15,
        help=(
            "wsrep_sync_wait for API database connections, applied only "
            "when the server is a Galera node: 1 makes reads wait for "
            "every write the cluster committed before them (causal "
            "reads), 3 also UPDATE and DELETE, 0 turns it off. When "
            "unset, [database] mysql_wsrep_sync_wait is used, and when "
            "that is unset too, 3."
        ),
    ),
]

#: What reqspec applies when ``mysql_wsrep_sync_wait`` is unset in both
#: groups: 1 (reads) + 2 (UPDATE and DELETE). Reads see every earlier
#: write, which read-your-writes needs; and an UPDATE re-run after losing
#: certification sees the change it lost to (its generation check then
#: fails cleanly) instead of racing the node's applier and losing again.
#: (oslo.db owns the ``[database]`` option and its default, None, which
#: cannot be changed here without oslo.db refusing to register it again.)
DEFAULT_WSREP_SYNC_WAIT = 3


cell_opts = [
    cfg.IntOpt(
        "cell_pool_size",
        default=5,
        min=1,
        help="Connections kept open per cell database and process.",
    ),
    cfg.IntOpt(
        "cell_max_overflow",
        default=5,
        min=0,
        help=(
            "Connections a cell database's pool may open beyond "
            "cell_pool_size under load; closed again when returned."
        ),
    ),
    cfg.FloatOpt(
        "cell_pool_idle_timeout",
        default=60.0,
        min=0,
        help=(
            "Seconds a pooled cell database connection may sit unused "
            "before it is closed (0: never)."
        ),
    ),
    cfg.IntOpt(
        "cell_connect_timeout",
        default=10,
        min=1,
        help=(
            "Seconds to wait for a PostgreSQL or MySQL cell database to "
            "accept a connection and answer its handshake."
        ),
    ),
    cfg.IntOpt(
        "cell_read_timeout",
        default=60,
        min=1,
        help=(
            "Seconds a MySQL cell database may take to answer (PyMySQL's "
            "read_timeout, which also bounds its handshake; keep it above "
            "innodb_lock_wait_timeout). PostgreSQL has no client-side "
            "equivalent: there, a worker stuck on a silent server is "
            "abandoned (see list_servers)."
        ),
    ),
    cfg.FloatOpt(
        "cell_timeout",
        default=10.0,
        min=0,
        help=(
            "Seconds list_servers and show_server wait for a cell "
            "database; the servers of a cell that has not answered by "
            "then are shown from the API database with status UNKNOWN."
        ),
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    groups.register(conf, api_db_group, api_db_opts)
    conf.register_opts(cell_opts, group="database")
    # oslo.db registers the same list itself when an engine starts; doing
    # it here first makes the options visible to --help and the docs.
    conf.register_opts(oslo_db_options.database_opts, group="database")


def list_opts() -> list[tuple[str | None, Sequence[cfg.Opt]]]:
    return [
        (api_db_group.name, api_db_opts),
        ("database", [*oslo_db_options.database_opts, *cell_opts]),
    ]
