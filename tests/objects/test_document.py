"""The stored document: what goes in, what never does, what is refused."""

import copy
import json

from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
import pytest

from reqspec import conf
from reqspec import exception
from reqspec import objects
from reqspec.objects import document
from tests import strategies
from tests.fixtures import document_format
from tests.fixtures import generic_document
from tests.fixtures import specs

FORMAT = document_format.FORMAT

CONF = conf.CONF


def _doc(spec: objects.RequestSpec) -> dict:
    return json.loads(FORMAT.encode(spec))


def _per_move_values() -> dict[str, object]:
    return {
        "ignore_hosts": ["compute-1"],
        "requested_destination": objects.Destination(host="compute-2"),
        "retry": objects.SchedulerRetries(
            num_attempts=2, hosts=[["compute-1", "node-1"]]
        ),
        "requested_resources": [objects.RequestGroup(resources={"VCPU": 2})],
        "request_level_params": objects.RequestLevelParams(
            root_required={"COMPUTE_STATUS_ENABLED"}
        ),
        "requested_networks": [objects.NetworkRequest(network_id="n1")],
        "network_metadata": objects.NetworkMetadata(physnets={"physnet1"}),
    }


class TestWhatIsStored:
    def test_realistic_spec_round_trips(self) -> None:
        spec = specs.realistic_spec()
        loaded = FORMAT.decode(FORMAT.encode(spec))
        assert loaded == strategies.stored_view(spec)
        assert loaded.image.properties.hw_cpu_cores == 2
        assert loaded.image.properties.traits_required == ["CUSTOM_TRUSTED"]
        assert loaded.flavor.extra_specs["hw:cpu_policy"] == "shared"

    def test_envelope_holds_version_and_persistent_fields_only(self) -> None:
        doc = _doc(specs.realistic_spec())
        assert set(doc) == {"spec", "version"}
        assert doc["version"] == objects.RequestSpec.VERSION
        assert set(doc["spec"]) <= set(objects.RequestSpec.PERSISTENT_FIELDS)

    def test_no_change_tracking_or_object_wrappers(self) -> None:
        text = FORMAT.encode(specs.realistic_spec())
        assert "changes" not in text
        assert "reqspec_object" not in text
        assert "nova_object" not in text

    @pytest.mark.parametrize("name", objects.RequestSpec.PER_MOVE_FIELDS)
    def test_each_per_move_field_never_reaches_the_document(
        self, name: str
    ) -> None:
        spec = specs.realistic_spec()
        plain = FORMAT.encode(spec)
        setattr(spec, name, _per_move_values()[name])
        assert FORMAT.encode(spec) == plain
        assert name not in _doc(spec)["spec"]

    @pytest.mark.parametrize(
        "name, empty",
        [
            ("ignore_hosts", []),
            ("requested_resources", []),
            ("requested_networks", []),
            ("ignore_hosts", None),
            ("requested_destination", None),
            ("retry", None),
        ],
    )
    def test_empty_per_move_values_are_absent_too(
        self, name: str, empty: object
    ) -> None:
        spec = specs.realistic_spec()
        setattr(spec, name, empty)
        assert name not in _doc(spec)["spec"]

    def test_row_fields_are_columns_not_document(self) -> None:
        spec = specs.realistic_spec()
        spec.id = 12
        spec.generation = 7
        doc = _doc(spec)["spec"]
        assert "id" not in doc and "generation" not in doc

    def test_server_group_is_stored_by_uuid_policy_and_rules(self) -> None:
        group = _doc(specs.realistic_spec())["spec"]["instance_group"]
        assert group == {
            "uuid": specs.UUIDS[1],
            "policy": "anti-affinity",
            "rules": {"max_server_per_host": "1"},
        }

    def test_loaded_group_has_no_members_to_go_stale(self) -> None:
        loaded = FORMAT.decode(FORMAT.encode(specs.realistic_spec()))
        group = loaded.instance_group
        assert not group.obj_attr_is_set("members")
        with pytest.raises(exception.ObjectActionError):
            group.members  # noqa: B018

    @settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
    @given(strategies.request_specs(per_move=True))
    def test_generated_specs_keep_per_move_fields_out(
        self, spec: objects.RequestSpec
    ) -> None:
        stored = set(_doc(spec)["spec"])
        assert not stored & set(objects.RequestSpec.PER_MOVE_FIELDS)
        assert not stored & set(objects.RequestSpec.ROW_FIELDS)


class TestDeterministic:
    def test_same_spec_same_bytes(self) -> None:
        spec = specs.realistic_spec()
        assert FORMAT.encode(spec) == FORMAT.encode(copy.deepcopy(spec))

    def test_insertion_order_does_not_matter(self) -> None:
        one = specs.realistic_spec()
        two = specs.realistic_spec()
        two.flavor.extra_specs = dict(
            reversed(list(one.flavor.extra_specs.items()))
        )
        two.scheduler_hints = dict(reversed(list(one.scheduler_hints.items())))
        assert FORMAT.encode(one) == FORMAT.encode(two)

    def test_sets_are_written_sorted(self) -> None:
        spec = specs.realistic_spec()
        cell = objects.InstanceNUMACell(id=0, memory=1024)
        cell.cpuset = {5, 1, 3}
        spec.numa_topology = objects.InstanceNUMATopology(cells=[cell])
        stored = _doc(spec)["spec"]["numa_topology"]["cells"][0]
        assert stored["cpuset"] == [1, 3, 5]

    def test_compact_with_sorted_keys(self) -> None:
        text = FORMAT.encode(specs.realistic_spec())
        assert ": " not in text and ", " not in text
        assert text == json.dumps(
            json.loads(text), sort_keys=True, separators=(",", ":")
        )

    @settings(max_examples=500)
    @given(
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers(-(2**63), 2**63 - 1)
            # Every code point but lone surrogates, which fields refuse.
            | st.text(st.characters(exclude_categories=["Cs"])),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.text(max_size=8), inner, max_size=4)
            ),
            max_leaves=12,
        )
    )
    def test_text_is_the_standard_librarys(self, value: object) -> None:
        # orjson writes the text; the format is json's: ASCII with \u
        # escapes (astral characters as surrogate pairs), DEL escaped.
        body = {"spec": value, "version": "1.2"}
        expected = json.dumps(body, sort_keys=True, separators=(",", ":"))
        assert document._dumps(body) == expected

    @settings(max_examples=300)
    @given(st.floats(allow_nan=False, allow_infinity=False, min_value=0))
    def test_floats_are_written_as_python_writes_them(
        self, value: float
    ) -> None:
        spec = specs.realistic_spec()
        spec.flavor.rxtx_factor = value
        text = FORMAT.encode(spec)
        assert f'"rxtx_factor":{value!r}' in text
        assert text == generic_document.encode_via_primitive(spec)

    def test_integers_past_64_bits_are_refused_both_ways(self) -> None:
        spec = specs.realistic_spec()
        text = FORMAT.encode(spec)
        spec.flavor.memory_mb = 2**64
        with pytest.raises(exception.InvalidRequestSpec, match="64-bit"):
            FORMAT.encode(spec)
        with pytest.raises(exception.InvalidRequestSpec):
            generic_document.encode_via_primitive(spec)
        huge = text.replace('"memory_mb":8192', f'"memory_mb":{2**64}')
        assert huge != text
        with pytest.raises(exception.InvalidRequestSpec, match="memory_mb"):
            FORMAT.decode(huge)

    @settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
    @given(strategies.request_specs())
    def test_decode_then_encode_is_the_identity_on_bytes(
        self, spec: objects.RequestSpec
    ) -> None:
        text = FORMAT.encode(spec)
        assert FORMAT.encode(FORMAT.decode(text)) == text


class TestRoundTrip:
    @settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
    @given(strategies.full_request_specs())
    def test_every_field_of_every_object_round_trips(
        self, spec: objects.RequestSpec
    ) -> None:
        loaded = FORMAT.decode(FORMAT.encode(spec))
        assert loaded == strategies.stored_view(spec)
        for name in objects.RequestSpec.PERSISTENT_FIELDS:
            assert loaded.obj_attr_is_set(name), name

    @settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
    @given(strategies.request_specs(per_move=True))
    def test_arbitrary_specs_round_trip(
        self, spec: objects.RequestSpec
    ) -> None:
        loaded = FORMAT.decode(FORMAT.encode(spec))
        assert loaded == strategies.stored_view(spec)
        assert not loaded.obj_what_changed()


def _mutated(change: dict) -> str:
    doc = _doc(specs.realistic_spec())
    body = doc["spec"]
    for path, value in change.items():
        *parents, last = path.split(".")
        target = body
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        key = int(last) if last.isdigit() else last
        if value is _DELETE:
            del target[key]
        else:
            target[key] = value
    return json.dumps(doc)


_DELETE = object()


class TestRefused:
    @pytest.mark.parametrize(
        "text, reason",
        [
            ("", "not a valid JSON"),
            ("{", "not a valid JSON"),
            ('{"spec": {}, "version": "1.2"', "not a valid JSON"),
            ("[]", "expected a JSON object"),
            ("null", "expected a JSON object"),
            ('{"spec": {}}', "exactly the keys"),
            ('{"spec": {}, "version": "1.2", "x": 1}', "exactly the keys"),
            ('{"spec": [], "version": "1.2"}', "spec: expected an object"),
            ('{"spec": {}, "version": 1.2}', "version: expected a string"),
            ('{"spec": {}, "version": "1"}', "MAJOR.MINOR"),
            ('{"spec": {}, "version": "1.2.3"}', "MAJOR.MINOR"),
            ('{"spec": {}, "version": "01.2"}', "MAJOR.MINOR"),
            ('{"spec": {}, "version": "x.y"}', "MAJOR.MINOR"),
            ('{"spec": {}, "version": "2.0"}', "newer"),
            ('{"spec": {}, "version": "1.99"}', "newer"),
            ('{"spec": {}, "version": "0.9"}', "unknown document version"),
        ],
    )
    def test_bad_envelopes(self, text: str, reason: str) -> None:
        with pytest.raises(exception.InvalidRequestSpec, match=reason):
            FORMAT.decode(text)

    def test_a_bad_list_item_is_named_by_its_index(self) -> None:
        spec = specs.realistic_spec()
        spec.security_groups = [
            objects.SecurityGroup(name="default"),
            objects.SecurityGroup(uuid="5b8e2c9a-1f0d-4e6b-9c3a-7d2f1e0b8a64"),
        ]
        with pytest.raises(exception.InvalidRequestSpec) as raised:
            FORMAT.encode(spec)
        assert raised.value.message.endswith(
            ": spec.security_groups.1.name: required field is missing"
        )

    def test_truncated_document(self) -> None:
        text = FORMAT.encode(specs.realistic_spec())
        for cut in (1, len(text) // 2, len(text) - 1):
            with pytest.raises(exception.InvalidRequestSpec):
                FORMAT.decode(text[:cut])

    def test_invalid_utf8(self) -> None:
        text = FORMAT.encode(specs.realistic_spec()).encode()
        with pytest.raises(exception.InvalidRequestSpec):
            FORMAT.decode(text.replace(b"ubuntu", b"\xff\xfe\xfd"))

    def test_deep_nesting(self) -> None:
        deep = "[" * 100000 + "]" * 100000
        with pytest.raises(exception.InvalidRequestSpec):
            FORMAT.decode('{"spec": ' + deep + ', "version": "1.2"}')

    @pytest.mark.parametrize(
        "change, where",
        [
            ({"flavor.vcpus": "4"}, "spec.flavor.vcpus"),
            ({"flavor.vcpus": True}, "spec.flavor.vcpus"),
            ({"flavor.vcpus": -1}, "spec.flavor.vcpus"),
            ({"flavor.vcpus": 4.0}, "spec.flavor.vcpus"),
            ({"flavor.name": 5}, "spec.flavor.name"),
            ({"flavor.extra_specs": ["a"]}, "spec.flavor.extra_specs"),
            ({"flavor.extra_specs.hw:x": 1}, "spec.flavor.extra_specs"),
            ({"flavor.rxtx_factor": "1.0"}, "spec.flavor.rxtx_factor"),
            ({"instance_uuid": "not-a-uuid"}, "spec.instance_uuid"),
            ({"instance_uuid": 12}, "spec.instance_uuid"),
            ({"image.id": "1234"}, "spec.image.id"),
            (
                {"image.properties.hw_architecture": "vax"},
                "spec.image.properties.hw_architecture",
            ),
            (
                {"image.properties.hw_cpu_cores": "2"},
                "spec.image.properties.hw_cpu_cores",
            ),
            ({"instance_group.policy": "clumped"}, "spec.instance_group"),
            ({"scheduler_hints.group": "x"}, "spec.scheduler_hints"),
            ({"security_groups": {"name": "x"}}, "spec.security_groups"),
            ({"security_groups.0": "default"}, "spec.security_groups.0"),
            ({"num_instances": None}, "spec.num_instances: must not be null"),
            ({"flavor": None}, "spec.flavor"),
            ({"flavor": "m1.large"}, "spec.flavor"),
        ],
    )
    def test_wrong_types_name_the_path(self, change: dict, where: str) -> None:
        text = _mutated(change)
        with pytest.raises(exception.InvalidRequestSpec) as info:
            FORMAT.decode(text)
        assert where in str(info.value)

    @pytest.mark.parametrize(
        "change, where",
        [
            ({"flavor": _DELETE}, "spec.flavor: required"),
            ({"instance_uuid": _DELETE}, "spec.instance_uuid: required"),
            ({"flavor.vcpus": _DELETE}, "spec.flavor.vcpus: required"),
            ({"instance_group.uuid": _DELETE}, "spec.instance_group.uuid"),
        ],
    )
    def test_missing_required_fields(self, change: dict, where: str) -> None:
        with pytest.raises(exception.InvalidRequestSpec, match=where):
            FORMAT.decode(_mutated(change))

    @pytest.mark.parametrize(
        "change, where",
        [
            ({"surprise": 1}, "spec.surprise: not a stored field"),
            ({"retry": None}, "spec.retry: not a stored field"),
            ({"id": 3}, "spec.id: not a stored field"),
            ({"flavor.colour": "red"}, "spec.flavor.colour"),
            (
                {"instance_group.members": []},
                "spec.instance_group.members: not a stored field",
            ),
        ],
    )
    def test_unknown_or_unstored_fields(
        self, change: dict, where: str
    ) -> None:
        with pytest.raises(exception.InvalidRequestSpec, match=where):
            FORMAT.decode(_mutated(change))

    def test_size_limit_on_read(self) -> None:
        text = FORMAT.encode(specs.realistic_spec())
        assert len(text) > 1024
        with pytest.raises(
            exception.InvalidRequestSpec, match="over the limit of 1024"
        ):
            FORMAT.decode(text, 1024)

    def test_size_limit_on_write(self) -> None:
        spec = specs.realistic_spec()
        spec.flavor.extra_specs = {"big": "x" * (1024 * 1024)}
        with pytest.raises(exception.InvalidRequestSpec, match="1048576"):
            FORMAT.encode(spec)

    def test_a_non_ascii_document_is_measured_in_bytes(self) -> None:
        text = FORMAT.encode(specs.realistic_spec())
        text = text.replace("az-east-1", "é" * 300)
        # Fits in characters, not in bytes.
        assert len(text.encode()) > len(text)
        with pytest.raises(exception.InvalidRequestSpec, match="over the"):
            FORMAT.decode(text, len(text))

    def test_in_place_mutation_with_a_bad_value_is_not_written(self) -> None:
        spec = specs.realistic_spec()
        spec.force_hosts = ["compute-1"]
        spec.force_hosts.append(5)  # lists do not check on mutation
        with pytest.raises(exception.InvalidRequestSpec, match="force_hosts"):
            FORMAT.encode(spec)

    def test_non_text_input(self) -> None:
        with pytest.raises(exception.InvalidRequestSpec):
            FORMAT.decode(12)  # type: ignore[arg-type]


def _refusals(text: str) -> list[str]:
    """The message of each decoding path; both must refuse."""
    messages = []
    for decode in (FORMAT.decode, generic_document.decode_via_primitive):
        with pytest.raises(exception.InvalidRequestSpec) as info:
            decode(text)
        messages.append(str(info.value))
    return messages


class TestStrict:
    """Issue 13: a document the encoder could never have written is damage,
    refused by both paths with the same message naming the path."""

    @pytest.mark.parametrize(
        "path",
        [
            "num_instances",
            "is_bfv",
            "scheduler_hints",
            "security_groups",
            "flavor.extra_specs",
            "flavor.vcpus",
            "instance_group.rules",
            "image.properties",
        ],
    )
    def test_null_in_a_non_nullable_field(self, path: str) -> None:
        fast, generic = _refusals(_mutated({path: None}))
        assert fast == generic
        assert f"spec.{path}: must not be null" in fast

    def test_null_in_a_nullable_field_is_still_null(self) -> None:
        assert FORMAT.decode(_mutated({"availability_zone": None})) == (
            generic_document.decode_via_primitive(
                _mutated({"availability_zone": None})
            )
        )

    @pytest.mark.parametrize(
        "anchor, duplicate, where",
        [
            ('{"spec":{', '"is_bfv":true,', "spec: duplicate key 'is_bfv'"),
            (
                '"flavor":{',
                '"vcpus":64,',
                "spec.flavor: duplicate key 'vcpus'",
            ),
            (
                '"extra_specs":{',
                '"hw:cpu_policy":"shared",',
                "spec.flavor.extra_specs: duplicate key 'hw:cpu_policy'",
            ),
            ('{"spec":{', '"version":"1.0","x":{', None),
            (
                '{"spec":{',
                '"project_id":"other",',
                "spec: duplicate key 'project_id'",
            ),
        ],
    )
    def test_duplicate_keys(
        self, anchor: str, duplicate: str, where: str | None
    ) -> None:
        text = specs.realistic_spec().to_document()
        if where is None:
            # A second "version" in the envelope.
            text = text[:-1] + ',"version":"1.3"}'
            where = "the document: duplicate key 'version'"
        else:
            assert anchor in text
            text = text.replace(anchor, anchor + duplicate, 1)
        fast, generic = _refusals(text)
        assert fast == generic
        assert where in fast

    @pytest.mark.parametrize(
        "rewrite",
        [
            lambda d: json.dumps(d),  # spaces, keys in insertion order
            lambda d: json.dumps(d, indent=2, sort_keys=True),
            lambda d: json.dumps(d, ensure_ascii=False),
            lambda d: json.dumps(d).encode(),
        ],
    )
    def test_other_spellings_without_duplicates_still_load(
        self, rewrite: object
    ) -> None:
        spec = specs.realistic_spec()
        spec.availability_zone = "z\u00fcrich\x7f"
        doc = json.loads(spec.to_document())
        text = rewrite(doc)  # type: ignore[operator]
        assert FORMAT.decode(text) == FORMAT.decode(spec.to_document())
        assert generic_document.decode_via_primitive(text) == FORMAT.decode(
            text
        )
