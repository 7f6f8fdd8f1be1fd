"""Read-modify-save of one RequestSpec, retried on concurrent changes.

``RequestSpec.save()`` never overwrites a change it did not see: it writes
only if the row is still at the generation it loaded, and raises
``RequestSpecConflict`` otherwise. ``update_with_retry`` is the loop a
caller then needs: load the latest spec, apply the change, save; on a
conflict wait a little and start over from a fresh load. Two conductors
changing the same spec both get their change in, one after the other.
"""

from collections.abc import Callable
import dataclasses
import random
import time
from typing import TYPE_CHECKING

from reqspec import exception
from reqspec.objects.request_spec import RequestSpec

if TYPE_CHECKING:
    from reqspec.context import RequestContext

#: Attempts before ``update_with_retry`` gives up.
DEFAULT_MAX_ATTEMPTS = 5


@dataclasses.dataclass(frozen=True)
class UpdateResult:
    """A successful ``update_with_retry``: the saved spec and how many
    load-change-save attempts it took (1 when nobody got in the way)."""

    spec: RequestSpec
    attempts: int

    @property
    def conflicts(self) -> int:
        """Attempts lost to someone else's save."""
        return self.attempts - 1


def update_with_retry(
    context: "RequestContext",
    instance_uuid: str,
    change: Callable[[RequestSpec], object],
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    backoff: float = 0.01,
    max_backoff: float = 0.5,
) -> UpdateResult:
    """Load the spec of ``instance_uuid``, call ``change(spec)``, save it.

    ``change`` edits the spec in place (its return value is ignored). It
    may run several times, each time on a freshly loaded spec, so it must
    compute its edit from the spec it is given (append a hint, set a
    value), not from data read before the call.

    On ``RequestSpecConflict`` the attempt is dropped (nothing was
    written), and after a random pause of up to ``backoff * 2**n`` seconds
    (at most ``max_backoff``) the spec is loaded again. After
    ``max_attempts`` conflicts ``RequestSpecConflict`` is raised, with the
    number of attempts in ``kwargs["attempts"]``.

    Nothing else is retried: an exception from ``change`` or from loading
    (``RequestSpecNotFound``, ``InvalidRequestSpec``...) propagates as it
    is, with nothing written. So does ``DatabaseUnavailable`` from the
    save, since the save may have been committed before the connection
    was lost and only the caller knows whether doing it twice is harmless
    (the db layer already retried deadlocks and serialization failures).
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    for attempt in range(1, max_attempts + 1):
        spec = RequestSpec.get_by_instance_uuid(context, instance_uuid)
        change(spec)
        try:
            spec.save()
        except exception.RequestSpecConflict as err:
            if attempt == max_attempts:
                raise exception.RequestSpecConflict(
                    f"The request spec of instance {spec.instance_uuid} was "
                    f"changed by someone else during each of {attempt} "
                    "attempts to update it; nothing was written.",
                    instance_uuid=spec.instance_uuid,
                    expected=err.kwargs.get("expected"),
                    attempts=attempt,
                ) from err
            pause = min(max_backoff, backoff * 2 ** (attempt - 1))
            time.sleep(random.uniform(0, pause))
            continue
        return UpdateResult(spec, attempt)
    raise AssertionError("unreachable")  # pragma: no cover
