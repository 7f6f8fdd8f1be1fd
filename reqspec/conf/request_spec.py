"""The ``[request_spec]`` option group: limits on stored documents."""

from collections.abc import Sequence

from oslo_config import cfg

from reqspec.conf import groups

request_spec_group = cfg.OptGroup(
    "request_spec",
    title="Request spec options",
)

request_spec_opts = [
    cfg.IntOpt(
        "max_document_bytes",
        default=1024 * 1024,
        min=1024,
        help=(
            "Largest stored document, in bytes, that reqspec writes or "
            "reads. A larger one is rejected as InvalidRequestSpec."
        ),
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    groups.register(conf, request_spec_group, request_spec_opts)


def list_opts() -> list[tuple[str | None, Sequence[cfg.Opt]]]:
    return [(request_spec_group.name, request_spec_opts)]
