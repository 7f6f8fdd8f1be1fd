"""Where an admin (or the conductor) asks a move to land."""

from typing import Any

from oslo_utils import versionutils

from reqspec.objects import base
from reqspec.objects import fields


@base.ReqspecObjectRegistry.register
class Destination(base.ReqspecObject):
    """A requested destination for one scheduling request.

    Set per move (an admin's ``--host``, a conductor pinning a cell or an
    aggregate); never stored.
    """

    # Version 1.0: Initial version
    # Version 1.1: Added forbidden_aggregates and allow_cross_cell_move
    VERSION = "1.1"

    obj_relationships = {"cell": [("1.0", "1.0")]}

    fields = {
        "host": fields.StringField(nullable=True),
        "node": fields.StringField(nullable=True),
        "cell": fields.ObjectField("CellMapping", nullable=True),
        "aggregates": fields.ListOfStringsField(nullable=True),
        "forbidden_aggregates": fields.SetOfStringsField(nullable=True),
        "allow_cross_cell_move": fields.BooleanField(default=False),
    }

    def obj_make_compatible(
        self, primitive: dict[str, Any], target_version: str
    ) -> None:
        super().obj_make_compatible(primitive, target_version)
        if versionutils.convert_version_to_tuple(target_version) < (1, 1):
            base.remove_fields(
                primitive, "allow_cross_cell_move", "forbidden_aggregates"
            )

    def require_aggregates(self, aggregates: list[str]) -> None:
        """Add a group of aggregates; a host must be in one of each group.

        Nova encodes the groups as comma-joined strings; so do we, so that
        the list stays a flat list of strings.
        """
        joined = ",".join(sorted(aggregates))
        self.aggregates = [*(self.aggregates or []), joined]
