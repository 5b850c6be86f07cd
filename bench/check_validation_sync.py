"""Measure the talking clips' own offsets; write the keep/drop decisions.

    python bench/check_validation_sync.py --clips DIR [--estimators NAME,...] [--write]

Each talking clip of the validation split whose sync is trusted by origin (GRID,
VidTIMIT, VoxCeleb2, HDTF), and each talking clip of the calibration split, is run
whole (up to 30 s), at zero injected offset, through estimators that never
trained on it (neither split is trained on). A clip is dropped when at least two
estimators answer with confidence and agree, within a frame of each other, that
its own offset exceeds a frame, and no confident estimator says otherwise: one
model's confident miss is a miss to count, not a reason to drop. Dropped
validation clips leave the verified figures; dropped calibration clips leave the
calibration, whose labels would otherwise call right answers wrong.
``--write`` saves the decisions to ``otio_avsync/model/validation_sync.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from otio_avsync.estimators import get_estimator
from otio_avsync.files import write_bytes_atomic
from otio_avsync.model.corpus import (
    default_cache_dir,
    default_clips_dir,
    default_media_dir,
    folder_clips,
    real_clips,
    trusted_talk,
)
from otio_avsync.model.evaluate import shifted_input
from otio_avsync.model.validation import DECISIONS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", type=Path, help="default: $OTIO_AVSYNC_CLIPS")
    ap.add_argument("--estimators", default="attention,attention-temporal,attention-none")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    ests = []
    for entry in args.estimators.split(","):
        base, _, weights = entry.partition("@")
        ests.append(
            (entry, get_estimator(base, weights=weights) if weights else get_estimator(base))
        )
    first = ests[0][1]  # the front end it really uses (Haar without MediaPipe)
    kw = {"mouth": first.mouth, "geometry": bool(first.cfg.geometry)}
    splits = ("val", "calib")
    clips = real_clips(default_media_dir(), default_cache_dir(), splits=splits, **kw)
    folder = args.clips or default_clips_dir()
    if folder:
        clips += folder_clips(folder, default_cache_dir(), splits=splits, **kw)
    clips = [
        c
        for c in clips
        if c.pool in ("talk", "studio") and (c.split == "calib" or trusted_talk(c.name))
    ]
    out = []
    for clip in clips:
        pt, av = shifted_input(clip, 0.0, max_s=30.0, pad_s=2.2)
        seen = {}
        for name, est in ests:
            e = est.estimate_tiles(pt, av, search_ms=2000.0)
            if e.offset_ms is not None:
                seen[name] = (e.offset_ms * clip.fps / 1000.0, e.confidence)
        sure = [f for f, c in seen.values() if c >= 0.5]
        off = [f for f in sure if abs(f) > 1.0]
        agree = len(off) >= 2 and max(off) - min(off) <= 1.0
        # Several confident models that agree on an offset beyond a frame: the clip's own.
        decision = "drop" if agree and len(off) == len(sure) else "keep"
        own = float(np.median(off)) if agree else (float(np.median(sure)) if sure else None)
        reason = (
            f"{len(off)} of {len(ests)} estimators confidently agree it is {own:+.1f} frames off"
            if decision == "drop"
            else f"{len(sure)} of {len(ests)} answered; none agree on an offset beyond a frame"
            if not agree
            else "answers split between in sync and off"
        )
        rec = {
            "clip": clip.name,
            "split": clip.split,
            "source": clip.source,
            "seconds": round(clip.duration_s, 2),
            "own_offset_frames": None if own is None else round(own, 2),
            "estimates": {k: [round(f, 2), round(c, 3)] for k, (f, c) in seen.items()},
            "decision": decision,
            "reason": reason,
        }
        out.append(rec)
        print(json.dumps(rec))
    print(f"{sum(r['decision'] == 'drop' for r in out)} of {len(out)} dropped")
    if args.write:
        write_bytes_atomic(DECISIONS, (json.dumps(out, indent=1) + "\n").encode())
        print(f"written {DECISIONS}")


if __name__ == "__main__":
    main()
