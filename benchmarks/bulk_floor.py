"""How fast could a batch load be on SQLite? The floor under the bulk target.

    python benchmarks/bulk_floor.py [--count 1000] [--rounds 7]

Stores ``--count`` realistic specs in a fresh SQLite file (WAL,
synchronous=FULL, as the main benchmark) and times, per spec, in one
process:

* a single ``RequestSpec.get_by_instance_uuid``;
* ``RequestSpec.get_by_instance_uuids`` of all of them;
* the rows of that batch, fetched and parsed with orjson (no objects);
* the same plus the spec and its nested objects built from the parsed
  JSON with no checks at all (every storage attribute set as it comes).

The last line is the floor of any loader that builds these objects; the
ratio of a single get to it is the most that batching can gain here.
"""

import argparse
from collections.abc import Callable
import gc
import os
import pathlib
import sys
import tempfile
import time
from typing import Any

import orjson

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from benchmarks import reqspec_impl
from benchmarks import workload
from reqspec import objects
from reqspec.conf import settings as conf_settings
from reqspec.db import engines
from reqspec.db import migration
from reqspec.db import request_specs as db
from reqspec.objects import fields


def unchecked_builder(cls: type[Any]) -> Callable[[dict[str, Any]], Any]:
    """Build an object of ``cls`` from its stored JSON, checking nothing."""
    children: dict[str, tuple[Callable[[Any], Any], bool]] = {}

    def build(data: dict[str, Any]) -> Any:
        obj = object.__new__(cls)
        values = obj.__dict__
        values["_changed_fields"] = set()
        values["_context"] = None
        for key, value in data.items():
            child = children.get(key)
            if child is not None and value is not None:
                make, many = child
                value = [make(v) for v in value] if many else make(value)
            values["_obj_" + key] = value
        return obj

    for name, field in cls.fields.items():
        if fields.is_object_field(field) or fields.is_object_list_field(field):
            children[name] = (
                unchecked_builder(fields.object_class(field)),
                fields.is_object_list_field(field),
            )
    return build


def per_spec_us(fn: Callable[[], Any], count: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best / count * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="reqspec-floor-") as tmp:
        api = conf_settings.sqlite_url(os.path.join(tmp, "api.sqlite"))
        cell = conf_settings.sqlite_url(os.path.join(tmp, "cell.sqlite"))
        migration.db_sync("api", api)
        migration.db_sync("cell", cell)
        store = reqspec_impl.ReqspecStore(api, cell)
        ctx = store.ctx
        uuids = []
        for i in range(args.count):
            spec = store.prepare(workload.realistic_spec(i))
            spec.create()
            uuids.append(spec.instance_uuid)
        build = unchecked_builder(objects.RequestSpec)

        def single() -> None:
            for uuid in uuids:
                objects.RequestSpec.get_by_instance_uuid(ctx, uuid)

        def batch() -> list[Any]:
            return objects.RequestSpec.get_by_instance_uuids(ctx, uuids)

        def parsed() -> list[Any]:
            rows = db.get_by_instance_uuids(ctx, uuids)
            return [orjson.loads(row.spec) for row in rows]

        def unchecked() -> list[Any]:
            rows = db.get_by_instance_uuids(ctx, uuids)
            return [build(orjson.loads(row.spec)["spec"]) for row in rows]

        # The floor must build what the library builds.
        loaded = batch()[0]
        floor = build(orjson.loads(loaded.to_document())["spec"])
        floor.__dict__.update(
            _obj_id=loaded.id, _obj_generation=loaded.generation
        )
        if floor != loaded:
            raise SystemExit("the unchecked builder builds something else")

        timings = {
            name: per_spec_us(fn, args.count, args.rounds)
            for name, fn in (
                ("single get", single),
                ("get_by_instance_uuids", batch),
                ("rows + orjson", parsed),
                ("rows + orjson + unchecked objects", unchecked),
            )
        }
        engines.dispose_all()
    single_us = timings["single get"]
    for name, us in timings.items():
        print(f"{name:<36} {us:6.1f} us/spec  {single_us / us:4.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
