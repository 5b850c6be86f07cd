"""Injected-offset evaluation on cached clips: shared by calibration and the benchmarks.

A case takes up to ``max_s`` seconds of a clip, delays its sound by a known
offset (``> 0``: sound late) and asks an estimator for it. Errors are judged in
frames of the clip's own rate.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from otio_avsync.model.corpus import Clip
from otio_avsync.model.frontend import AUDIO_RATE, PictureTiles
from otio_avsync.results import BT1359, Status, Tolerance, judge
from otio_avsync.spans import AVInput


@dataclass
class Case:
    clip: str
    pool: str
    fps: float
    true_ms: float
    est_ms: float | None
    confidence: float
    seconds: float
    evidence: dict[str, float] = field(default_factory=dict)
    at_search_edge: bool = False

    @property
    def error_frames(self) -> float:
        if self.est_ms is None:
            return math.inf
        return abs(self.est_ms - self.true_ms) * self.fps / 1000.0


def shifted_input(
    clip: Clip, offset_ms: float, *, start_s: float = 0.0, max_s: float = 10.0, pad_s: float = 2.2
) -> tuple[PictureTiles, AVInput]:
    """Up to ``max_s`` seconds of ``clip`` from ``start_s`` with the sound delayed by ``offset_ms``.

    The sound covers ``pad_s`` either side of the picture (silence where the
    clip has none), as the audit's rendering does.
    """
    f0 = round(start_s * clip.fps)
    f1 = min(len(clip.tiles), f0 + round(max_s * clip.fps))
    dur = (f1 - f0) / clip.fps
    n = round((dur + 2 * pad_s) * AUDIO_RATE)
    # audio[i] plays at -pad_s + i/rate (picture time); it carries the clip's sound from
    # picture time minus the offset.
    src0 = round((start_s - pad_s - offset_ms / 1000.0) * AUDIO_RATE)
    audio = np.zeros(n, np.float32)
    lo, hi = max(0, src0), min(len(clip.audio), src0 + n)
    if hi > lo:
        audio[lo - src0 : hi - src0] = clip.audio[lo:hi]
    geo = None if clip.geometry is None else clip.geometry[f0:f1]
    pt = PictureTiles(clip.tiles[f0:f1], clip.mouth_boxes[f0:f1], geo)
    av = AVInput(
        frames=np.zeros((0, 1, 1), np.uint8),
        frame_times=np.arange(f1 - f0) / clip.fps,
        fps=clip.fps,
        audio=audio,
        rate=AUDIO_RATE,
        audio_start_s=-pad_s,
        duration_s=dur,
    )
    return pt, av


def offsets_for(
    clip: Clip,
    count: int,
    rng: np.random.Generator,
    *,
    in_sync_share: float = 0.2,
    max_frames: float = 15.0,
) -> list[float]:
    """Offsets in ms: about ``in_sync_share`` of them zero, the rest uniform in +-max_frames."""
    out = []
    for _ in range(count):
        if rng.random() < in_sync_share:
            out.append(0.0)
        else:
            out.append(float(rng.uniform(-max_frames, max_frames) * 1000.0 / clip.fps))
    return out


def run_cases(
    estimator: Any,
    clips: list[Clip],
    per_clip: int,
    *,
    seed: int = 0,
    max_s: float = 10.0,
    min_s: float | None = None,
    search_ms: float = 2000.0,
) -> list[Case]:
    """Estimate injected offsets with an estimator that takes tiles (the attention model).

    Each case takes ``max_s`` seconds of its clip, or with ``min_s`` a length drawn
    uniformly between the two, so that the amount of material varies within every
    source and is not confounded with it (short clips are mostly real talk).
    """
    rng = np.random.default_rng(seed)
    cases = []
    for clip in clips:
        for off in offsets_for(clip, per_clip, rng):
            longest = min(max_s, clip.duration_s)
            span = longest if min_s is None else float(rng.uniform(min(min_s, longest), longest))
            start = float(rng.uniform(0, max(0.0, clip.duration_s - span)))
            pt, av = shifted_input(
                clip, off, start_s=start, max_s=span, pad_s=search_ms / 1000.0 + 0.2
            )
            t0 = time.perf_counter()
            est = estimator.estimate_tiles(pt, av, search_ms=search_ms)
            cases.append(
                Case(
                    clip.name,
                    clip.pool,
                    clip.fps,
                    off,
                    est.offset_ms,
                    est.confidence,
                    time.perf_counter() - t0,
                    dict(est.evidence),
                    est.at_search_edge,
                )
            )
    return cases


def summarise(
    cases: list[Case], *, min_confidence: float = 0.5, tolerance: Tolerance = BT1359
) -> dict[str, float]:
    """Shares within 1 and 2 frames, median error, abstentions, false flags, calibration error.

    A false flag is the audit's: an in-sync case that :func:`~otio_avsync.results.judge`
    calls out of sync (confidence at least ``min_confidence``, the estimate outside
    ``tolerance``). ``confident_misses_in_sync`` is the stricter figure the model card's
    earlier tables called false flags: in sync, answered, but more than a frame off.
    """
    if not cases:
        return {}
    err = np.array([c.error_frames for c in cases])
    conf = np.array([c.confidence for c in cases])
    answered = conf >= min_confidence
    within1 = err <= 1.0
    insync = np.array([c.true_ms == 0.0 for c in cases])
    ms_err = np.array(
        [abs(c.est_ms - c.true_ms) if c.est_ms is not None else np.nan for c in cases]
    )
    flagged = np.array(
        [
            judge(
                c.est_ms,
                c.confidence,
                tolerance,
                min_confidence=min_confidence,
                at_search_edge=c.at_search_edge,
            )
            is Status.OUT_OF_SYNC
            for c in cases
        ]
    )
    false_flag = insync & flagged
    confident_miss = insync & answered & ~within1
    bins = np.clip((conf * 10).astype(int), 0, 9)
    ece = sum(
        abs(conf[bins == b].mean() - within1[bins == b].mean()) * np.mean(bins == b)
        for b in range(10)
        if np.any(bins == b)
    )
    return {
        "cases": len(cases),
        "within_1_frame": float(within1.mean()),
        "within_2_frames": float((err <= 2.0).mean()),
        "median_abs_error_ms": float(np.nanmedian(ms_err))
        if np.isfinite(ms_err).any()
        else float("nan"),
        "abstained": float(1 - answered.mean()),
        "answered_within_1_frame": float(within1[answered].mean())
        if answered.any()
        else float("nan"),
        # The headline: answered (confidence >= min_confidence) and right.
        "answered_and_within_1_frame": float((answered & within1).mean()),
        "answered_and_within_2_frames": float((answered & (err <= 2.0)).mean()),
        "answered_within_2_frames": float((err[answered] <= 2.0).mean())
        if answered.any()
        else float("nan"),
        "false_flags_in_sync": float(false_flag.sum() / max(1, insync.sum())),
        "confident_misses_in_sync": float(confident_miss.sum() / max(1, insync.sum())),
        "calibration_error": float(ece),
        "seconds_per_case": float(np.mean([c.seconds for c in cases])),
    }


def fit_calibration(
    cases: list[Case], features: tuple[str, ...], *, l2: float = 1.0
) -> dict[str, Any]:
    """Logistic regression of "within one frame" on standardised scan evidence."""
    from scipy.optimize import minimize

    x = np.array([[c.evidence[f] for f in features] for c in cases if c.evidence], float)
    y = np.array([c.error_frames <= 1.0 for c in cases if c.evidence], float)
    mean, scale = x.mean(0), x.std(0) + 1e-6
    z = (x - mean) / scale

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        logit = z @ w[1:] + w[0]
        p = 1 / (1 + np.exp(-logit))
        nll = np.sum(np.logaddexp(0, logit) - y * logit) + 0.5 * l2 * np.sum(w[1:] ** 2)
        g = np.concatenate([[np.sum(p - y)], z.T @ (p - y) + l2 * w[1:]])
        return float(nll), g

    w = minimize(loss, np.zeros(len(features) + 1), jac=True, method="L-BFGS-B").x
    return {
        "features": list(features),
        "coef": [float(v) for v in w[1:]],
        "bias": float(w[0]),
        "mean": [float(v) for v in mean],
        "scale": [float(v) for v in scale],
        "cases": len(y),
        "positive_share": float(y.mean()) if len(y) else 0.0,
    }
