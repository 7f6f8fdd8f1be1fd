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

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls.name = cls.name or cls.__name__

    def enabled_for(self, request: RequestSpec) -> bool:
        """False when the request asks nothing of this filter (skipped,
        and left out of explanations)."""
        return True

    def refusal(self, host: HostState, request: RequestSpec) -> str | None:
        raise NotImplementedError
