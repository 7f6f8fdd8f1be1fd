"""Object versions: pinned fingerprints, backports, older documents.

When a test here fails after a field change, the object needs a version
bump: see doc/source/adding-a-field.rst (bump VERSION with a history line,
obj_make_compatible, a document UPGRADES step if a persistent field changed,
then update the hashes below).
"""

import json

from oslo_versionedobjects import base as ovo_base
from oslo_versionedobjects import exception as ovo_exc
from oslo_versionedobjects import fixture
import pytest

from reqspec import exception
from reqspec import objects
from reqspec.objects import base
from reqspec.objects import fields
from tests.fixtures import document_format
from tests.fixtures import generic_document
from tests.fixtures import specs

FORMAT = document_format.FORMAT

EXPECTED_HASHES = {
    "CellMapping": "1.0-e52c3526d97f10e9d2a919e95683122d",
    "ComputeNode": "1.0-d90e79c30bb285aedcee0dfe0294c957",
    "Destination": "1.1-7e93ebbe4e4c9877b80c1f5250533061",
    "Flavor": "1.0-5e5dd53d4ff49ace01eb0677a4689c7f",
    "ImageMeta": "1.0-9f2736812f8a75f2c9e92acde0e6d56e",
    "ImageMetaProps": "1.0-3008fac03376942d0e449431b56ef052",
    "Instance": "1.0-783ed8fea182e8c401babffc40618fd9",
    "InstanceGroup": "1.0-dd6e337eb51ace14161e49c0baf48ce4",
    "InstanceMapping": "1.0-2880623ce798ee4691dcb027d8c17db3",
    "InstanceNUMACell": "1.1-1368657789476cb90d001d3812378a33",
    "InstanceNUMATopology": "1.1-d8d75a3693f9ddcab546e2371909a653",
    "InstancePCIRequest": "1.0-2428faf80f7b6631fbe6d4fffca3d64b",
    "InstancePCIRequests": "1.0-49d99f84ae15924b23495e0ceef8bc91",
    "NUMATopologyLimits": "1.0-21b9e121c03234a48b6e62d520410d44",
    "NetworkMetadata": "1.0-f02fd70917c5aaa6de7edf5c72fb4224",
    "NetworkRequest": "1.0-d8ae7566ff10433aaeeb973f29fac259",
    "RequestGroup": "1.0-46b2490449387d492144130db4b1d3fc",
    "RequestLevelParams": "1.0-23b8c8208d589987fcd94c5d3e890793",
    "RequestSpec": "1.3-17ad35eeb64c7f4becbfcc7a40d91b1d",
    "SchedulerLimits": "1.0-6d211866237f6f62833428ade0318107",
    "SchedulerRetries": "1.0-065b698c9a1b10c47f6ead9e332fddac",
    "SecurityGroup": "1.0-d265d60a1b5800201bace6f28a2d61ef",
}

# Every parent -> child version, for object AND list-of-object fields (ovo's
# own tree only follows the former).
EXPECTED_TREE = {
    "Destination": {"CellMapping": "1.0"},
    "ImageMeta": {"ImageMetaProps": "1.0"},
    "Instance": {"Flavor": "1.0"},
    "InstanceMapping": {"CellMapping": "1.0"},
    "InstanceNUMATopology": {"InstanceNUMACell": "1.1"},
    "InstancePCIRequests": {"InstancePCIRequest": "1.0"},
    "RequestSpec": {
        "Destination": "1.1",
        "Flavor": "1.0",
        "ImageMeta": "1.0",
        "InstanceGroup": "1.0",
        "InstanceNUMATopology": "1.1",
        "InstancePCIRequests": "1.0",
        "NetworkMetadata": "1.0",
        "NetworkRequest": "1.0",
        "RequestGroup": "1.0",
        "RequestLevelParams": "1.0",
        "SchedulerLimits": "1.0",
        "SchedulerRetries": "1.0",
        "SecurityGroup": "1.0",
    },
    "SchedulerLimits": {"NUMATopologyLimits": "1.0"},
}


def _classes() -> dict[str, list[type[ovo_base.VersionedObject]]]:
    registered = base.ReqspecObjectRegistry.obj_classes()
    return {
        name: classes
        for name, classes in registered.items()
        if classes[0].OBJ_PROJECT_NAMESPACE == "reqspec"
    }


def test_fingerprints_are_pinned() -> None:
    checker = fixture.ObjectVersionChecker(_classes())
    expected, actual = checker.test_hashes(EXPECTED_HASHES)
    assert expected == actual, (
        "An object changed: bump its VERSION, then update EXPECTED_HASHES"
    )


def test_every_object_is_pinned() -> None:
    assert set(_classes()) == set(EXPECTED_HASHES)


def test_fingerprint_sees_a_field_change() -> None:
    # The check above is only worth something if a change moves the hash.
    checker = fixture.ObjectVersionChecker(_classes())
    before = checker.get_hashes()["Flavor"]
    flavor_fields = objects.Flavor.fields
    objects.Flavor.fields = {
        **flavor_fields,
        "swap": fields.IntegerField(default=0),
    }
    try:
        after = checker.get_hashes()["Flavor"]
    finally:
        objects.Flavor.fields = flavor_fields
    assert before != after


def _tree() -> dict[str, dict[str, str]]:
    tree: dict[str, dict[str, str]] = {}
    for name, classes in _classes().items():
        children = {}
        for field in classes[0].fields.values():
            if fields.is_object_field(field) or fields.is_object_list_field(
                field
            ):
                child = fields.object_class(field)
                children[child.obj_name()] = child.VERSION
        if children:
            tree[name] = children
    return tree


def test_child_versions_are_pinned() -> None:
    assert _tree() == EXPECTED_TREE


def test_every_object_field_has_a_backport_rule() -> None:
    for name, classes in _classes().items():
        cls = classes[0]
        for field_name, field in cls.fields.items():
            if fields.is_object_field(field) or fields.is_object_list_field(
                field
            ):
                assert field_name in cls.obj_relationships, (
                    f"{name}.{field_name} has no obj_relationships entry"
                )


def test_relationship_tables_end_at_current_child_versions() -> None:
    for classes in _classes().values():
        cls = classes[0]
        for field_name, versions in cls.obj_relationships.items():
            child = fields.object_class(cls.fields[field_name])
            assert versions[-1][1] == child.VERSION, (cls, field_name)


@pytest.mark.parametrize("use_manifest", [False, True])
def test_compatibility_routines(use_manifest: bool) -> None:
    checker = fixture.ObjectVersionChecker(_classes())
    checker.test_compatibility_routines(use_manifest=use_manifest)


def _data(primitive: dict[str, object]) -> dict[str, object]:
    return primitive["reqspec_object.data"]  # type: ignore[return-value]


def _spec_with_every_version_field() -> objects.RequestSpec:
    spec = specs.realistic_spec()
    spec.is_bfv = True
    spec.requested_destination = objects.Destination(
        host="compute-9", allow_cross_cell_move=True
    )
    spec.requested_resources = [objects.RequestGroup(resources={"VCPU": 4})]
    spec.request_level_params = objects.RequestLevelParams()
    spec.requested_networks = [objects.NetworkRequest(network_id="net")]
    spec.network_metadata = objects.NetworkMetadata(tunneled=True)
    spec.numa_topology = objects.InstanceNUMATopology(
        cells=[
            objects.InstanceNUMACell(
                id=0, cpuset={0, 1}, memory=2048, pagesize=2048
            )
        ]
    )
    return spec


def _numa_cell(data: dict[str, object]) -> dict[str, object]:
    topology = data["numa_topology"]
    cell = _data(topology)["cells"][0]  # type: ignore[arg-type,index]
    return cell  # type: ignore[no-any-return]


def test_backport_to_1_2_keeps_cells_without_a_page_size_policy() -> None:
    spec = _spec_with_every_version_field()
    spec.numa_topology.cells[0].pagesize_policy = None  # set, but no policy
    data = _data(spec.obj_to_primitive("1.2"))
    cell = _numa_cell(data)
    assert cell["reqspec_object.version"] == "1.0"
    assert "pagesize_policy" not in _data(cell)
    assert _data(cell)["pagesize"] == 2048
    # The 1.2 fields stay.
    assert "requested_resources" in data


def test_backport_to_1_2_refuses_to_drop_a_page_size_policy() -> None:
    # A 1.2 reader would see no page size constraint at all: refuse
    # rather than turn "large pages" into "any memory".
    spec = _spec_with_every_version_field()
    spec.numa_topology.cells[0].pagesize = None
    spec.numa_topology.cells[0].pagesize_policy = "large"
    with pytest.raises(ovo_exc.ObjectActionError, match="'large'"):
        spec.obj_to_primitive("1.2")
    with pytest.raises(exception.InvalidRequestSpec, match="'large'"):
        generic_document.encode_via_primitive(spec, target_version="1.2")


def test_backport_to_1_1_drops_the_1_2_fields() -> None:
    primitive = _spec_with_every_version_field().obj_to_primitive("1.1")
    data = _data(primitive)
    for name in (
        "requested_resources",
        "request_level_params",
        "requested_networks",
        "network_metadata",
    ):
        assert name not in data
    assert data["is_bfv"] is True
    destination = data["requested_destination"]
    assert destination["reqspec_object.version"] == "1.0"  # type: ignore[index]
    assert "allow_cross_cell_move" not in _data(destination)  # type: ignore[arg-type]


def test_backport_to_1_0_also_drops_the_1_1_fields() -> None:
    data = _data(_spec_with_every_version_field().obj_to_primitive("1.0"))
    assert "security_groups" not in data
    assert "is_bfv" not in data
    assert data["availability_zone"] == "az-east-1"


def test_backported_primitive_loads_in_current_code() -> None:
    # What an older peer sends back must still be readable.
    primitive = _spec_with_every_version_field().obj_to_primitive("1.0")
    spec = objects.RequestSpec.obj_from_primitive(primitive)
    assert spec.flavor.vcpus == 4
    assert spec.is_bfv is False  # the default, as 1.0 had no such field


def test_documents_written_at_each_older_version_still_load() -> None:
    original = specs.realistic_spec()
    original.is_bfv = True
    original.numa_topology = objects.InstanceNUMATopology(
        cells=[objects.InstanceNUMACell(id=0, memory=1024, pagesize=2048)]
    )
    for version in ("1.0", "1.1", "1.2"):
        text = generic_document.encode_via_primitive(
            original, target_version=version
        )
        assert json.loads(text)["version"] == version
        loaded = FORMAT.decode(text)
        assert loaded.flavor == original.flavor
        assert loaded.numa_topology == original.numa_topology
        assert loaded.availability_zone == original.availability_zone
        if version == "1.0":
            # 1.0 could not record these; they read as their defaults.
            assert loaded.is_bfv is False
            assert loaded.security_groups == []
        else:
            assert loaded.is_bfv is True
            assert [g.name for g in loaded.security_groups] == [
                "default",
                "web",
            ]


# Documents exactly as an older reqspec wrote them. Never regenerate these:
# they stand for rows already sitting in databases.
FROZEN_1_0 = (
    '{"spec":{"availability_zone":"az1","flavor":{"ephemeral_gb":0,'
    '"extra_specs":{"hw:cpu_policy":"dedicated"},"flavorid":"42",'
    '"memory_mb":4096,"name":"m1.medium","root_gb":40,"swap":0,"vcpus":2},'
    '"force_hosts":null,"force_nodes":null,"image":null,'
    '"instance_group":{"policy":"affinity",'
    '"uuid":"00000000-0000-0000-0000-000000000002"},'
    '"instance_uuid":"00000000-0000-0000-0000-000000000001",'
    '"limits":null,"num_instances":1,"numa_topology":null,'
    '"pci_requests":null,"project_id":"p1","scheduler_hints":{},'
    '"user_id":"u1"},"version":"1.0"}'
)


FROZEN_1_2 = (
    '{"spec":{"flavor":{"ephemeral_gb":0,"extra_specs":'
    '{"hw:mem_page_size":"2048"},"flavorid":"7","memory_mb":2048,'
    '"name":"n1.small","root_gb":20,"swap":0,"vcpus":2},'
    '"instance_uuid":"00000000-0000-0000-0000-000000000003",'
    '"is_bfv":false,"num_instances":1,"numa_topology":{"cells":[{"cpuset":'
    '[0,1],"id":0,"memory":2048,"pagesize":2048,"pcpuset":[]}]},'
    '"project_id":"p1","security_groups":[]},"version":"1.2"}'
)


def test_a_frozen_1_2_document_loads() -> None:
    spec = FORMAT.decode(FROZEN_1_2)
    (cell,) = spec.numa_topology.cells
    assert cell.pagesize == 2048
    assert cell.pagesize_policy is None
    assert cell.cpuset == {0, 1}


def test_a_frozen_1_0_document_loads() -> None:
    spec = FORMAT.decode(FROZEN_1_0)
    assert spec.instance_uuid == "00000000-0000-0000-0000-000000000001"
    assert spec.flavor.extra_specs == {"hw:cpu_policy": "dedicated"}
    assert spec.instance_group.policy == "affinity"
    assert spec.is_bfv is False
    assert spec.security_groups == []
    # Re-encoding writes the current version.
    assert json.loads(spec.to_document())["version"] == spec.VERSION


def test_upgrade_steps_cover_every_older_version() -> None:
    major, minor = (int(p) for p in objects.RequestSpec.VERSION.split("."))
    assert set(FORMAT.upgrades) == {f"{major}.{m}" for m in range(minor)}


def test_a_newer_document_is_refused() -> None:
    major, minor = (int(p) for p in objects.RequestSpec.VERSION.split("."))
    newer = f'"version":"{major}.{minor + 1}"'
    text = FROZEN_1_0.replace('"version":"1.0"', newer)
    with pytest.raises(exception.InvalidRequestSpec, match="newer"):
        FORMAT.decode(text)
