"""The talking clips' own sync: which clips were checked, and which were dropped.

A validation figure is only as good as the truth it compares with, and a
calibration only as good as its labels. Sources whose sync is trusted by origin
(studio recordings, VoxCeleb2, HDTF) can still hold a clip whose own sound is
off, so the talking clips of the validation and calibration splits were measured
at zero injected offset by estimators that never trained on them
(``bench/check_validation_sync.py``); a clip whose own offset exceeds a frame is
dropped from the verified figures and from the calibration. The decisions and
their reasons live in ``validation_sync.json`` beside this module.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

DECISIONS = Path(__file__).with_name("validation_sync.json")


@lru_cache(maxsize=1)
def decisions() -> list[dict[str, Any]]:
    """decisions() -> [{clip, own_offset_frames, decision, reason}, ...] (keep | drop)."""
    if not DECISIONS.is_file():
        return []
    return json.loads(DECISIONS.read_text())


def dropped_clips() -> set[str]:
    """Names of the clips left out of the verified figures and of the calibration."""
    return {d["clip"] for d in decisions() if d.get("decision") == "drop"}
