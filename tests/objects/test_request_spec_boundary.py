"""Bad input at the storage boundary: InvalidRequestSpec saying what is
wrong, and nothing written. On every backend (each refuses different
things on its own; reqspec must refuse them all before they get there)."""

from collections.abc import Callable
import json

import pytest
import sqlalchemy as sa

from reqspec import conf
from reqspec import context
from reqspec import exception
from reqspec import objects
from reqspec.db import engines
from tests.conftest import Env
from tests.fixtures import specs
from tests.fixtures.spec_worker import new_spec

CONF = conf.CONF
UUID = "7f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"


def _rows(url: str) -> list[tuple]:
    with engines.database(url).engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "SELECT instance_uuid, project_id, generation, spec "
                    "FROM request_specs"
                )
            )
        ]


def _insert(url: str, text: str, project_id: str | None = "project-a") -> None:
    with engines.database(url).engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO request_specs "
                "(instance_uuid, project_id, generation, spec) "
                "VALUES (:u, :p, 1, :s)"
            ),
            {"u": UUID, "p": project_id, "s": text},
        )


def _refused(call: Callable[[], object], match: str) -> str:
    with pytest.raises(exception.InvalidRequestSpec, match=match) as info:
        call()
    return str(info.value)


@pytest.mark.parametrize(
    "bad",
    [
        "not-a-uuid",
        "7f1e2d3c4b5a49688776a5b4c3d2e1f0",  # no dashes
        "7f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f",  # one digit short
        "7f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0' OR '1'='1",
        # A "$" in the pattern let a final newline through (issue 13).
        "7f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0\n",
        "7f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0\r\n",
        "7f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0 ",
        "\n7f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
        "",
        None,
        42,
    ],
)
def test_bad_uuids(db: Env, bad: object) -> None:
    _refused(
        lambda: objects.RequestSpec.get_by_instance_uuid(db.ctx, bad),  # type: ignore[arg-type]
        "instance uuid",
    )
    _refused(
        lambda: objects.RequestSpec.get_by_instance_uuids(db.ctx, [bad]),  # type: ignore[list-item]
        "instance uuid",
    )


@pytest.mark.parametrize("suffix", ["\n", "\r\n", " ", "\x00"])
def test_a_uuid_with_anything_after_it_creates_nothing(
    db: Env, suffix: str
) -> None:
    """Issue 13: ``UUID + "\\n"`` passed validation; SQLite stored a second
    row for the instance, MariaDB cut it to 36 characters."""
    flavor = new_spec(db.ctx, UUID).flavor
    for ctx in (db.ctx, db.cell_context(0)):
        _refused(
            lambda c=ctx: objects.RequestSpec.from_components(
                c, instance_uuid=UUID + suffix, flavor=flavor
            ),
            "8-4-4-4-12",
        )
    with pytest.raises(exception.InstanceNotFound):
        objects.InstanceMapping.get_by_instance_uuid(db.ctx, UUID + suffix)
    new_spec(db.ctx, UUID).create()
    _refused(
        lambda: objects.RequestSpec.get_by_instance_uuid(
            db.ctx, UUID + suffix
        ),
        "instance uuid",
    )
    assert [row[0] for row in _rows(db.api_url)] == [UUID]


class TestNothingInvalidIsWritten:
    @pytest.mark.parametrize(
        ("unset", "where"),
        [
            ((), "spec.flavor: required field is missing"),
            (("name",), "spec.flavor.name: required field is missing"),
        ],
    )
    def test_incomplete_spec(
        self, db: Env, unset: tuple[str, ...], where: str
    ) -> None:
        spec = objects.RequestSpec(db.ctx, instance_uuid=UUID)
        if unset:
            spec.flavor = new_spec(db.ctx, UUID).flavor
            for name in unset:
                delattr(spec.flavor, name)
                spec.flavor._changed_fields.discard(name)
        _refused(spec.create, where)
        assert _rows(db.api_url) == []

    @pytest.mark.parametrize(
        ("project_id", "reason"),
        [
            ("p" * 256, "longer than 255"),
            ("project\x00a", "NUL"),
        ],
    )
    def test_project_id_the_column_cannot_hold(
        self, db: Env, project_id: str, reason: str
    ) -> None:
        spec = new_spec(db.ctx, UUID, project_id=project_id)
        _refused(spec.create, reason)
        assert _rows(db.api_url) == []
        spec = new_spec(db.ctx, UUID)
        spec.create()
        before = _rows(db.api_url)
        spec.project_id = project_id
        _refused(spec.save, reason)
        assert _rows(db.api_url) == before

    def test_a_project_id_of_255_characters_is_fine(self, db: Env) -> None:
        new_spec(db.ctx, UUID, project_id="p" * 255).create()
        assert _rows(db.api_url)[0][1] == "p" * 255

    def test_strings_that_are_not_unicode(self, db: Env) -> None:
        # A lone surrogate: no column takes it, and JSON would pair two of
        # them into another character on the next save.
        spec = new_spec(db.ctx, UUID)
        spec.scheduler_hints["group"] = ["a\ud800\udcff\udc00"]
        _refused(spec.create, "lone surrogates")
        spec = new_spec(db.ctx, UUID)
        spec.flavor.extra_specs["key-\udfff"] = "v"
        _refused(spec.create, "valid Unicode")
        assert _rows(db.api_url) == []
        with pytest.raises(ValueError, match="lone surrogates"):
            new_spec(db.ctx, UUID, project_id="project-\ud800")

    def test_wrong_types_changed_in_place(self, db: Env) -> None:
        spec = new_spec(db.ctx, UUID)
        spec.create()
        before = _rows(db.api_url)
        spec.flavor.extra_specs["hw:cpu_policy"] = 1  # type: ignore[assignment]
        _refused(spec.save, "spec.flavor.extra_specs")
        assert _rows(db.api_url) == before

    def test_over_the_size_limit(self, db: Env) -> None:
        ctx = db.context_with(request_spec={"max_document_bytes": 4096})
        spec = new_spec(ctx, UUID)
        spec.scheduler_hints = {"big": ["x" * 5000]}
        _refused(spec.create, "over the limit of 4096")
        assert _rows(db.api_url) == []


#: The version string as the current code writes it.
CURRENT = f'"{objects.RequestSpec.VERSION}"'


class TestStoredDocumentsAreChecked:
    """Rows edited behind reqspec's back are refused on read, with the
    instance and the database named."""

    @pytest.fixture
    def good(self, db: Env) -> str:
        return new_spec(db.ctx, UUID).to_document()

    @pytest.mark.parametrize(
        ("edit", "reason"),
        [
            (lambda t: t[: len(t) // 2], "not a valid JSON document"),
            (lambda t: t.replace(CURRENT, '"1.99"'), "newer than"),
            (lambda t: t.replace(CURRENT, '"0.3"'), "unknown document"),
            (lambda t: t.replace(CURRENT, '"one"'), "MAJOR.MINOR"),
            (lambda t: t.replace('"vcpus":1', '"vcpus":"1"'), "vcpus"),
            (lambda t: t.replace(',"vcpus":1', ""), "vcpus: required"),
            (lambda t: t.replace("}", ',"x":1}', 1), "x: not a stored"),
        ],
    )
    def test_hand_edited(
        self, db: Env, good: str, edit: Callable[[str], str], reason: str
    ) -> None:
        assert edit(good) != good
        for ctx in (db.ctx, db.cell_context(1)):
            url = ctx.cell.database_connection if ctx.cell else db.api_url
            _insert(url, edit(good))
            message = _refused(
                lambda c=ctx: objects.RequestSpec.get_by_instance_uuid(
                    c, UUID
                ),
                reason,
            )
            assert UUID in message
            assert ctx.database in message
            _refused(
                lambda c=ctx: objects.RequestSpec.get_by_instance_uuids(
                    c, [UUID]
                ),
                reason,
            )

    def test_document_and_row_disagree_on_the_project(
        self, db: Env, good: str
    ) -> None:
        # The row says project-b (what isolation filters on); the document
        # says project-a.
        _insert(db.api_url, good, project_id="project-b")
        message = _refused(
            lambda: objects.RequestSpec.get_by_instance_uuid(db.ctx, UUID),
            "project_id does not match",
        )
        assert "project-b" not in message

    def test_over_the_size_limit_on_read(self, db: Env, good: str) -> None:
        doc = json.loads(good)
        doc["spec"]["scheduler_hints"] = {"big": ["x" * 5000]}
        _insert(db.api_url, json.dumps(doc))
        ctx = db.context_with(request_spec={"max_document_bytes": 4096})
        _refused(
            lambda: objects.RequestSpec.get_by_instance_uuid(ctx, UUID),
            "over the limit of 4096",
        )

    def test_non_admin_reads_are_checked_too(self, db: Env, good: str) -> None:
        _insert(db.api_url, good.replace('"vcpus":1', '"vcpus":-1'))
        user = context.RequestContext(
            project_id="project-a", is_admin=False, overwrite=False
        )
        _refused(
            lambda: objects.RequestSpec.get_by_instance_uuid(user, UUID),
            "non-negative",
        )


class TestADamagedRowIsNamedAndTheOthersLoad:
    """Issue 13: invalid UTF-8 in a row on SQLite raised ``DatabaseError``
    naming nothing, and broke every get-many and ``iter_all`` that met
    it."""

    @staticmethod
    def _rows(ctx: context.RequestContext) -> tuple[list[str], str]:
        uuids = []
        for _ in range(3):
            spec = specs.make_spec(ctx)
            specs.store_old_row(ctx, spec, "1.0")
            uuids.append(spec.instance_uuid)
        specs.damage_row(ctx, uuids[1])
        return uuids, uuids[1]

    def test_each_read_names_the_damaged_instance(self, db: Env) -> None:
        for ctx in (db.ctx, db.cell_context(0)):
            self._each_read_names_it(db.backend, ctx)

    def _each_read_names_it(
        self, backend: str, ctx: context.RequestContext
    ) -> None:
        uuids, bad = self._rows(ctx)
        reads: list[Callable[[], object]] = [
            lambda: objects.RequestSpec.get_by_instance_uuid(ctx, bad),
            lambda: objects.RequestSpec.get_by_instance_uuids(ctx, uuids),
            lambda: list(objects.RequestSpec.iter_all(ctx, batch_size=2)),
        ]
        for read in reads:
            message = _refused(read, f"stored spec of instance {bad}")
            assert ctx.database in message
            if backend == "sqlite":
                assert "not valid UTF-8 (byte 0xff" in message
        good = [u for u in uuids if u != bad]
        loaded = objects.RequestSpec.get_by_instance_uuids(ctx, good)
        assert [s.instance_uuid for s in loaded] == good

    def test_the_others_load_around_it(self, db: Env) -> None:
        for ctx in (db.ctx, db.cell_context(0)):
            self._the_others_load(ctx)

    def _the_others_load(self, ctx: context.RequestContext) -> None:
        uuids, bad = self._rows(ctx)
        good = [u for u in uuids if u != bad]
        met: list[tuple[str, str]] = []

        def note(uuid: str, err: exception.InvalidRequestSpec) -> None:
            met.append((uuid, err.message))

        many = objects.RequestSpec.get_by_instance_uuids(
            ctx, uuids, on_damaged=note
        )
        assert [s.instance_uuid for s in many] == good
        every = objects.RequestSpec.iter_all(ctx, 1, on_damaged=note)
        assert sorted(s.instance_uuid for s in every) == sorted(good)
        assert [uuid for uuid, _ in met] == [bad, bad]
        assert all(bad in message for _, message in met)


@pytest.mark.parametrize(
    "added, where",
    [
        ('"num_instances":null', "spec.num_instances: must not be null"),
        ('"is_bfv":null', "spec.is_bfv: must not be null"),
        ('"security_groups":null', "spec.security_groups: must not be null"),
        ('"scheduler_hints":null', "spec: duplicate key 'scheduler_hints'"),
        ('"project_id":"project-b"', "spec: duplicate key 'project_id'"),
    ],
)
def test_a_document_no_encoder_writes_is_refused(
    db: Env, added: str, where: str
) -> None:
    """Issue 13: null in a non-nullable field loaded as the default, and a
    duplicate key as "last one wins"."""
    text = new_spec(db.ctx, UUID).to_document()
    _insert(
        db.api_url, text.replace('{"spec":{', '{"spec":{' + added + ",", 1)
    )
    message = _refused(
        lambda: objects.RequestSpec.get_by_instance_uuid(db.ctx, UUID), where
    )
    assert f"stored spec of instance {UUID}" in message


@pytest.mark.parametrize("where", ["extra_specs", "vcpus"])
def test_nested_nulls_and_duplicates_are_refused(db: Env, where: str) -> None:
    spec = new_spec(db.ctx, UUID)
    text = spec.to_document()
    if where == "extra_specs":
        damaged = text.replace('"flavor":{', '"flavor":{"extra_specs":null,')
        reason = "spec.flavor.extra_specs: must not be null"
    else:
        damaged = text.replace('"flavor":{', '"flavor":{"vcpus":64,')
        reason = "spec.flavor: duplicate key 'vcpus'"
    _insert(db.api_url, damaged)
    _refused(
        lambda: objects.RequestSpec.get_by_instance_uuid(db.ctx, UUID), reason
    )
