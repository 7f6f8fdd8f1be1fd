"""Image properties a host must match."""

from reqspec.objects import RequestSpec
from reqspec.scheduler.filters import BaseHostFilter
from reqspec.scheduler.host_state import HostState


class ImagePropertiesFilter(BaseHostFilter):
    """Refuse hosts whose CPU architecture or hypervisor type differs from
    what the image requires (``hw_architecture``, ``img_hv_type``).

    A host that does not report the property cannot prove it matches and
    is refused. A rebuild with a new image runs this filter against the
    server's own host.
    """

    static = True

    def enabled_for(self, request: RequestSpec) -> bool:
        image = request.image
        if image is None or not image.obj_attr_is_set("properties"):
            return False
        props = image.properties
        return bool(props.get("hw_architecture") or props.get("img_hv_type"))

    def refusal(self, host: HostState, request: RequestSpec) -> str | None:
        assert request.image is not None
        props = request.image.properties
        arch = props.get("hw_architecture")
        if arch is not None and host.architecture != arch:
            return f"architecture {host.architecture}, image needs {arch}"
        hv_type = props.get("img_hv_type")
        if hv_type is not None and host.hypervisor_type != hv_type:
            return f"hypervisor {host.hypervisor_type}, image needs {hv_type}"
        return None
