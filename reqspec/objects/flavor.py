"""The flavor a server was booted or resized with."""

from reqspec.objects import base
from reqspec.objects import fields


@base.ReqspecObjectRegistry.register
class Flavor(base.ReqspecObject):
    """A copy of the flavor as it was when the spec was made.

    Flavors can be edited or deleted after a server is booted, so a spec
    keeps its own copy: the scheduler needs the sizes the user asked for,
    not today's definition.

    Left out from Nova's Flavor: ``projects`` (access lists are checked by
    the API before a spec exists) and ``created_at``/``updated_at``/
    ``deleted`` (bookkeeping of the flavor catalogue, not constraints).
    """

    # Version 1.0: Initial version
    VERSION = "1.0"

    fields = {
        "id": fields.IntegerField(nullable=True),
        "flavorid": fields.StringField(),
        "name": fields.StringField(),
        "memory_mb": fields.NonNegativeIntegerField(),
        "vcpus": fields.NonNegativeIntegerField(),
        "root_gb": fields.NonNegativeIntegerField(),
        "ephemeral_gb": fields.NonNegativeIntegerField(default=0),
        "swap": fields.NonNegativeIntegerField(default=0),
        "rxtx_factor": fields.NonNegativeFloatField(default=1.0),
        "vcpu_weight": fields.IntegerField(nullable=True),
        "disabled": fields.BooleanField(default=False),
        "is_public": fields.BooleanField(default=True),
        "description": fields.StringField(nullable=True),
        "extra_specs": fields.DictOfStringsField(default={}),
    }
