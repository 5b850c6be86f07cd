"""Heavy work off the UI thread: a QThreadPool whose results come back as queued signals.

:meth:`Worker.submit` runs a plain callable on the pool. Results are delivered
on the UI thread; a newer job of the same *kind* (say, the evidence of another
clip) makes older ones stale, and their results are dropped rather than shown
for the wrong clip.
"""

from __future__ import annotations

import itertools
import logging
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)


class _Signals(QObject):
    done = Signal(int, object)
    failed = Signal(int, str)


class _Task(QRunnable):
    def __init__(self, token: int, fn: Callable[[], Any], signals: _Signals) -> None:
        super().__init__()
        self.token, self.fn, self.signals = token, fn, signals
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            try:
                result = self.fn()
            except Exception as exc:
                log.debug("review task failed:\n%s", traceback.format_exc())
                self.signals.failed.emit(self.token, str(exc) or type(exc).__name__)
            else:
                self.signals.done.emit(self.token, result)
        except RuntimeError:  # the window went away while this ran: nobody to tell
            log.debug("review task finished after its receiver was deleted")


class Worker(QObject):
    """Worker(parent=None, threads=2): runs callables off the UI thread."""

    def __init__(self, parent: QObject | None = None, threads: int = 2) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max(1, threads))
        self._tokens = itertools.count(1)
        self._latest: dict[str, int] = {}
        self._pending: dict[int, tuple[str, _Signals, Callable, Callable | None]] = {}
        self._closed = False

    def submit(
        self,
        kind: str,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_fail: Callable[[str], None] | None = None,
    ) -> int:
        """Run ``fn()`` on the pool; ``on_done(result)`` or ``on_fail(msg)`` on the UI thread."""
        token = next(self._tokens)
        if self._closed:
            return token  # shutting down: nothing runs any more
        signals = _Signals()
        signals.done.connect(self._done)
        signals.failed.connect(self._failed)
        self._latest[kind] = token
        self._pending[token] = (kind, signals, on_done, on_fail)
        self.pool.start(_Task(token, fn, signals))
        return token

    def busy(self, kind: str | None = None) -> bool:
        """True while a job (of ``kind``) has not delivered its result."""
        return any(k == kind or kind is None for k, *_ in self._pending.values())

    def _take(self, token: int) -> tuple[Callable, Callable | None] | None:
        entry = self._pending.pop(token, None)
        if entry is None:
            return None
        kind, signals, on_done, on_fail = entry
        signals.deleteLater()
        if self._latest.get(kind) != token:
            return None  # superseded: a newer job of this kind is on its way
        return on_done, on_fail

    @Slot(int, object)
    def _done(self, token: int, result: Any) -> None:
        callbacks = self._take(token)
        if callbacks is not None:
            callbacks[0](result)

    @Slot(int, str)
    def _failed(self, token: int, message: str) -> None:
        callbacks = self._take(token)
        if callbacks is not None and callbacks[1] is not None:
            callbacks[1](message)

    def shutdown(self, msecs: int = 5000) -> None:
        """Wait for running jobs (queued ones are dropped); no new job starts after this."""
        self._closed = True
        self.pool.clear()
        self.pool.waitForDone(msecs)
