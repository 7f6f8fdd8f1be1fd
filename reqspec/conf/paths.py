"""Where reqspec keeps state when no database server is configured."""

from collections.abc import Sequence
import os

from oslo_config import cfg

state_opts = [
    cfg.StrOpt(
        "state_path",
        default=os.path.join(os.getcwd(), "reqspec-state"),
        sample_default="$PWD/reqspec-state",
        help=(
            "Directory for embedded SQLite databases. Used only for a "
            "database whose connection option is left empty."
        ),
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(state_opts)


def list_opts() -> list[tuple[str | None, Sequence[cfg.Opt]]]:
    return [(None, state_opts)]
