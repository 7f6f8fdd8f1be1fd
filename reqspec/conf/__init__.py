"""Configuration: one ``CONF`` object, options registered per group.

Importing this package registers every option on ``CONF``; nothing is read
until a command or test calls ``CONF(...)``. Callers that manage their own
``ConfigOpts`` can call :func:`register_opts` on it. The code does not
read options per call: ``reqspec.conf.settings.Settings.from_conf`` reads
them once, and request contexts carry the result.
"""

from collections.abc import Sequence

from oslo_config import cfg

from reqspec.conf import conductor
from reqspec.conf import database
from reqspec.conf import paths
from reqspec.conf import request_spec
from reqspec.conf import scheduler
from reqspec.conf import upgrade_levels

CONF = cfg.CONF


def register_opts(conf: cfg.ConfigOpts) -> None:
    paths.register_opts(conf)
    database.register_opts(conf)
    request_spec.register_opts(conf)
    scheduler.register_opts(conf)
    conductor.register_opts(conf)
    upgrade_levels.register_opts(conf)


def list_opts() -> list[tuple[str | None, Sequence[cfg.Opt]]]:
    """Entry point for oslo-config-generator and the docs."""
    return [
        *paths.list_opts(),
        *database.list_opts(),
        *request_spec.list_opts(),
        *scheduler.list_opts(),
        *conductor.list_opts(),
        *upgrade_levels.list_opts(),
    ]


register_opts(CONF)
