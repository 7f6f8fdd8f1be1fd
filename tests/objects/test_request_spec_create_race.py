"""create() racing create() for one instance: one row, one winner, and
RequestSpecExists for everyone else; threads and processes, every
backend."""

import json
import threading

import pytest
import sqlalchemy as sa

from reqspec import context
from reqspec import exception
from reqspec import objects
from reqspec.db import engines
from tests.conftest import Env
from tests.fixtures import spec_worker

# Also on Galera: API database and cells on the cluster.
pytestmark = pytest.mark.galera

RACERS = 16
# Each process pays a Python start-up: fewer of them, same race.
PROCESS_RACERS = 8
TIMEOUT = 120
UUID = "b1d2c3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e"


def _race_threads() -> list[str]:
    outcomes = ["" for _ in range(RACERS)]
    start = threading.Barrier(RACERS)

    def race(i: int) -> None:
        ctx = context.RequestContext(is_admin=True, overwrite=False)
        spec = spec_worker.new_spec(ctx, UUID, name=f"racer-{i}")
        start.wait()
        try:
            spec.create()
            outcomes[i] = "created"
        except exception.RequestSpecExists:
            outcomes[i] = "exists"

    threads = [
        threading.Thread(target=race, args=(i,), daemon=True)
        for i in range(RACERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a racer hung"
    return outcomes


def _race_processes(url: str) -> list[str]:
    results = spec_worker.run_workers(
        [["create", url, UUID, f"racer-{i}"] for i in range(PROCESS_RACERS)],
        TIMEOUT,
    )
    outcomes = []
    for code, out, err in results:
        assert code == 0, err
        outcomes.append(json.loads(out[-1])["result"])
    return outcomes


@pytest.mark.parametrize("racers", ["threads", "processes"])
def test_one_create_wins(db: Env, racers: str) -> None:
    if racers == "threads":
        outcomes = _race_threads()
    else:
        outcomes = _race_processes(db.api_url)
    assert sorted(outcomes) == ["created"] + ["exists"] * (len(outcomes) - 1)
    assert len(outcomes) == (RACERS if racers == "threads" else PROCESS_RACERS)

    with engines.database(db.api_url).engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT generation FROM request_specs")
        ).all()
    assert [tuple(r) for r in rows] == [(1,)]
    # The row is whole: one racer's document, readable.
    spec = objects.RequestSpec.get_by_instance_uuid(db.ctx, UUID)
    assert spec.flavor.name.startswith("racer-")
