"""The ``[scheduler]`` option group of the reference scheduler."""

from collections.abc import Sequence

from oslo_config import cfg

from reqspec.conf import groups

scheduler_group = cfg.OptGroup(
    "scheduler",
    title="Reference scheduler options",
    help="How reqspec.scheduler picks a host for a server.",
)

scheduler_opts = [
    cfg.StrOpt(
        "topic",
        default="reqspec-scheduler",
        help="Message bus topic every reqspec-scheduler service consumes.",
    ),
    cfg.IntOpt(
        "max_attempts",
        default=3,
        min=1,
        help=(
            "How many hosts a build or move tries before it fails with "
            "NoValidHost. A host whose claim fails (someone else took its "
            "capacity first) is recorded in the request's retry list and "
            "the next attempt skips it."
        ),
    ),
    cfg.StrOpt(
        "default_availability_zone",
        default="nova",
        help="Availability zone of a compute node that names none.",
    ),
    cfg.FloatOpt(
        "ram_weight_multiplier",
        default=1.0,
        help=(
            "Weight of free RAM. Positive spreads servers over hosts, "
            "negative stacks them."
        ),
    ),
    cfg.FloatOpt(
        "soft_affinity_weight_multiplier",
        default=1.0,
        min=0.0,
        help="Weight of co-locating members of a soft-affinity group.",
    ),
    cfg.FloatOpt(
        "soft_anti_affinity_weight_multiplier",
        default=1.0,
        min=0.0,
        help="Weight of separating members of a soft-anti-affinity group.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    groups.register(conf, scheduler_group, scheduler_opts)


def list_opts() -> list[tuple[str | None, Sequence[cfg.Opt]]]:
    return [(scheduler_group.name, scheduler_opts)]
