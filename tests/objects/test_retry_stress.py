"""No lost updates: 16 workers x 200 read-modify-save cycles on one spec.

Every cycle adds a unique marker through ``update_with_retry``. Whatever
the interleaving, at the end the spec holds exactly the markers whose save
returned, each once, and its generation counts exactly those saves. The
workers are threads of this process (sharing its connection pool) or
separate processes (each with its own), on every backend.
"""

import json
import threading
import time

import pytest

from reqspec import context
from reqspec import objects
from tests.conftest import Env
from tests.fixtures import spec_worker

WORKERS = 16
CYCLES = 200
# High enough that giving up is rare under this (deliberately absurd)
# contention; a worker that gives up still must not lose anything.
MAX_ATTEMPTS = 40
TIMEOUT = 300
UUID = "5e2f0a1c-7b3d-4e8f-a6c1-9d0b2e4f6a81"


def _threads(db: Env) -> list[dict]:
    results: list[dict] = [{} for _ in range(WORKERS)]
    start = threading.Barrier(WORKERS)

    def work(i: int) -> None:
        ctx = context.RequestContext(is_admin=True, overwrite=False)
        start.wait()
        results[i] = spec_worker.run_cycles(
            ctx, UUID, f"t{i}", CYCLES, MAX_ATTEMPTS
        )

    threads = [
        threading.Thread(target=work, args=(i,), daemon=True)
        for i in range(WORKERS)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + TIMEOUT
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "a worker hung"
    return results


def _processes(db: Env) -> list[dict]:
    argvs = [
        ["cycles", db.api_url, UUID, f"p{i}", str(CYCLES), str(MAX_ATTEMPTS)]
        for i in range(WORKERS)
    ]
    results = []
    for code, out, err in spec_worker.run_workers(argvs, TIMEOUT):
        assert code == 0, err
        results.append(json.loads(out[-1]))
    return results


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["threads", "processes"])
def test_no_lost_updates(
    db: Env, workers: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_worker.new_spec(db.ctx, UUID).create()
    started = time.monotonic()
    results = _threads(db) if workers == "threads" else _processes(db)
    elapsed = time.monotonic() - started

    errors = [e for r in results for e in r["errors"]]
    assert not errors, errors[:5]
    saved = [m for r in results for m in r["saved"]]
    gave_up = sum(r["gave_up"] for r in results)
    attempts = sum(r["attempts"] for r in results)
    # Every cycle ended in a save or in giving up, never in silence.
    assert len(saved) + gave_up == WORKERS * CYCLES
    assert saved, "no save went through"

    final = objects.RequestSpec.get_by_instance_uuid(db.ctx, UUID)
    markers = final.scheduler_hints["markers"]
    assert len(markers) == len(set(markers)), "a marker was written twice"
    lost = set(saved) - set(markers)
    assert not lost, f"{len(lost)} lost updates, e.g. {sorted(lost)[:5]}"
    # ...and nothing that reported failure slipped in.
    assert set(markers) == set(saved)
    assert final.generation == 1 + len(saved)
    # Each worker's markers went in in the order it saved them.
    for r in results:
        if r["saved"]:
            worker = r["saved"][0].split(":")[0]
            mine = [m for m in markers if m.split(":")[0] == worker]
            assert mine == r["saved"]

    conflicts = attempts - len(saved)
    retries = conflicts - gave_up
    with capsys.disabled():
        print(
            f"\n[{db.backend}, {WORKERS} {workers} x {CYCLES} cycles] "
            f"saves={len(saved)} conflicts={conflicts} retries={retries} "
            f"gave_up={gave_up} lost=0 generation={final.generation} "
            f"in {elapsed:.1f}s"
        )
