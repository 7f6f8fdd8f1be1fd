"""Request contexts: who is calling, and which database a call uses.

A context without a cell addresses the API database. ``target_cell``
yields a copy aimed at one cell's database. That is the whole rule: the
choice is always visible on the context object a caller passes in, and a
call that needs a cell database with an untargeted context raises
``CellNotTargeted`` instead of falling back to a default database.

The context also carries the process's configuration, resolved once
(``ctx.settings``, a ``reqspec.conf.settings.Settings``): the API
database's URL, pool options, scheduler weights... Every call made with
the context, and with its ``target_cell`` and ``elevated`` copies, reads
that object rather than ``CONF``. A context built without one holds the
process default (see ``reqspec.conf.settings``). It is not sent over RPC:
the receiving service holds its own.

The context knows nothing of engines: the db layer turns ``ctx.cell`` and
``ctx.settings.database`` into a cached engine, and keeps the transactions
it runs for the context on it (``transaction_state``).
"""

from collections.abc import Iterator
import contextlib
import copy
import threading
from typing import Any
from typing import Protocol
from typing import TYPE_CHECKING

from oslo_context import context as oslo_context

from reqspec.conf import settings as conf_settings

if TYPE_CHECKING:
    import sqlalchemy as sa


class CellTarget(Protocol):
    """What a context needs to know about a cell (a ``CellMapping``)."""

    uuid: str
    name: str
    database_connection: str


class RequestContext(oslo_context.RequestContext):
    """An oslo.context request context that also carries its database.

    ``cell`` is None for the API database, or the cell mapping whose
    database the context targets. Use ``target_cell`` rather than setting
    it, so the original context stays untargeted. ``settings``: the
    configuration the calls made with this context follow (default: the
    process's, see ``reqspec.conf.settings``).
    """

    def __init__(
        self,
        *args: Any,
        cell: CellTarget | None = None,
        settings: conf_settings.Settings | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.cell = cell
        self.settings = (
            settings if settings is not None else conf_settings.get_default()
        )

    @property
    def connection(self) -> "sa.Connection":
        """The connection of the transaction this thread is running on
        this context: set by ``reqspec.db.transactions`` while a reader or
        writer function runs, and only then."""
        connection: sa.Connection | None = getattr(
            self.transaction_state(), "connection", None
        )
        if connection is None:
            raise RuntimeError(
                "no transaction is running on this context in this thread "
                "(ctx.connection is for functions decorated by "
                "reqspec.db.transactions)"
            )
        return connection

    def transaction_state(self) -> threading.local:
        """Where ``reqspec.db.transactions`` keeps the transactions this
        context is running: per thread, as one context may serve calls
        on several threads at once."""
        state: threading.local | None = self.__dict__.get("_transactions")
        if state is None:
            # setdefault: of two threads creating it, both get the same.
            state = self.__dict__.setdefault(
                "_transactions", threading.local()
            )
        return state

    @property
    def database(self) -> str:
        """A human name of the database this context addresses."""
        if self.cell is None:
            return "the API database"
        return f"the database of cell {self.cell.name} ({self.cell.uuid})"

    def to_dict(self) -> dict[str, Any]:
        # Without the settings: a receiver follows its own configuration.
        values: dict[str, Any] = super().to_dict()
        values["cell_uuid"] = self.cell.uuid if self.cell else None
        return values

    def elevated(self) -> "RequestContext":
        """An admin copy of this context, still aimed at the same database."""
        ctx = _copy_without_transactions(self)
        ctx.is_admin = True
        if "admin" not in ctx.roles:
            ctx.roles = [*ctx.roles, "admin"]
        return ctx


def _copy_without_transactions(ctx: RequestContext) -> RequestContext:
    new = copy.copy(ctx)
    # The transactions in progress are kept on the context object; a copy
    # must start with none of its own rather than share the original's.
    new.__dict__.pop("_transactions", None)
    return new


def get_admin_context(**kwargs: Any) -> RequestContext:
    """An admin context for the API database (services, the CLI, tests);
    ``settings=`` gives it a configuration of its own."""
    return RequestContext(
        user_id=None,
        project_id=None,
        is_admin=True,
        overwrite=False,
        **kwargs,
    )


@contextlib.contextmanager
def target_cell(
    ctx: RequestContext, cell: CellTarget
) -> Iterator[RequestContext]:
    """Yield a copy of ``ctx`` aimed at ``cell``'s database.

    The original context is left untouched, so code holding it keeps
    addressing whatever it addressed before.
    """
    targeted = _copy_without_transactions(ctx)
    targeted.cell = cell
    yield targeted
