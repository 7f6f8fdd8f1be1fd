"""Requested networks and what the scheduler needs to know about them."""

from reqspec.objects import base
from reqspec.objects import fields


@base.ReqspecObjectRegistry.register
class NetworkRequest(base.ReqspecObject):
    """One requested NIC: a network, a fixed IP or an existing port.

    Left out from Nova's: ``arq_uuid``/``device_profile`` (Cyborg
    accelerators) and ``pci_request_id`` bookkeeping (the PCI request
    carries the link).
    """

    # Version 1.0: Initial version
    VERSION = "1.0"

    fields = {
        "network_id": fields.StringField(nullable=True),
        "address": fields.IPAddressField(nullable=True),
        "port_id": fields.UUIDField(nullable=True),
        "tag": fields.StringField(nullable=True),
    }


@base.ReqspecObjectRegistry.register
class NetworkMetadata(base.ReqspecObject):
    """Physical networks and tunnelling the requested NICs need."""

    # Version 1.0: Initial version
    VERSION = "1.0"

    fields = {
        "physnets": fields.SetOfStringsField(default=set()),
        "tunneled": fields.BooleanField(default=False),
    }
