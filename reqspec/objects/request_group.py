"""Placement-style resource requests computed for one scheduling call."""

from reqspec.objects import base
from reqspec.objects import fields


@base.ReqspecObjectRegistry.register
class RequestGroup(base.ReqspecObject):
    """Resources, traits and aggregates one provider (tree) must satisfy.

    Computed from the flavor, image and ports at each scheduling request;
    never stored.
    """

    # Version 1.0: Initial version
    VERSION = "1.0"

    fields = {
        "use_same_provider": fields.BooleanField(default=True),
        "requester_id": fields.StringField(nullable=True),
        "resources": fields.DictOfIntegersField(default={}),
        "required_traits": fields.SetOfStringsField(default=set()),
        "forbidden_traits": fields.SetOfStringsField(default=set()),
        "aggregates": fields.ListOfListsOfStringsField(default=[]),
        "forbidden_aggregates": fields.SetOfStringsField(default=set()),
        "provider_uuids": fields.ListOfUUIDField(default=[]),
        "in_tree": fields.UUIDField(nullable=True),
    }


@base.ReqspecObjectRegistry.register
class RequestLevelParams(base.ReqspecObject):
    """Constraints on the whole allocation rather than one group."""

    # Version 1.0: Initial version
    VERSION = "1.0"

    fields = {
        "root_required": fields.SetOfStringsField(default=set()),
        "root_forbidden": fields.SetOfStringsField(default=set()),
        "same_subtree": fields.ListOfListsOfStringsField(default=[]),
    }
