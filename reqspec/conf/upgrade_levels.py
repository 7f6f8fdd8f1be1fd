"""The ``[upgrade_levels]`` option group: RPC version pins.

During a rolling upgrade, services of two releases talk to each other.
Each sender is pinned to the newest RPC version every receiver
understands; a pinned sender uses only the methods that version has and
backports the ``RequestSpec`` it sends to the object version that RPC
version carries (see ``doc/source/rpc.rst``).
"""

from collections.abc import Sequence

from oslo_config import cfg

from reqspec.conf import groups

upgrade_group = cfg.OptGroup(
    "upgrade_levels",
    title="RPC version pins for rolling upgrades",
    help="Leave a pin empty to send the newest version this code knows.",
)

upgrade_opts = [
    cfg.StrOpt(
        "conductor",
        help=(
            "Newest RPC version to send to conductors (e.g. 1.0), while "
            "some of them still run the previous release."
        ),
    ),
    cfg.StrOpt(
        "scheduler",
        help=(
            "Newest RPC version to send to schedulers (e.g. 1.0), while "
            "some of them still run the previous release. The RequestSpec "
            "is backported to the object version that RPC version carries."
        ),
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    groups.register(conf, upgrade_group, upgrade_opts)


def list_opts() -> list[tuple[str | None, Sequence[cfg.Opt]]]:
    return [(upgrade_group.name, upgrade_opts)]
