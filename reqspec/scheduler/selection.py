"""The scheduler's answer: a host, and why it was chosen."""

import dataclasses

from reqspec.objects import CellMapping


@dataclasses.dataclass(frozen=True)
class FilterStep:
    """What one filter did: how many hosts it saw and which it refused."""

    name: str
    before: int
    refused: tuple[tuple[str, str], ...]  # (host name, reason)

    @property
    def after(self) -> int:
        return self.before - len(self.refused)

    def summary(self) -> str:
        """``Name -N``, with the reason when every refusal shares one."""
        reasons = {reason for _, reason in self.refused}
        detail = f" ({reasons.pop()})" if len(reasons) == 1 else ""
        return f"{self.name} -{len(self.refused)}{detail}"


@dataclasses.dataclass(frozen=True)
class Selection:
    """The chosen cell, host and node, with the reasoning behind them."""

    cell: CellMapping
    host: str
    node: str
    candidates: int
    steps: tuple[FilterStep, ...]
    weight: float
    weighed: int
    weight_reasons: tuple[str, ...]

    def explain(self) -> str:
        """One line: the filters that narrowed the choice, then the
        weighing, e.g. ``6 hosts; AvailabilityZoneFilter -3; ...``."""
        parts = [f"{self.candidates} hosts"]
        parts += [step.summary() for step in self.steps if step.refused]
        reasons = ", ".join(self.weight_reasons)
        if self.weighed > 1:
            parts.append(f"best of {self.weighed} by weight ({reasons})")
        else:
            parts.append(f"only candidate ({reasons})")
        return "; ".join(parts)


def explain_refusal(steps: list[FilterStep], examples: int = 3) -> str:
    """Why no host was left: the filter that refused the last ones, with
    a few of its reasons, after what the earlier filters did."""
    last = steps[-1]
    shown = "; ".join(
        f"{host}: {reason}" for host, reason in last.refused[:examples]
    )
    more = len(last.refused) - examples
    if more > 0:
        shown += f"; and {more} more"
    earlier = ", ".join(s.summary() for s in steps[:-1] if s.refused)
    text = f"{last.name} refused the {last.before} remaining host(s) ({shown})"
    if earlier:
        text += f" after {earlier}"
    return text
