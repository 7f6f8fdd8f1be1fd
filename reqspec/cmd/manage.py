"""reqspec-manage: the operator's command line.

Each command category lives in its own module with a ``register``
function adding its sub-commands; this module wires them into oslo.config
(so ``--config-file`` and friends work as in every oslo tool), runs the
chosen one and turns reqspec's typed errors into a message and exit code 1.
A traceback means a bug.

Exit codes: 0 success, 1 a reported error, 2 bad usage (from argparse).
Commands may define more (``db online_data_migrations`` and ``upgrade
check`` do).
"""

import argparse
from collections.abc import Callable
from collections.abc import Sequence
import sys
from typing import Any

from oslo_config import cfg

import reqspec
from reqspec import conf
from reqspec import exception
from reqspec.cmd import cell_commands
from reqspec.cmd import db_commands
from reqspec.cmd import demo_commands
from reqspec.cmd import heal_commands
from reqspec.cmd import nova_commands
from reqspec.cmd import output
from reqspec.cmd import upgrade_commands

CONF = conf.CONF

CATEGORIES: Sequence[Callable[[Any], None]] = (
    db_commands.register,
    cell_commands.register,
    upgrade_commands.register,
    nova_commands.register,
    heal_commands.register,
    demo_commands.register,
)


def _add_command_parsers(subparsers: Any) -> None:
    for register in CATEGORIES:
        register(subparsers)


command_opt = cfg.SubCommandOpt(
    "command",
    title="Commands",
    help="Run 'reqspec-manage COMMAND --help' for a command's options.",
    handler=_add_command_parsers,
)


def main(argv: Sequence[str] | None = None) -> int:
    CONF.register_cli_opt(command_opt)
    try:
        CONF(
            list(sys.argv[1:] if argv is None else argv),
            project="reqspec",
            version=reqspec.__version__,
        )
        action: Callable[[argparse.Namespace], int] = CONF.command.action_fn
        try:
            return action(CONF.command) or 0
        except exception.ReqspecError as err:
            output.error(err.message)
            return 1
        except KeyboardInterrupt:
            output.error("interrupted")
            return 130
    finally:
        # Leave the global configuration unparsed, so main() can run again
        # in the same process (tests do).
        CONF.clear()
        CONF.unregister_opt(command_opt)


if __name__ == "__main__":
    sys.exit(main())
