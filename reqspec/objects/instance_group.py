"""Server groups: affinity and anti-affinity between servers."""

from reqspec.objects import base
from reqspec.objects import fields

POLICIES = ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity")


@base.ReqspecObjectRegistry.register
class InstanceGroup(base.ReqspecObject):
    """The server group a server was booted into.

    Only ``uuid``, ``policy`` and ``rules`` describe the user's constraint;
    they never change for a group, so a stored spec keeps just these.
    ``members`` and ``hosts`` change with every boot, move and delete in the
    group, so they are filled in fresh by whoever schedules and are never
    stored (Nova stored them and then had to reload the group on every read
    to undo the staleness).

    Left out from Nova's InstanceGroup: ``id``, ``user_id``, ``project_id``
    and the timestamps (the group's row is the source for those) and the
    pre-microversion-2.64 ``policies`` list (one ``policy`` string says it).
    """

    # Version 1.0: Initial version
    VERSION = "1.0"

    REQUIRED_FIELDS = ("uuid", "policy")

    fields = {
        "uuid": fields.UUIDField(),
        "name": fields.StringField(nullable=True),
        "policy": fields.EnumField(POLICIES),
        "rules": fields.DictOfStringsField(default={}),
        # No defaults: an unset list must not read as "no members", or
        # anti-affinity would silently pass. The scheduler sets them fresh.
        "members": fields.ListOfUUIDField(),
        "hosts": fields.ListOfStringsField(),
    }

    @property
    def max_server_per_host(self) -> int:
        """The anti-affinity rule: how many members one host may take."""
        rules = self.rules if self.obj_attr_is_set("rules") else {}
        return int(rules.get("max_server_per_host", 1))
