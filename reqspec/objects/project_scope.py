"""Which stored specs a context may reach, and what its columns can hold.

A non-admin context reaches the specs of its own project only: the
persistence methods pass ``scope_of(ctx)`` to every statement, which the
db layer turns into ``AND project_id = ?``, so another project's spec is
simply not found (the same ``RequestSpecNotFound``, byte for byte, as a
missing one). Admin contexts reach every project.
"""

from typing import TYPE_CHECKING

from reqspec import exception

if TYPE_CHECKING:
    from reqspec.context import RequestContext

#: Width of the ``project_id`` column.
PROJECT_ID_MAX_LENGTH = 255


def scope_of(context: "RequestContext") -> str | None:
    """The project a context may touch; None means every project (admin).

    A non-admin context without a project may touch nothing (rather than
    the specs whose project happens to be empty).
    """
    if context.is_admin:
        return None
    if not context.project_id:
        raise exception.Forbidden(
            reason="a non-admin context without a project owns no specs"
        )
    return context.project_id


def owns(scope: str | None, project_id: str | None) -> bool:
    """Whether a row of ``project_id`` is within ``scope``, compared byte
    for byte in Python: the schema already compares identifiers exactly on
    every backend (``reqspec.db.base.Identifier``), and this keeps a
    database whose collation was never migrated from leaking rows."""
    return scope is None or project_id == scope


def check_may_store(context: "RequestContext", project_id: str | None) -> None:
    """``Forbidden`` unless ``context`` may store a spec of ``project_id``
    (decided before anything is sent, so it reveals nothing stored)."""
    scope = scope_of(context)
    if scope is not None and project_id != scope:
        raise exception.Forbidden(
            reason="a request spec can only be stored in the caller's "
            "own project"
        )


def check_project_column(project_id: str | None) -> None:
    """``project_id`` is also a column: refuse what the databases would
    refuse (or silently truncate) before anything is sent. (The field
    itself already refuses lone surrogates, as every string field does.)"""
    if project_id is None:
        return
    problem = None
    if len(project_id) > PROJECT_ID_MAX_LENGTH:
        problem = f"is longer than {PROJECT_ID_MAX_LENGTH} characters"
    elif "\x00" in project_id:
        problem = "contains a NUL character"
    if problem:
        raise exception.InvalidRequestSpec(reason=f"project_id {problem}")
