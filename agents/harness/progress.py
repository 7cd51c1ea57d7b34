"""Progress for every command: a tqdm bar on a terminal, plain lines in a log.

A bar redraws itself with carriage returns, which a redirected log keeps as thousands of updates; tqdm's own
convention (``disable=None``) is to show nothing when the output is not a terminal. Commands here print a line
at every tenth of the work instead (:class:`LineProgress`), so a log still says how far a run got.
"""

from __future__ import annotations

import sys
import time
from typing import Any


def interactive() -> bool:
    """Progress goes to a terminal (or a notebook), where a live bar belongs."""
    return "ipykernel" in sys.modules or bool(getattr(sys.stderr, "isatty", lambda: False)())


def progress_bar(total: int | None, desc: str, unit: str = "it", initial: int = 0, leave: bool = True) -> Any:
    """A tqdm bar on a terminal, else a :class:`LineProgress`; both have ``n``, ``update``,
    ``set_postfix_str`` and ``close``."""
    if interactive():
        from tqdm.auto import tqdm

        return tqdm(total=total, initial=initial, desc=desc, unit=unit, leave=leave, dynamic_ncols=True)
    return LineProgress(total, desc, unit, initial)


class LineProgress:
    """tqdm's interface for a log: one line per tenth of ``total`` (per minute when the total is unknown) and
    one at the end, each on its own line (stderr, like tqdm)."""

    def __init__(self, total: int | None, desc: str, unit: str = "it", initial: int = 0, interval_s: float = 60.0) -> None:
        self.total, self.desc, self.unit, self.n = total, desc, unit, initial
        self.postfix = ""
        self.started = self.last_line = time.perf_counter()
        self.interval_s = interval_s
        self.tenths = self._tenths()
        self.closed = False
        self.printed_at: int | None = None

    def _tenths(self) -> int:
        return 10 * self.n // self.total if self.total else 0

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.perf_counter()
        if self.total and self._tenths() > self.tenths:
            self.tenths = self._tenths()
            self._line()
        elif not self.total and now - self.last_line >= self.interval_s:
            self._line()

    def set_postfix_str(self, text: str = "", refresh: bool = True) -> None:
        self.postfix = text

    def close(self) -> None:
        if not self.closed and self.printed_at != self.n and self.n > 0:
            self._line()
        self.closed = True

    def _line(self) -> None:
        self.last_line = time.perf_counter()
        self.printed_at = self.n
        done = f"{self.n:,}/{self.total:,} {self.unit}" if self.total else f"{self.n:,} {self.unit}"
        percent = f" ({100 * self.n // self.total}%)" if self.total else ""
        postfix = f", {self.postfix}" if self.postfix else ""
        print(f"{self.desc}: {done}{percent} in {self.last_line - self.started:.0f} s{postfix}", file=sys.stderr, flush=True)
