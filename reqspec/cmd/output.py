"""Plain-text tables and messages for reqspec-manage."""

from collections.abc import Sequence
import sys
from typing import Any
from typing import TextIO


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    out: TextIO | None = None,
) -> None:
    """Print rows under headers, columns padded to their widest cell."""
    out = out or sys.stdout
    cells = [[str(h) for h in headers]] + [
        ["" if v is None else str(v) for v in row] for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(row: list[str]) -> str:
        padded = (c.ljust(w) for c, w in zip(row, widths, strict=True))
        return "| " + " | ".join(padded) + " |"

    print(rule, file=out)
    print(line(cells[0]), file=out)
    print(rule, file=out)
    for row in cells[1:]:
        print(line(row), file=out)
    print(rule, file=out)


def error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
