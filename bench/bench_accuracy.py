"""Accuracy of an estimator (default: the attention model) on generated media with known slips.

    python bench/bench_accuracy.py [--seeds 3] [--first-seed 7] [--clip-s 5] [--fps 25]
                                   [--estimator attention]

For each seed, a timeline with one clip per slip in -10..+10 frames; reports the
share within ±1 and ±2 frames, the median absolute error, the mean signed error
(bias), the share marked uncertain and the share flagged wrongly. Timeline seed ``s``
generates its clips with seeds ``s * 1000 + i``: the default first seed, 7, keeps
clear of the training corpus's generated clips (recipe seed 0: seeds 0..47).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from otio_avsync.audit import AuditOptions, audit_timeline
from otio_avsync.estimators import DEFAULT_ESTIMATOR, ESTIMATORS
from otio_avsync.results import Status
from otio_avsync.testmedia import make_slipped_timeline
from otio_avsync.timeline_io import read_timeline


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=7)
    ap.add_argument("--clip-s", type=float, default=5.0)
    ap.add_argument("--fps", type=Fraction, default=Fraction(25))
    ap.add_argument("--scene", default="mixed")
    ap.add_argument("--estimator", default=DEFAULT_ESTIMATOR, choices=list(ESTIMATORS))
    args = ap.parse_args()
    frame_ms = 1000.0 / float(args.fps)
    errs, uncertain, wrong_flag, n = [], 0, 0, 0
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            truth = make_slipped_timeline(
                Path(tmp) / f"s{seed}",
                list(range(-10, 11)),
                fps=args.fps,
                clip_s=args.clip_s,
                handle_s=0.6,
                seed=seed,
                scene=args.scene,
            )
            result = audit_timeline(
                read_timeline(truth.path),
                AuditOptions(estimator=args.estimator),
                base_dir=truth.path.parent,
            )
            for r in result.results:
                exp = truth.expected[r.clip_name]
                n += 1
                errs.append(np.nan if r.offset_ms is None else r.offset_ms - exp)
                uncertain += r.status is Status.UNCERTAIN
                in_tol = -45 <= exp <= 125
                wrong_flag += in_tol and r.status is Status.OUT_OF_SYNC
    e = np.array(errs)
    absd = np.abs(np.nan_to_num(e, nan=1e9))
    print(
        f"{args.estimator}: {n} clips ({args.seeds} seeds x 21 slips, {args.clip_s:g} s, "
        f"{float(args.fps):.3f} fps, "
        f"scene {args.scene}) in {time.perf_counter() - t0:.0f} s"
    )
    print(
        f"within ±1 frame: {np.mean(absd <= frame_ms):.1%}   within ±2 frames: "
        f"{np.mean(absd <= 2 * frame_ms):.1%}"
    )
    print(
        f"median |error|: {np.nanmedian(np.abs(e)):.1f} ms   "
        f"mean error (bias): {np.nanmean(e):+.1f} ms"
    )
    print(f"uncertain: {uncertain / n:.1%}   in-tolerance clips flagged out of sync: {wrong_flag}")


if __name__ == "__main__":
    main()
