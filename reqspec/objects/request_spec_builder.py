"""Building a RequestSpec from what the compute API has at boot time."""

from collections.abc import Iterable
from typing import Any
from typing import Self
from typing import TYPE_CHECKING

from reqspec import exception
from reqspec.objects.flavor import Flavor
from reqspec.objects.image_meta import ImageMeta
from reqspec.objects.instance_group import InstanceGroup
from reqspec.objects.request_spec_schema import RequestSpecSchema
from reqspec.objects.security_group import SecurityGroup

if TYPE_CHECKING:
    from reqspec.context import RequestContext
    from reqspec.objects.numa import InstanceNUMATopology
    from reqspec.objects.pci import InstancePCIRequests


class RequestSpecBuilder(RequestSpecSchema):
    """``from_components``: a spec from API input, typed and checked."""

    @classmethod
    def from_components(
        cls,
        context: "RequestContext | None" = None,
        *,
        instance_uuid: str,
        flavor: Flavor,
        image: ImageMeta | dict[str, Any] | None = None,
        project_id: str | None = None,
        user_id: str | None = None,
        availability_zone: str | None = None,
        num_instances: int = 1,
        scheduler_hints: dict[str, Any] | None = None,
        instance_group: InstanceGroup | None = None,
        security_groups: Iterable[str] | None = None,
        force_hosts: Iterable[str] | None = None,
        force_nodes: Iterable[str] | None = None,
        numa_topology: "InstanceNUMATopology | None" = None,
        pci_requests: "InstancePCIRequests | None" = None,
        is_bfv: bool = False,
    ) -> Self:
        """Build a spec from what the compute API has at boot time.

        ``image`` may be a Glance image dict; its string properties are
        typed here. Hint values may be strings or lists of strings, as the
        API accepts both. ``project_id``/``user_id`` default to the
        context's. Bad input raises ``InvalidRequestSpec``.
        """
        if context is not None:
            project_id = project_id or context.project_id
            user_id = user_id or context.user_id
        if isinstance(image, dict):
            image = ImageMeta.from_dict(image)
        spec = cls(context)
        try:
            spec.instance_uuid = instance_uuid
            spec.flavor = flavor
            spec.image = image
            spec.project_id = project_id
            spec.user_id = user_id
            spec.availability_zone = availability_zone
            spec.num_instances = num_instances
            spec.scheduler_hints = _normalize_hints(scheduler_hints or {})
            spec.instance_group = instance_group
            spec.security_groups = [
                SecurityGroup(name=name) for name in security_groups or ()
            ]
            spec.force_hosts = list(force_hosts) if force_hosts else None
            spec.force_nodes = list(force_nodes) if force_nodes else None
            spec.numa_topology = numa_topology
            spec.pci_requests = pci_requests
            spec.is_bfv = is_bfv
            spec.limits = None
        except ValueError as err:
            raise exception.InvalidRequestSpec(reason=str(err)) from err
        return spec


def _normalize_hints(hints: dict[str, Any]) -> dict[str, list[str]]:
    """The API takes ``{"group": "uuid"}`` and ``{"query": ["a", "b"]}``;
    store every hint as a list of strings."""
    normalized = {}
    for key, value in hints.items():
        if isinstance(value, str):
            normalized[key] = [value]
        elif isinstance(value, (list, tuple)) and all(
            isinstance(v, str) for v in value
        ):
            normalized[key] = list(value)
        else:
            raise exception.InvalidRequestSpec(
                reason=f"scheduler hint {key!r} must be a string or a list "
                f"of strings, not {type(value).__name__}"
            )
    return normalized
