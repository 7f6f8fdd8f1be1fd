"""Translating rows that real Nova wrote (tests/fixtures/nova)."""

import json
from typing import Any

import pytest

from reqspec import exception
from reqspec.objects import nova_translation
from reqspec.objects.nova_translation import translate
from tests.fixtures import nova_api

ROWS = nova_api.by_case()


def _translate(case: str) -> nova_translation.Translation:
    row = ROWS[case]
    return translate(row["instance_uuid"], row["spec"])


def _refusal(case: str) -> str:
    row = ROWS[case]
    with pytest.raises(exception.NovaSpecUnconvertible) as raised:
        translate(row["instance_uuid"], row["spec"])
    return raised.value.message


def _edited(case: str, edit: Any) -> str:
    primitive = json.loads(ROWS[case]["spec"])
    edit(primitive["nova_object.data"])
    return json.dumps(primitive)


def test_the_fixture_is_real_nova_output() -> None:
    data = nova_api.load()
    assert data["nova_version"].startswith("34.")
    versions = {
        json.loads(row["spec"])["nova_object.version"]
        for row in data["rows"]
        if not row["case"].startswith("broken")
    }
    assert {"1.5", "1.8", "1.11", "1.14", "1.15"} <= versions


def test_a_full_boot_keeps_what_the_user_asked_for() -> None:
    result = _translate("full-boot")
    spec = result.spec
    assert spec.instance_uuid == ROWS["full-boot"]["instance_uuid"]
    assert spec.project_id == "0a4f8c5e2b7d4a9e8f6c1d3b5a7e9c21"
    assert spec.user_id == "fd2b0a6e8fba4b0e9c3a1f0c1f1d0a11"
    assert spec.availability_zone == "az-east"
    assert spec.num_instances == 2
    assert spec.is_bfv is False
    assert (spec.force_hosts, spec.force_nodes) == (None, None)

    flavor = spec.flavor
    assert (flavor.name, flavor.flavorid) == ("m1.medium", "2")
    assert (flavor.vcpus, flavor.memory_mb, flavor.root_gb) == (4, 4096, 40)
    assert (flavor.ephemeral_gb, flavor.swap) == (10, 512)
    assert flavor.description == "general purpose"
    assert flavor.extra_specs == {"quota:disk_read_bytes_sec": "10240000"}

    image = spec.image
    assert image.name == "ubuntu-24.04"
    assert (image.disk_format, image.container_format) == ("qcow2", "bare")
    assert (image.min_ram, image.min_disk) == (512, 10)
    props = image.properties
    assert props.hw_architecture == "x86_64"
    assert props.hw_disk_bus == "virtio"
    assert props.hw_machine_type == "q35"
    assert props.hw_firmware_type == "uefi"
    assert props.hw_qemu_guest_agent is True
    assert props.os_distro == "ubuntu"
    assert props.traits_required == ["CUSTOM_TRUSTED"]
    assert result.notes == [
        "dropped image properties: hw_vif_multiqueue_enabled, "
        "img_signature_hash_method",
        "server group name not stored (Nova reads it from the group)",
    ]

    group = spec.instance_group
    assert group.policy == "anti-affinity"
    assert group.rules == {"max_server_per_host": "2"}
    assert spec.scheduler_hints["group"] == [group.uuid]
    assert spec.scheduler_hints["build_near_host_ip"] == ["192.0.2.10"]
    assert len(spec.scheduler_hints["same_host"]) == 2
    assert [g.name for g in spec.security_groups] == ["default", "web"]
    assert spec.instance_group_uuid == group.uuid


def test_boot_from_volume_without_an_image() -> None:
    spec = _translate("boot-from-volume-no-image").spec
    assert spec.image is None
    assert spec.is_bfv is True

    volume = _translate("volume-image-metadata").spec
    assert volume.image.id is None
    assert volume.image.properties.hw_disk_bus == "scsi"
    assert volume.availability_zone == "az-west"


def test_forced_host_and_node() -> None:
    spec = _translate("forced-host-and-node").spec
    assert spec.force_hosts == ["compute-07"]
    assert spec.force_nodes == ["compute-07.example.org"]


def test_symbolic_page_sizes_become_policies() -> None:
    # Nova wrote hw:mem_page_size=large as the page size -2.
    spec = _translate("numa-large-pages").spec
    (cell,) = spec.numa_topology.cells
    assert cell.pagesize is None
    assert cell.pagesize_policy == "large"
    assert spec.flavor.extra_specs == {"hw:mem_page_size": "large"}
    # And the policy survives storage.
    assert spec.from_document(None, spec.to_document()) == spec


def test_an_unknown_symbolic_page_size_is_refused() -> None:
    def odd_page_size(data: dict[str, Any]) -> None:
        cells = data["numa_topology"]["nova_object.data"]["cells"]
        cells[0]["nova_object.data"]["pagesize"] = -7

    row = ROWS["numa-large-pages"]
    with pytest.raises(
        exception.NovaSpecUnconvertible, match="symbolic page size -7"
    ):
        translate(
            row["instance_uuid"], _edited("numa-large-pages", odd_page_size)
        )


def test_numa_and_pci_requests() -> None:
    numa = _translate("numa-pinned").spec.numa_topology
    assert numa.emulator_threads_policy == "isolate"
    assert [c.pcpuset for c in numa.cells] == [{0, 1}, {2, 3}]
    assert [c.cpuset for c in numa.cells] == [set(), set()]
    assert {c.pagesize for c in numa.cells} == {2048}
    assert {c.cpu_policy for c in numa.cells} == {"dedicated"}

    (request,) = _translate("pci-sriov-alias").spec.pci_requests.requests
    assert request.count == 2
    assert request.alias_name == "nic-vf"
    assert request.numa_policy == "preferred"
    assert request.spec == [
        {"vendor_id": "8086", "product_id": "1520", "dev_type": "type-VF"}
    ]


def test_limits_saved_after_scheduling() -> None:
    result = _translate("limits-after-scheduling")
    limits = result.spec.limits
    assert (limits.vcpu, limits.memory_mb, limits.disk_gb) == (
        64,
        262144,
        2048,
    )
    assert limits.numa_topology.cpu_allocation_ratio == 4.0
    assert limits.numa_topology.ram_allocation_ratio == 1.5
    assert "dropped limits.numa_topology.network_metadata" in result.notes
    assert result.spec.instance_group.policy == "soft-anti-affinity"


def test_a_resize_saved_the_new_flavor() -> None:
    assert _translate("resized").spec.flavor.name == "m1.medium"


def test_nova_read_time_repairs_are_applied_once() -> None:
    legacy = _translate("legacy-group-without-uuid")
    hint = legacy.spec.scheduler_hints["group"][0]
    assert legacy.spec.instance_group.uuid == hint
    assert "server group uuid taken from the 'group' hint" in legacy.notes

    # A dedicated cell as InstanceNUMACell < 1.5 stored it.
    def legacy_cpuset(data: dict[str, Any]) -> None:
        for cell in data["numa_topology"]["nova_object.data"]["cells"]:
            cell_data = cell["nova_object.data"]
            cell_data["cpuset"] = cell_data.pop("pcpuset")

    row = ROWS["numa-pinned"]
    result = translate(
        row["instance_uuid"], _edited("numa-pinned", legacy_cpuset)
    )
    cells = result.spec.numa_topology.cells
    assert [c.pcpuset for c in cells] == [{0, 1}, {2, 3}]
    assert "NUMA cell 0: dedicated CPUs moved to pcpuset" in result.notes


def test_missing_hints_mean_no_hints() -> None:
    assert _translate("hints-none").spec.scheduler_hints == {}


@pytest.mark.parametrize("older", ["requestspec-1.5", "requestspec-1.8"])
def test_older_releases_rows(older: str) -> None:
    result = _translate(older)
    group = result.spec.instance_group
    assert group.policy == "anti-affinity"  # from the policies list
    assert group.rules == {"max_server_per_host": "2"}
    assert result.spec.user_id is None
    assert result.spec.is_bfv is False
    assert any("predates is_bfv" in n for n in result.notes)


def test_the_same_boot_reads_the_same_from_every_version() -> None:
    """1.11 and 1.14 rows of one boot translate to one document."""
    documents = set()
    for case in ("requestspec-1.11", "requestspec-1.14"):
        spec = _translate(case).spec
        spec.instance_uuid = ROWS["requestspec-1.14"]["instance_uuid"]
        documents.add(spec.to_document())
    assert len(documents) == 1


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("unsupported-architecture", "hw_architecture: expected one of"),
        ("broken-truncated-json", "not valid JSON"),
        ("broken-not-a-request-spec", "got Instance"),
    ],
)
def test_rows_that_cannot_be_represented_are_refused(
    case: str, reason: str
) -> None:
    assert reason in _refusal(case)


def test_newer_nova_and_mismatched_rows_are_refused() -> None:
    row = ROWS["full-boot"]
    primitive = json.loads(row["spec"])
    primitive["nova_object.version"] = "1.16"
    with pytest.raises(
        exception.NovaSpecUnconvertible, match=r"1\.16 is newer"
    ):
        translate(row["instance_uuid"], json.dumps(primitive))

    other = ROWS["resized"]["instance_uuid"]
    with pytest.raises(
        exception.NovaSpecUnconvertible, match="holds the spec"
    ):
        translate(other, row["spec"])

    def no_policy(data: dict[str, Any]) -> None:
        group = data["instance_group"]["nova_object.data"]
        group.pop("policy")
        group.pop("policies")

    with pytest.raises(exception.NovaSpecUnconvertible, match="no policy"):
        translate(row["instance_uuid"], _edited("full-boot", no_policy))


def _security_groups(data: dict[str, Any]) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = data["security_groups"]["nova_object.data"][
        "objects"
    ]
    return groups


def test_a_security_group_given_by_uuid() -> None:
    # What Nova's populate_security_groups writes for a uuid at boot.
    group_uuid = "5b8e2c9a-1f0d-4e6b-9c3a-7d2f1e0b8a64"

    def by_uuid(data: dict[str, Any]) -> None:
        _security_groups(data)[1]["nova_object.data"] = {"uuid": group_uuid}

    row = ROWS["full-boot"]
    result = translate(row["instance_uuid"], _edited("full-boot", by_uuid))
    first, second = result.spec.security_groups
    assert (first.name, first.uuid) == ("default", None)
    assert (second.name, second.uuid) == (group_uuid, group_uuid)
    assert "security group given by uuid: the uuid is its name" in (
        result.notes
    )


def test_a_security_group_with_neither_name_nor_uuid_names_its_index() -> None:
    def empty(data: dict[str, Any]) -> None:
        _security_groups(data)[1]["nova_object.data"] = {}

    row = ROWS["full-boot"]
    with pytest.raises(exception.NovaSpecUnconvertible) as raised:
        translate(row["instance_uuid"], _edited("full-boot", empty))
    assert raised.value.message.startswith(
        "spec.security_groups.1: neither a name nor a uuid"
    )


def test_the_server_group_name_is_noted_not_dropped_silently() -> None:
    result = _translate("full-boot")
    assert result.spec.instance_group.name == "web"
    assert "server group name not stored (Nova reads it from the group)" in (
        result.notes
    )
    assert (
        "name"
        not in json.loads(result.spec.to_document())["spec"]["instance_group"]
    )


def test_a_field_a_current_row_never_set_is_not_said_to_predate() -> None:
    def unset(data: dict[str, Any]) -> None:
        del data["is_bfv"]
        del data["user_id"]

    row = ROWS["full-boot"]
    notes = translate(row["instance_uuid"], _edited("full-boot", unset)).notes
    assert (
        "RequestSpec 1.15 never set is_bfv: assumed not booted from volume"
        in (notes)
    )
    assert "RequestSpec 1.15 never set user_id" in notes
    assert not [n for n in notes if "predates" in n]

    old = _translate("requestspec-1.5").notes
    assert (
        "RequestSpec 1.5 predates is_bfv (1.11): assumed not booted from "
        "volume" in old
    )
    assert "RequestSpec 1.5 predates user_id (1.9)" in old


@pytest.mark.parametrize(
    ("path", "version"),
    [
        (("flavor",), "9.0"),
        (("flavor",), "1.3"),
        (("instance_group",), "1.12"),
        (("security_groups",), "2.0"),
        (("limits",), "1.1"),
        (("image", "properties"), "2.0"),
    ],
)
def test_a_nested_object_newer_than_known_is_refused(
    path: tuple[str, ...], version: str
) -> None:
    def newer(data: dict[str, Any]) -> None:
        obj = data[path[0]]
        for key in path[1:]:
            obj = obj["nova_object.data"][key]
        obj["nova_object.version"] = version

    row = ROWS["limits-after-scheduling"]
    with pytest.raises(exception.NovaSpecUnconvertible) as raised:
        translate(
            row["instance_uuid"], _edited("limits-after-scheduling", newer)
        )
    assert f"{version} is newer than this importer knows" in (
        raised.value.message
    )
    assert raised.value.message.startswith("spec." + ".".join(path))


def test_newer_image_properties_are_taken_with_a_note() -> None:
    # Each Nova release adds image properties; the unknown ones are listed.
    def newer(data: dict[str, Any]) -> None:
        props = data["image"]["nova_object.data"]["properties"]
        props["nova_object.version"] = "1.45"
        props["nova_object.data"]["hw_new_knob"] = "on"

    row = ROWS["full-boot"]
    result = translate(row["instance_uuid"], _edited("full-boot", newer))
    assert result.spec.image.properties.hw_architecture == "x86_64"
    assert (
        "ImageMetaProps 1.45 is newer than this importer knows (1.44): "
        "properties it does not know are dropped" in result.notes
    )
    assert any("hw_new_knob" in n for n in result.notes)
