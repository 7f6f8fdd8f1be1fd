"""Typed errors raised by reqspec.

Every error the library raises on purpose derives from ``ReqspecError``, so a
caller can catch the whole family in one place. Messages are built from a
format string and keyword arguments (the oslo convention) and say what is
wrong and, where there is one, which command fixes it.
"""

from typing import Any


class ReqspecError(Exception):
    """Base class of every error raised by reqspec."""

    msg_fmt = "An unknown error occurred."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        self.kwargs = kwargs
        if message is None:
            message = self.msg_fmt % kwargs
        self.message = message
        super().__init__(message)


class Invalid(ReqspecError):
    """Bad input: refused before anything was written."""

    msg_fmt = "Invalid input: %(reason)s"


class InvalidRequestSpec(Invalid):
    """A spec or a stored document is malformed; nothing was written."""

    msg_fmt = "Invalid request spec: %(reason)s"


class RequestSpecNotFound(ReqspecError):
    # The same message for a missing row and for a row of another project:
    # a non-admin caller must not learn that a foreign instance exists.
    msg_fmt = "No request spec found for instance %(instance_uuid)s."


class RequestSpecExists(ReqspecError):
    msg_fmt = "A request spec already exists for instance %(instance_uuid)s."


class RequestSpecConflict(ReqspecError):
    msg_fmt = (
        "The request spec of instance %(instance_uuid)s was changed by "
        "someone else (expected generation %(expected)s); reload it and "
        "try again."
    )


class Forbidden(ReqspecError):
    msg_fmt = "Not allowed: %(reason)s"


class ObjectActionError(ReqspecError):
    msg_fmt = "Cannot %(action)s: %(reason)s"


class ProjectMismatch(Invalid):
    """A spec and its instance mapping name different projects."""

    msg_fmt = (
        "The request spec of instance %(instance_uuid)s belongs to another "
        "project than its instance mapping; nothing was written."
    )


class CellMappingNotFound(ReqspecError):
    msg_fmt = "No cell named or with uuid %(cell)s in the API database."


class CellMappingExists(ReqspecError):
    msg_fmt = "A cell named %(name)s already exists."


class CellNotEmpty(ReqspecError):
    msg_fmt = (
        "Cell %(cell)s still holds servers (%(reason)s); move or delete "
        "them before deleting the cell."
    )


class CellNotTargeted(ReqspecError):
    msg_fmt = (
        "%(operation)s needs a cell database, but the context is not "
        "targeted at a cell; use reqspec.context.target_cell()."
    )


class DatabaseNotConfigured(ReqspecError):
    msg_fmt = "%(database)s has no connection URL configured."


class DatabaseError(ReqspecError):
    """The database failed a call; base of the database errors below.

    Raised as such for a driver error reqspec has no better name for; the
    transaction was rolled back, so nothing of it was written.
    """

    msg_fmt = "%(database)s failed: %(reason)s; nothing was written."


class DatabaseUnavailable(DatabaseError):
    """The connection could not be made or was lost.

    ``outcome_unknown`` is True when it was lost while committing: the
    change may or may not have been saved (a reload tells: the generation
    moved or it did not). Otherwise nothing was written.
    """

    msg_fmt = "Cannot reach %(database)s: %(reason)s"

    @property
    def outcome_unknown(self) -> bool:
        return bool(self.kwargs.get("outcome_unknown"))


class DatabaseNotFound(DatabaseUnavailable):
    """The server answered, but the database itself does not exist (or,
    for SQLite, the file is missing). Nothing was created."""

    msg_fmt = (
        "%(database)s does not exist (%(url)s): check the connection URL "
        "(--config-file), or create it (CREATE DATABASE on a server; "
        "'reqspec-manage db sync' creates an SQLite file) and run "
        "'reqspec-manage db sync'."
    )


class InvalidDatabaseURL(Invalid):
    """A connection string that is not an SQLAlchemy URL, or whose driver
    is not installed. Nothing was written."""

    msg_fmt = "%(database)s: %(reason)s"


class DatabaseMissing(DatabaseNotFound):
    """An SQLite database file that does not exist; nothing was created.

    Only commands meant to create a database do (``db sync``).
    """

    msg_fmt = (
        "%(database)s does not exist: there is no SQLite file at %(path)s "
        "(nothing was created). Create it with 'reqspec-manage db sync', "
        "or fix its connection URL."
    )


class DatabaseBusy(DatabaseError):
    """Every attempt of a transaction was aborted by the database
    (deadlock, serialization failure, lock timeout); each attempt was rolled
    back, so nothing was written."""

    msg_fmt = (
        "%(database)s aborted the transaction %(attempts)s times "
        "(%(reason)s); nothing was written. Try again later."
    )


class DatabaseNotUpgraded(ReqspecError):
    msg_fmt = (
        "%(database)s does not have the schema this reqspec needs "
        "(%(reason)s); run 'reqspec-manage db sync'."
    )


class DatabaseAheadOfCode(ReqspecError):
    msg_fmt = (
        "%(database)s is at schema revision %(current)s, which this version "
        "of reqspec does not know; it was upgraded by a newer release. "
        "Upgrade reqspec before using this database."
    )


class DataMigrationRequired(ReqspecError):
    """A schema upgrade stopped until rows are fixed by the online data
    migrations of the release that is already installed."""

    msg_fmt = (
        "%(database)s: %(count)s %(what)s. Run 'reqspec-manage db "
        "online_data_migrations' until it reports nothing left to do, then "
        "run 'reqspec-manage db sync' again."
    )


class NovaSpecUnconvertible(ReqspecError):
    """A spec stored by Nova that reqspec cannot represent faithfully."""

    msg_fmt = "%(reason)s"


class NotANovaDatabase(ReqspecError):
    msg_fmt = (
        "%(database)s has no request_specs table (%(reason)s); is it a Nova "
        "API database (nova_api)?"
    )


# -- servers, hosts and moves (the lifecycle reference) ---------------------


class InstanceNotFound(ReqspecError):
    # One message whether the server is missing or another project's.
    msg_fmt = "No server %(instance_uuid)s."


class MarkerNotFound(Invalid):
    # As for InstanceNotFound: another project's server is no marker.
    msg_fmt = "Invalid input: marker %(marker)s names no server."


class InstanceExists(ReqspecError):
    msg_fmt = "Server %(instance_uuid)s already exists in %(database)s."


class InvalidInstanceState(ReqspecError):
    msg_fmt = (
        "Cannot %(action)s server %(instance_uuid)s while it is %(state)s."
    )


class InstanceConflict(ReqspecError):
    msg_fmt = (
        "Server %(instance_uuid)s changed while %(action)s was in progress; "
        "nothing was written, load it again and retry."
    )


class MoveInProgress(ReqspecError):
    msg_fmt = (
        "Server %(instance_uuid)s is being moved between databases (step "
        "%(step)s); run 'reqspec-manage heal' to finish the move first."
    )


class MoveInconsistent(ReqspecError):
    msg_fmt = (
        "The move of server %(instance_uuid)s cannot be finished "
        "automatically: %(reason)s"
    )


class NoValidHost(ReqspecError):
    msg_fmt = "No valid host for server %(instance_uuid)s: %(reason)s"


class ComputeHostNotFound(ReqspecError):
    msg_fmt = "No compute node %(host)s/%(node)s in %(database)s."


class ComputeNodeExists(ReqspecError):
    msg_fmt = "Compute node %(host)s/%(node)s already exists in %(database)s."


class ComputeResourcesUnavailable(ReqspecError):
    msg_fmt = "Host %(host)s/%(node)s cannot take the server: %(reason)s"


class DemoStateDirInUse(ReqspecError):
    msg_fmt = (
        "%(path)s is not empty and was not made by 'reqspec-manage demo'; "
        "pass an empty or new directory to --state-dir."
    )


class IncompatibleObjectVersion(ReqspecError):
    """A service was sent an object version newer than it knows."""

    msg_fmt = (
        "Received %(objname)s version %(received)s, but this service knows "
        "%(objname)s only up to version %(supported)s; pin the senders with "
        "[upgrade_levels] %(service)s until this service is upgraded."
    )


class RPCVersionUnavailable(ReqspecError):
    msg_fmt = (
        "%(method)s needs RPC version %(needed)s of the %(service)s, but "
        "[upgrade_levels] %(service)s pins it to %(pinned)s."
    )


class ServiceUnavailable(ReqspecError):
    msg_fmt = "The %(service)s did not answer: %(reason)s"
