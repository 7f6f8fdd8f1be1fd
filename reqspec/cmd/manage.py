"""reqspec-manage: the operator's command line.

Each command category lives in its own module with a ``register``
function adding its sub-commands; this module wires them into oslo.config
(so ``--config-file`` and friends work as in every oslo tool), runs the
chosen one and turns reqspec's typed errors into a message and exit code 1.
A traceback means a bug.

Exit codes: 0 success, 1 a reported error, 2 bad usage (from argparse)
or a configuration that cannot be used (a missing, unreadable or
unparsable ``--config-file`` or ``--config-dir``, an invalid option
value). Commands may define more (``db online_data_migrations`` and
``upgrade check`` do, and report their errors with 2, their own code for
"errors").
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
from reqspec.conf import settings as conf_settings

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


#: Exit code of an unusable configuration (nova-manage's too).
CONFIG_ERROR = 2


def _parse(argv: list[str]) -> str | None:
    """Parse the command line and configuration files; an error message
    instead of a traceback when they cannot be read."""
    try:
        CONF(argv, project="reqspec", version=reqspec.__version__)
    except cfg.Error as err:
        return f"configuration: {err}"
    except OSError as err:
        # oslo.config lets a directory or an unreadable file through.
        return f"cannot read configuration file {err.filename}: {err.strerror}"
    except UnicodeDecodeError as err:
        return f"a configuration file is not UTF-8 text: {err}"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    CONF.register_cli_opt(command_opt)
    previous = conf_settings.pinned_default()
    try:
        with output.cli_logging():
            problem = _parse(list(sys.argv[1:] if argv is None else argv))
            if problem is not None:
                output.error(problem)
                return CONFIG_ERROR
            command = CONF.command
            action: Callable[[argparse.Namespace], int] = command.action_fn
            try:
                # Resolved once, for every context the command makes.
                conf_settings.set_default(
                    conf_settings.Settings.from_conf(CONF)
                )
                return action(command) or 0
            except exception.ReqspecError as err:
                output.error(err.message)
                return getattr(command, "error_exit", 1)
            except cfg.Error as err:
                # An option value is checked when it is first read.
                output.error(f"configuration: {err}")
                return CONFIG_ERROR
            except KeyboardInterrupt:
                output.error("interrupted")
                return 130
    finally:
        # Leave the global configuration unparsed and no settings behind,
        # so main() can run again in the same process (tests do).
        CONF.clear()
        CONF.unregister_opt(command_opt)
        conf_settings.set_default(previous)


if __name__ == "__main__":
    sys.exit(main())
