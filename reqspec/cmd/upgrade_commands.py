"""reqspec-manage upgrade check: is every database ready for this code?

Built on oslo.upgradecheck, as ``nova-status upgrade check`` is: each check
returns Success, Warning or Failure with details naming the fix, the
results are printed as one table, and the exit code is the worst result
(0 success, 1 warning, 2 failure).
"""

import argparse
from typing import Any

from oslo_db import exception as db_exc
from oslo_upgradecheck import upgradecheck
import sqlalchemy as sa

from reqspec import context
from reqspec import exception
from reqspec.cmd import databases
from reqspec.db import migration
from reqspec.objects import online_migrations

Code = upgradecheck.Code
Result = upgradecheck.Result


def register(subparsers: Any) -> None:
    upgrade = subparsers.add_parser(
        "upgrade", help="Checks to run before and after an upgrade."
    )
    commands = upgrade.add_subparsers(
        dest="upgrade_command", metavar="COMMAND"
    )
    commands.required = True
    check = commands.add_parser(
        "check",
        help="Check every database's schema and pending online data "
        "migrations (exit 0 ok, 1 warning, 2 failure).",
    )
    check.set_defaults(action_fn=check_command, error_exit=2)


def _databases() -> list[tuple[str, str, str, context.RequestContext]]:
    """(kind, label, url, context) of the API database and every cell."""
    ctx = context.get_admin_context()
    found = [("api", databases.API_LABEL, databases.api_url(), ctx)]
    for cell in databases.cells(ctx):
        with context.target_cell(ctx, cell) as cctx:
            found.append(
                ("cell", cell.identity, cell.database_connection, cctx)
            )
    return found


class Checks(upgradecheck.UpgradeCommands):
    """reqspec's upgrade checks."""

    display_title = "reqspec upgrade check"

    def __init__(self) -> None:
        self._found: list[tuple[str, str, str, context.RequestContext]]
        self._found = []
        self._listed = False
        self._up_to_date: set[str] = set()
        self._usable: set[str] = set()

    def _check_schema(self) -> Result:
        try:
            self._found = _databases()
        except exception.ReqspecError as err:
            return Result(Code.FAILURE, err.message)
        self._listed = True
        problems = []
        worst = Code.SUCCESS
        for kind, label, url, _ctx in self._found:
            try:
                status = migration.db_version(kind, url, label=label)
            except exception.ReqspecError as err:
                # Unreachable, missing, or a mapping that is not a URL.
                problems.append(err.message)
                worst = Code.FAILURE
                continue
            self._usable.add(label)
            if status.state == "up to date":
                self._up_to_date.add(label)
            elif status.state == "ahead of the code":
                problems.append(
                    f"{label} is at {status.current}, newer than this code "
                    "knows: upgrade reqspec first."
                )
                worst = Code.FAILURE
            else:
                problems.append(
                    f"{label} is {status.state} (at {status.current or '-'}"
                    f", code at {status.head}): run 'reqspec-manage db "
                    "sync'."
                )
                worst = max(worst, Code.WARNING)
        return Result(worst, " ".join(problems) or None)

    def _check_online_migrations(self) -> Result:
        if not self._listed:
            return Result(
                Code.FAILURE, "Not checked: the databases cannot be listed."
            )
        pending = []
        problems = []
        for _kind, label, _url, ctx in self._found:
            if label not in self._usable:
                # The schema check failed it; opening it again could even
                # create it (a missing SQLite file).
                continue
            try:
                counts = online_migrations.pending(ctx)
                broken = (
                    online_migrations.undecodable(ctx)
                    if any(counts.values())
                    else {}
                )
            except (
                exception.ReqspecError,
                db_exc.DBError,
                sa.exc.SQLAlchemyError,
            ) as err:
                # A database the schema check failed or found behind may
                # lack the tables: that is already reported there.
                if label in self._up_to_date:
                    problems.append(f"cannot count on {label}: {err}")
                continue
            if broken:
                # What online_data_migrations exits 2 for.
                problems.append(
                    f"{label}: {len(broken)} row(s) cannot be migrated "
                    "because their documents do not decode (instance "
                    f"{', '.join(sorted(broken)[:3])}"
                    f"{', ...' if len(broken) > 3 else ''}); fix or delete "
                    "them by hand"
                )
            pending += [
                f"{label}: {name} has {count} row(s) to do"
                for name, count in counts.items()
                if count
            ]
        if problems:
            return Result(Code.FAILURE, "; ".join(problems))
        if pending:
            return Result(
                Code.WARNING,
                "; ".join(pending)
                + ". Run 'reqspec-manage db online_data_migrations'.",
            )
        return Result(Code.SUCCESS)

    _upgrade_checks = (
        ("Database schema", _check_schema),
        ("Online data migrations", _check_online_migrations),
    )


def check_command(args: argparse.Namespace) -> int:
    return int(Checks().check())
