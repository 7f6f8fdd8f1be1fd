"""The ``[api_database]`` and ``[database]`` option groups.

``[database]`` is oslo.db's own group (pool sizes, retries, SQLite
durability...); its settings tune every engine reqspec creates, and its
``connection`` is the default cell database that ``reqspec-manage cell
create`` uses when no ``--connection`` is given, as nova-manage does.
``[api_database] connection`` is the API database. Cell databases are
otherwise found through the cell mappings in the API database, never
through configuration.
"""

from collections.abc import Sequence

from oslo_config import cfg
from oslo_db import options as oslo_db_options

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
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(api_db_group)
    conf.register_opts(api_db_opts, group=api_db_group)
    # oslo.db registers the same list itself when an engine starts; doing
    # it here first makes the options visible to --help and the docs.
    conf.register_opts(oslo_db_options.database_opts, group="database")


def list_opts() -> list[tuple[str | None, Sequence[cfg.Opt]]]:
    return [
        (api_db_group.name, api_db_opts),
        ("database", oslo_db_options.database_opts),
    ]
