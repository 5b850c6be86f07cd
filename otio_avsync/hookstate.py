"""A switch that keeps our ``post_adapter_read`` hook quiet while we read a file ourselves."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

_state = threading.local()


def is_suppressed() -> bool:
    """True while :func:`suppressed` is active in this thread."""
    return getattr(_state, "depth", 0) > 0


@contextlib.contextmanager
def suppressed() -> Iterator[None]:
    """with suppressed(): reads do not trigger an audit from the hook."""
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        yield
    finally:
        _state.depth -= 1
