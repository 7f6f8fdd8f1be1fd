"""The ``[conductor]`` option group of the ``reqspec-conductor`` service."""

from collections.abc import Sequence

from oslo_config import cfg

from reqspec.conf import groups

conductor_group = cfg.OptGroup(
    "conductor",
    title="Conductor service options",
    help="How reqspec-conductor consumes work and heals interrupted moves.",
)

conductor_opts = [
    cfg.StrOpt(
        "topic",
        default="reqspec-conductor",
        help="Message bus topic every conductor consumes.",
    ),
    cfg.IntOpt(
        "workers",
        default=8,
        min=1,
        help=(
            "Requests one conductor process works on at once (threads). "
            "Also the most messages it takes from the broker ahead of "
            "working on them, so that idle conductors get the rest."
        ),
    ),
    cfg.FloatOpt(
        "heal_interval",
        default=60.0,
        min=0.1,
        help=(
            "Seconds between two runs of the periodic heal, which finishes "
            "moves that a dead conductor left half done and builds servers "
            "whose build request was lost with it."
        ),
    ),
    cfg.FloatOpt(
        "heal_after",
        default=120.0,
        min=0.0,
        help=(
            "Seconds a move (or an unscheduled server) must have been left "
            "untouched before the periodic heal takes it over. A live "
            "conductor finishes its own moves in well under a second; the "
            "delay keeps heal from racing it, e.g. into aborting a move "
            "whose claim the live conductor is about to retry on another "
            "host. Make it longer than a build waits in the queue."
        ),
    ),
    cfg.FloatOpt(
        "graceful_shutdown_timeout",
        default=60.0,
        min=0.0,
        help=(
            "On SIGTERM, seconds to let requests in progress finish before "
            "exiting anyway (a move left recorded is then finished by "
            "another conductor's heal)."
        ),
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    groups.register(conf, conductor_group, conductor_opts)


def list_opts() -> list[tuple[str | None, Sequence[cfg.Opt]]]:
    return [(conductor_group.name, conductor_opts)]
