"""Specs written back as Nova rows (the loading by real Nova itself is in
tests/nova/test_nova_round_trip.py)."""

import json
from typing import Any

from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
import pytest

from reqspec import exception
from reqspec import objects
from reqspec.objects import nova_export
from reqspec.objects import nova_translation
from tests import strategies
from tests.fixtures import nova_api
from tests.fixtures import specs

GOOD = [
    row
    for row in nova_api.rows()
    if row["case"] not in ("unsupported-architecture",)
    and not row["case"].startswith("broken")
]


def _versions(primitive: Any, found: dict[str, set[str]]) -> None:
    if isinstance(primitive, dict):
        if "nova_object.name" in primitive:
            found.setdefault(primitive["nova_object.name"], set()).add(
                primitive["nova_object.version"]
            )
            assert primitive["nova_object.namespace"] == "nova"
        for value in primitive.values():
            _versions(value, found)
    elif isinstance(primitive, list):
        for value in primitive:
            _versions(value, found)


@pytest.mark.parametrize("row", GOOD, ids=[r["case"] for r in GOOD])
def test_a_nova_row_comes_back_as_the_same_spec(row: dict[str, Any]) -> None:
    spec = nova_translation.translate(row["instance_uuid"], row["spec"]).spec
    text = nova_export.to_nova_json(spec)
    again = nova_translation.translate(row["instance_uuid"], text)
    assert again.spec.to_document() == spec.to_document()
    # Only what a changed Nova row would say; never "predates".
    assert not [n for n in again.notes if "predates" in n]

    found: dict[str, set[str]] = {}
    _versions(json.loads(text), found)
    for name, versions in found.items():
        assert versions == {nova_export.NOVA_VERSIONS[name]}, name
    assert found["RequestSpec"] == {"1.15"}


def test_what_nova_stores_as_none_or_without_members() -> None:
    spec = nova_translation.translate(
        GOOD[0]["instance_uuid"], nova_api.by_case()["full-boot"]["spec"]
    ).spec
    data = nova_export.to_nova_primitive(spec)["nova_object.data"]
    for name in ("ignore_hosts", "requested_destination", "retry"):
        assert data[name] is None
    group = data["instance_group"]["nova_object.data"]
    assert (group["members"], group["hosts"]) == (None, None)
    assert group["_rules"] == {"max_server_per_host": "2"}
    assert group["name"] == "web"
    for name in ("network_metadata", "requested_networks", "id"):
        assert name not in data


def test_symbolic_page_sizes_and_uuid_security_groups_go_back() -> None:
    spec = specs.realistic_spec()
    spec.numa_topology = objects.InstanceNUMATopology(
        cells=[
            objects.InstanceNUMACell(
                id=0, cpuset={0, 1}, memory=1024, pagesize_policy="large"
            )
        ]
    )
    group_uuid = "5b8e2c9a-1f0d-4e6b-9c3a-7d2f1e0b8a64"
    spec.security_groups = [
        objects.SecurityGroup(name="web"),
        objects.SecurityGroup(name=group_uuid),
        objects.SecurityGroup(name=group_uuid, uuid=group_uuid),
    ]
    data = nova_export.to_nova_primitive(spec)["nova_object.data"]
    cell = data["numa_topology"]["nova_object.data"]["cells"][0]
    assert cell["nova_object.data"]["pagesize"] == -2
    assert cell["nova_object.data"]["cpuset"] == [0, 1]
    groups = data["security_groups"]["nova_object.data"]["objects"]
    assert [g["nova_object.data"] for g in groups] == [
        {"name": "web"},
        {"name": group_uuid},  # as releases before SecurityGroup 1.2 did
        {"uuid": group_uuid},
    ]


def _nova_can_say(spec: objects.RequestSpec) -> bool:
    """Whether a Nova cell can hold each of the spec's NUMA cells: one page
    size or policy, and no dedicated cell with CPUs only in cpuset (Nova
    reads those as pinned ones, its repair of pre-1.5 cells, which the
    importer applies too)."""
    topology = spec.numa_topology if "numa_topology" in spec else None
    for cell in topology.cells if topology else []:
        values = {n: getattr(cell, n) for n in cell.fields if n in cell}
        if values.get("pagesize") is not None and values.get(
            "pagesize_policy"
        ):
            return False
        if (
            values.get("cpu_policy") == "dedicated"
            and values.get("cpuset")
            and not values.get("pcpuset")
        ):
            return False
    return True


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(strategies.request_specs().filter(_nova_can_say))
def test_any_spec_survives_the_way_to_nova_and_back(
    spec: objects.RequestSpec,
) -> None:
    text = nova_export.to_nova_json(spec)
    again = nova_translation.translate(spec.instance_uuid, text).spec
    complete = nova_export.complete
    assert complete(again).to_document() == complete(spec).to_document()


def test_a_cell_with_both_a_page_size_and_a_policy_is_refused() -> None:
    spec = specs.realistic_spec()
    spec.numa_topology = objects.InstanceNUMATopology(
        cells=[
            objects.InstanceNUMACell(
                id=0,
                cpuset={0},
                memory=1024,
                pagesize=2048,
                pagesize_policy="large",
            )
        ]
    )
    with pytest.raises(exception.NovaSpecUnconvertible) as raised:
        nova_export.to_nova_primitive(spec)
    assert "spec.numa_topology.cells.0: both a page size" in (
        raised.value.message
    )
