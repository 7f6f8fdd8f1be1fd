"""PCI device requests (passthrough devices, SR-IOV ports)."""

from reqspec.objects import base
from reqspec.objects import fields


@base.ReqspecObjectRegistry.register
class InstancePCIRequest(base.ReqspecObject):
    """``count`` devices matching any one of the ``spec`` dicts.

    Left out from Nova's: ``is_new`` (a resize-time marker the compute
    host uses) and ``requester_id`` (a Neutron port id, known again at
    each move).
    """

    # Version 1.0: Initial version
    VERSION = "1.0"

    fields = {
        "count": fields.NonNegativeIntegerField(),
        "spec": fields.ListOfDictOfStringsField(),
        "alias_name": fields.StringField(nullable=True),
        "numa_policy": fields.EnumField(
            ("legacy", "preferred", "required", "socket"),
            nullable=True,
        ),
        "request_id": fields.UUIDField(nullable=True),
    }


@base.ReqspecObjectRegistry.register
class InstancePCIRequests(base.ReqspecObject):
    """All PCI requests of one server."""

    # Version 1.0: Initial version
    VERSION = "1.0"

    obj_relationships = {"requests": [("1.0", "1.0")]}

    fields = {
        "instance_uuid": fields.UUIDField(nullable=True),
        "requests": fields.ListOfObjectsField("InstancePCIRequest"),
    }
