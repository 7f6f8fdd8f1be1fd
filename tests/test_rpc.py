"""What crosses the wire: contexts, objects, and refused versions."""

import pytest

from reqspec import context
from reqspec import exception
from reqspec import rpc
from reqspec.objects import CellMapping
from reqspec.objects import Flavor


def test_a_context_crosses_as_a_dict() -> None:
    serializer = rpc.serializer("conductor")
    ctx = context.RequestContext(
        user_id="u1", project_id="p1", roles=["member"], overwrite=False
    )
    back = serializer.deserialize_context(serializer.serialize_context(ctx))
    assert isinstance(back, context.RequestContext)
    assert (back.user_id, back.project_id, back.roles) == (
        "u1",
        "p1",
        ["member"],
    )
    assert back.request_id == ctx.request_id
    assert back.cell is None


def test_a_context_aimed_at_a_cell_is_not_sent() -> None:
    cell = CellMapping(
        uuid="5a8f0c1d-0000-4000-8000-000000000001",
        name="cell1",
        database_connection="sqlite://",
    )
    admin = context.get_admin_context()
    with (
        context.target_cell(admin, cell) as cctx,
        pytest.raises(exception.ReqspecError, match="cell1"),
    ):
        rpc.serializer("conductor").serialize_context(cctx)


def test_objects_cross_as_primitives() -> None:
    serializer = rpc.serializer("conductor")
    flavor = Flavor(
        flavorid="1", name="small", vcpus=1, memory_mb=512, root_gb=1
    )
    primitive = serializer.serialize_entity(None, {"flavor": flavor})
    assert primitive["flavor"]["reqspec_object.name"] == "Flavor"
    assert serializer.deserialize_entity(None, primitive) == {"flavor": flavor}


def test_a_newer_object_version_is_refused_naming_both() -> None:
    serializer = rpc.serializer("scheduler")
    primitive = Flavor(
        flavorid="1", name="s", vcpus=1, memory_mb=1, root_gb=1
    ).obj_to_primitive()
    primitive["reqspec_object.version"] = "1.7"
    with pytest.raises(exception.IncompatibleObjectVersion) as caught:
        serializer.deserialize_entity(None, primitive)
    assert caught.value.message == (
        f"Received Flavor version 1.7, but this service knows Flavor only "
        f"up to version {Flavor.VERSION}; pin the senders with "
        "[upgrade_levels] scheduler until this service is upgraded."
    )


def test_a_transport_is_made_once_per_url() -> None:
    try:
        fake = rpc.get_transport("fake://")
        assert rpc.get_transport("fake://") is fake
    finally:
        rpc.cleanup()
    assert rpc.get_transport("fake://") is not fake
    rpc.cleanup()


class _Pinged:
    def ping(self, ctx: context.RequestContext) -> dict[str, object]:
        return {"pid": 42, "version": "1.0", "project": ctx.project_id}


def test_ping_asks_a_service_and_names_it_when_none_answers() -> None:
    url = "fake://"
    ctx = context.RequestContext(project_id="p1", overwrite=False)
    client = rpc.get_client("ping-test", "1.0", None, "pingd", url)
    server = rpc.get_server("ping-test", [_Pinged()], "pingd", url)
    server.start()
    try:
        answer = rpc.ping(client, ctx, "pingd", timeout=10)
        assert answer == {"pid": 42, "version": "1.0", "project": "p1"}
        # No process of that name on the topic: nobody answers.
        with pytest.raises(exception.ServiceUnavailable) as caught:
            rpc.ping(client, ctx, "pingd", server="nobody.1", timeout=0.2)
        assert "pingd" in caught.value.message
    finally:
        server.stop()
        server.wait()
        rpc.cleanup()
