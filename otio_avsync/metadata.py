"""Our metadata read back: one rule for each thing that several modules read.

The report, the fix, the review panel and the results themselves all read the
``metadata["otio_avsync"]`` that annotation wrote; if two of them named a sound
or read a number differently, the editor's decisions would silently stop
matching the clips they were made on. Imports nothing from the package.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["finite", "plain", "sound_key", "sound_label"]


def plain(value: Any) -> Any:
    """plain(value) -> OTIO's AnyDictionary / AnyVector as dicts (string keys) and lists."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple) or type(value).__name__ == "AnyVector":
        return [plain(v) for v in value]
    return value


def finite(value: Any) -> float | None:
    """finite(value) -> a finite float, or None (a boolean is not a number here)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def sound_key(src: Any) -> str:
    """sound_key(audio_source) -> what the same sound is called across clips.

    Its track, or its stream's language (``stream:fra``; ``stream:1`` when the
    language is unknown). Results with one key form one "language track".
    ``src`` is an ``audio_source`` mapping (``AudioSource`` fields); "" if it is none.
    """
    if not isinstance(src, Mapping):
        return ""
    kind = src.get("kind")
    if kind == "embedded":
        lang = src.get("language")
        return f"stream:{lang}" if lang and lang != "und" else f"stream:{src.get('stream_index')}"
    return str(src.get("track") or kind or "")


def sound_label(src: Any) -> str:
    """sound_label(audio_source) -> a short label for people, such as ``A2 'dub-fr' (fra)``."""
    if not isinstance(src, Mapping):
        return ""
    kind = str(src.get("kind") or "")
    file = str(src.get("file") or "")
    where = str(src.get("track") or "") or (file.rsplit("/", 1)[-1] if file else "") or kind
    stream = src.get("stream_index")
    if stream is not None and kind == "embedded":
        where = f"{where} stream {stream}"
    lang = src.get("language")
    return f"{where} ({lang})" if lang else where
