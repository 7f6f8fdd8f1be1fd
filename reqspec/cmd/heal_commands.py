"""reqspec-manage heal: finish spec moves a crash interrupted."""

import argparse
from typing import Any

from reqspec import context
from reqspec.cmd import databases
from reqspec.cmd import output
from reqspec.lifecycle import heal


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "heal",
        help="Finish (or abort) every move of a spec between databases "
        "that a crashed conductor left half done.",
    )
    parser.set_defaults(action_fn=heal_command)


def heal_command(args: argparse.Namespace) -> int:
    """Exit 0 when every recorded move is settled, 1 when some could not
    be finished (the table says why)."""
    databases.api_url()
    ctx = context.get_admin_context()
    # heal may touch any cell a move went through; a broken mapping is
    # reported by the move that needs it.
    databases.cells(ctx)
    report = heal.heal(ctx)
    rows = [(uuid, "finished", "") for uuid in report.finished]
    rows += [(uuid, "aborted", why) for uuid, why in report.aborted]
    rows += [(uuid, "failed", why) for uuid, why in report.failed]
    if rows:
        output.table(("server", "move", "detail"), rows)
    else:
        print("no interrupted moves")
    if report.unscheduled:
        print(
            f"{len(report.unscheduled)} server(s) wait to be built; heal "
            "does not schedule them"
        )
    return 0 if report.ok else 1
