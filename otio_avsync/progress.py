"""Plain-text progress and summary lines, for logs, pipes and the OTIO hook.

A terminal gets rich's live bar (see :mod:`otio_avsync.cli`); anything else gets
a line every few seconds that a log keeps: clips done, elapsed, what is left.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO


def plural(n: int, word: str, many: str | None = None) -> str:
    """``plural(1, "clip") -> "1 clip"``, ``plural(2, "clip") -> "2 clips"``."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    m, s = divmod(seconds, 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ProgressLines:
    """A progress callback ``(done, total, name)`` that prints a line every ``every_s`` seconds."""

    def __init__(
        self,
        stream: TextIO,
        *,
        label: str = "otio-avsync",
        every_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream, self.label, self.every_s, self.clock = stream, label, every_s, clock
        self.t0: float | None = None
        self.last = 0.0

    def _say(self, text: str) -> None:
        print(f"{self.label}: {text}", file=self.stream, flush=True)

    def __call__(self, done: int, total: int, name: str = "") -> None:
        now = self.clock()
        if self.t0 is None:
            self.t0 = self.last = now
            self._say(f"analysing {plural(total, 'clip')}")
            return
        if done < total and now - self.last < self.every_s:
            return
        self.last = now
        elapsed = now - self.t0
        text = f"{done}/{total} analysed, {_clock(elapsed)} elapsed"
        if 0 < done < total:
            text += f", about {_clock(elapsed / done * (total - done))} left"
        self._say(text)


def summary_line(result: Any) -> str:
    """``3 results: in sync 2, no audio 1; 0 flagged; 1 could not be checked.``"""
    if not result.results:
        return "No picture clip to check: the timeline has no video clips."
    counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in result.counts().items())
    line = f"{plural(len(result.results), 'result')}: {counts}; {len(result.flagged)} flagged"
    unchecked = sum(r.status.unchecked for r in result.results)
    return line + (f"; {unchecked} could not be checked." if unchecked else ".")
