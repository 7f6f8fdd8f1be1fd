"""Plain-text tables and messages for reqspec-manage."""

from collections.abc import Iterator
from collections.abc import Sequence
import contextlib
import logging
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


def using(label: str, url: str, source: str | None = None) -> None:
    """Say which database a command is about to use (stdout, one line)."""
    print(f"using {label}: {url}" + (f" ({source})" if source else ""))


def error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


class _NoTraceback(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


@contextlib.contextmanager
def cli_logging() -> Iterator[None]:
    """Logging for one command: errors of any library as one line each.

    Without a handler, Python's last-resort handler prints every logged
    error with its traceback. oslo.db logs "DBAPIError exception wrapped"
    (with the traceback) for each driver error it has no filter for, such
    as PostgreSQL's missing table before the first ``db sync``, and then
    raises it anyway: reqspec turns that exception into its one error line,
    so the log record only repeats it and is dropped.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.ERROR)
    handler.setFormatter(_NoTraceback())
    root = logging.getLogger()
    wrapped = logging.getLogger("oslo_db.sqlalchemy.exc_filters")
    level = wrapped.level
    root.addHandler(handler)
    wrapped.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        wrapped.setLevel(level)
        root.removeHandler(handler)


@contextlib.contextmanager
def warnings_to_stderr() -> Iterator[None]:
    """Show reqspec's warnings (rows a command had to skip, and why) on
    stderr while a command runs."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("warning: %(message)s"))
    logger = logging.getLogger("reqspec")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


class Progress:
    """A one-line progress bar on a terminal; silent anywhere else.

    Drawn on stderr with carriage returns, so it only makes sense on a
    TTY: in a log file or a CI run (no terminal) nothing is written, and
    the command's summary table tells the outcome instead. A dependency
    would buy nothing over these few lines.
    """

    WIDTH = 30

    def __init__(
        self, total: int, label: str = "", stream: TextIO | None = None
    ) -> None:
        self.stream = stream or sys.stderr
        self.total = max(total, 0)
        self.label = label
        self.count = 0
        self.enabled = self.stream.isatty()
        self._drawn = False

    def advance(self, amount: int, label: str | None = None) -> None:
        self.count += amount
        if label is not None:
            self.label = label
        if self.enabled:
            self._draw()

    def _draw(self) -> None:
        total = max(self.total, self.count, 1)
        filled = self.WIDTH * min(self.count, total) // total
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(
            f"\r[{bar}] {self.count}/{total} {self.label}"[:200] + "\x1b[K"
        )
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self.enabled and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
