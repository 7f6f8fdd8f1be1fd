"""Security groups named at boot."""

from reqspec.objects import base
from reqspec.objects import fields


@base.ReqspecObjectRegistry.register
class SecurityGroup(base.ReqspecObject):
    """A security group by name (and uuid, when the API resolved it).

    Left out from Nova's: rules, description and owner; Neutron owns those
    and they change independently of the server.
    """

    # Version 1.0: Initial version
    VERSION = "1.0"

    fields = {
        "uuid": fields.UUIDField(nullable=True),
        "name": fields.StringField(),
    }
