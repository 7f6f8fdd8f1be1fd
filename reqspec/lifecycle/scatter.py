"""Asking several cell databases at once, with a deadline none can stretch.

``scatter`` runs one call per cell, each in a thread of its own, and
returns when all have answered or ``timeout`` seconds have passed,
whichever comes first. A cell that failed with a database error, or that
had not answered by then, comes back as a ``CellDown`` instead of a
result; any other error is raised, since it is a bug rather than an
outage.

A call cannot be interrupted once it is inside a database driver: a
connect to a server that accepted the TCP connection and then went
silent blocks until the driver's own timeout (``[database]
cell_connect_timeout``; on PostgreSQL a query on a silent connection has
none). So a late worker is abandoned, not stopped:

* it is a daemon thread, so it never keeps the process from exiting (a
  ``concurrent.futures`` pool joins its threads at exit);
* while it is still running its cell counts as down at once, without a
  new thread: however many calls come in, each cell has at most the
  workers that were running when it stopped answering, and its pool
  never fills up with stuck checkouts;
* when the driver finally gives up, the worker's connection is
  invalidated and returned to the pool like any failed one, and the next
  call asks the cell again.
"""

from collections.abc import Callable
from collections.abc import Hashable
from collections.abc import Mapping
from concurrent import futures
import dataclasses
import threading
import time
from typing import TypeVar

from reqspec import exception

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")

#: Errors that mean "this database cannot answer now", not a bug.
DOWN_ERRORS: tuple[type[Exception], ...] = (
    exception.DatabaseError,  # DatabaseUnavailable, DatabaseBusy too
    exception.DatabaseNotUpgraded,
)


@dataclasses.dataclass(frozen=True)
class CellDown:
    """A cell that did not answer: why, and after how many seconds."""

    reason: str
    seconds: float


class _Call:
    def __init__(self, key: Hashable) -> None:
        self.key = key
        self.future: futures.Future[object] = futures.Future()
        self.abandoned = False


_lock = threading.Lock()
# Workers still running past their caller's deadline, per cell key.
_late: dict[Hashable, int] = {}


def late_workers() -> dict[Hashable, int]:
    """Cells with abandoned workers still running, and how many."""
    with _lock:
        return dict(_late)


def _run(call: _Call, fn: Callable[[], object]) -> None:
    try:
        call.future.set_result(fn())
    except BaseException as err:  # handed to the caller, who decides
        call.future.set_exception(err)
    finally:
        with _lock:
            if call.abandoned:
                _late[call.key] -= 1
                if not _late[call.key]:
                    del _late[call.key]


def scatter(
    calls: Mapping[K, Callable[[], R]], timeout: float
) -> dict[K, R | CellDown]:
    """Run every call at once; each key's result, or ``CellDown``.

    Returns within ``timeout`` seconds (plus thread start-up) whatever
    the databases do.
    """
    start = time.monotonic()
    results: dict[K, R | CellDown] = {}
    running: dict[K, _Call] = {}
    for key, fn in calls.items():
        with _lock:
            still_late = _late.get(key, 0)
        if still_late:
            results[key] = CellDown(
                f"an earlier call has not returned after its deadline "
                f"({still_late} waiting)",
                0.0,
            )
            continue
        call = _Call(key)
        thread = threading.Thread(
            target=_run,
            args=(call, fn),
            name=f"reqspec-cell-{key}",
            daemon=True,
        )
        thread.start()
        running[key] = call
    futures.wait(
        [c.future for c in running.values()],
        timeout=max(0.0, timeout - (time.monotonic() - start)),
    )
    elapsed = time.monotonic() - start
    for key, call in running.items():
        with _lock:
            # Decided under the lock the worker takes when it ends, so a
            # worker is either answered or counted late, never both.
            if not call.future.done():
                call.abandoned = True
                _late[key] = _late.get(key, 0) + 1
                results[key] = CellDown(
                    f"no answer within {timeout:g} seconds", elapsed
                )
                continue
        err = call.future.exception()
        if err is None:
            results[key] = call.future.result()  # type: ignore[assignment]
        elif isinstance(err, DOWN_ERRORS):
            results[key] = CellDown(str(err), elapsed)
        else:
            raise err
    return results
