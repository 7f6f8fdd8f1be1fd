"""Host filters: each one reads the request and refuses unsuitable hosts.

A filter answers one question per host with ``refusal``: None when the
host passes, or a short phrase saying why not (it ends up in the
``NoValidHost`` message and in the demo's explanation).
"""

from reqspec.objects import RequestSpec
from reqspec.scheduler.host_state import HostState


class BaseHostFilter:
    """One host filter. Subclasses implement ``refusal``."""

    #: Shown in explanations; the class name unless set.
    name: str = ""
    #: The verdict depends only on the request and the host's fixed
    #: attributes, not on its free capacity, running servers or the
    #: group's members: scheduling a batch asks it once per host. (A
    #: filter that is not static may read the host's own changing state
    #: and the group's hosts, nothing of other hosts.)
    static: bool = False

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls.name = cls.name or cls.__name__

    def enabled_for(self, request: RequestSpec) -> bool:
        """False when the request asks nothing of this filter (skipped,
        and left out of explanations)."""
        return True

    def refusal(self, host: HostState, request: RequestSpec) -> str | None:
        raise NotImplementedError
