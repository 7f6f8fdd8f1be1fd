"""The baseline: plain SQLAlchemy Core on the same tables.

It stores the very documents the library writes (as plain dicts, turned
into JSON with the standard library), one statement per operation, each in
its own transaction, on a pooled engine with the same durability as the
library's (SQLite WAL with synchronous=FULL; PostgreSQL's defaults). What
it leaves out is everything the library adds: typed objects, validation,
version upgrades, project scoping and the crash-safe move protocol.
"""

from collections.abc import Iterator
import datetime
import json
from typing import Any
from typing import cast

import sqlalchemy as sa

from reqspec.db import api_models
from reqspec.db import cell_models

table = cast(sa.Table, api_models.RequestSpec.__table__)
_cell_specs = cast(sa.Table, cell_models.RequestSpec.__table__)
_mappings = cast(sa.Table, api_models.InstanceMapping.__table__)

_insert = table.insert()
_select_one = sa.select(table.c.id, table.c.generation, table.c.spec).where(
    table.c.instance_uuid == sa.bindparam("uuid")
)
_select_many = sa.select(
    table.c.instance_uuid, table.c.generation, table.c.spec
).where(table.c.instance_uuid.in_(sa.bindparam("uuids", expanding=True)))
_update = (
    table.update()
    .where(table.c.instance_uuid == sa.bindparam("uuid"))
    .where(table.c.generation == sa.bindparam("expected"))
    .values(
        spec=sa.bindparam("new_spec"),
        generation=table.c.generation + 1,
        updated_at=sa.bindparam("now"),
    )
)
_delete = table.delete().where(table.c.instance_uuid == sa.bindparam("uuid"))
_point_mapping = (
    _mappings.update()
    .where(_mappings.c.instance_uuid == sa.bindparam("uuid"))
    .values(cell_id=sa.bindparam("cell_id"))
)


def engine(url: str) -> sa.engine.Engine:
    """A pooled engine as durable as the library's."""
    eng = sa.create_engine(url)
    if eng.dialect.name == "sqlite":

        @sa.event.listens_for(eng, "connect")
        def _connect(dbapi_con: Any, record: Any) -> None:
            dbapi_con.isolation_level = None
            dbapi_con.execute("PRAGMA journal_mode=WAL")
            dbapi_con.execute("PRAGMA synchronous=FULL")

        @sa.event.listens_for(eng, "begin")
        def _begin(conn: sa.Connection) -> None:
            conn.exec_driver_sql("BEGIN")

    return eng


def _dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


class CoreStore:
    name = "core"

    def __init__(self, api_url: str, cell_url: str) -> None:
        self.api = engine(api_url)
        self.cell = engine(cell_url)
        cells = cast(sa.Table, api_models.CellMapping.__table__)
        with self.api.begin() as conn:
            self.cell_id = conn.execute(
                cells.insert().returning(cells.c.id),
                {
                    "uuid": "6b1e2c5b-8d10-4c35-4d55-5f1c6a529a36",
                    "name": "bench-cell",
                    "database_connection": cell_url,
                    "created_at": _now(),
                },
            ).scalar_one()

    def prepare(self, spec_document: str) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(spec_document)
        return document

    def create(self, document: dict[str, Any]) -> None:
        spec = document["spec"]
        group = spec.get("instance_group") or {}
        with self.api.begin() as conn:
            conn.execute(
                _insert,
                {
                    "instance_uuid": spec["instance_uuid"],
                    "project_id": spec.get("project_id"),
                    "instance_group_uuid": group.get("uuid"),
                    "generation": 1,
                    "spec": _dumps(document),
                    "created_at": _now(),
                },
            )

    def get(self, uuid: str) -> dict[str, Any]:
        with self.api.begin() as conn:
            row = conn.execute(_select_one, {"uuid": uuid}).one()
        loaded: dict[str, Any] = json.loads(row.spec)
        loaded["generation"] = row.generation
        return loaded

    def get_many(self, uuids: list[str]) -> list[dict[str, Any]]:
        with self.api.begin() as conn:
            rows = conn.execute(_select_many, {"uuids": uuids}).all()
        return [json.loads(row.spec) for row in rows]

    def resize(self, loaded: dict[str, Any], new_flavor: Any) -> None:
        generation = loaded.pop("generation")
        loaded["spec"]["flavor"] = new_flavor
        with self.api.begin() as conn:
            result = conn.execute(
                _update,
                {
                    "uuid": loaded["spec"]["instance_uuid"],
                    "expected": generation,
                    "new_spec": _dumps(loaded),
                    "now": _now(),
                },
            )
        if result.rowcount != 1:
            raise RuntimeError("lost update")

    def prepare_move(self, document: dict[str, Any]) -> None:
        self.create(document)
        with self.api.begin() as conn:
            conn.execute(
                _mappings.insert(),
                {
                    "instance_uuid": document["spec"]["instance_uuid"],
                    "project_id": document["spec"].get("project_id"),
                    "created_at": _now(),
                },
            )

    def move(self, uuid: str) -> None:
        """The spec's part of a move, as three durable steps: copy to the
        cell, point the mapping at it, delete the API copy."""
        with self.api.begin() as conn:
            row = conn.execute(
                sa.select(table).where(table.c.instance_uuid == uuid)
            ).one()
        values = row._asdict()
        del values["id"]
        with self.cell.begin() as conn:
            conn.execute(_cell_specs.insert(), values)
        with self.api.begin() as conn:
            conn.execute(
                _point_mapping, {"uuid": uuid, "cell_id": self.cell_id}
            )
        with self.api.begin() as conn:
            conn.execute(_delete, {"uuid": uuid})

    def iterate(self, batch_size: int) -> Iterator[dict[str, Any]]:
        with self.api.connect() as conn:
            result = conn.execution_options(yield_per=batch_size).execute(
                sa.select(table.c.spec).order_by(table.c.id)
            )
            for row in result:
                yield json.loads(row.spec)
