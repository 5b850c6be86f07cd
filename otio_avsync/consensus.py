"""Track-level consensus: one offset per sound track, with drift and jumps.

Offsets in dubs are rarely clip by clip: a whole reel slips, a frame-rate
conform makes the sound drift (a straight line in timeline time: 1000 ppm for
24 vs 23.976 fps, 4 % for 25 vs 24), or an edit made after the dub leaves a
jump. Per sound key (an audio track or a stream language) the clip offsets are
fitted three ways: a constant (weighted median), a line (weighted least squares
after dropping outliers) and two constants with a break between two clips. The
simplest model that explains the clips to within the measurement noise wins
(Bayesian information criterion with a noise floor of half a millisecond); a
drift or a jump is only reported when it is larger than a quarter of a frame.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from otio_avsync.progress import plural
from otio_avsync.results import ClipResult, Status, Tolerance

__all__ = ["TrackConsensus", "track_consensus"]

_NOISE_FLOOR_MS = 0.5


@dataclass
class TrackConsensus:
    """The verdict on one sound track (or one language of the media's streams)."""

    key: str
    status: Status
    offset_ms: float | None  # global offset (at the track's first analysed clip for drift)
    confidence: float
    clips: int  # clips with an answer
    agreeing: float  # share of clips within one frame of the fitted model
    model: str  # "constant", "drift" or "jump"
    drift_ppm: float | None = None
    drift_cause: str | None = None
    offset_end_ms: float | None = None  # drift: offset at the last clip
    jump: dict[str, Any] | None = None
    model_offset_ms: float | None = None  # the picture model's own consensus, for comparison
    disagree: bool = False  # the picture model and the reference alignment disagree
    #: The clips were slipped by different amounts (the normal case of a cut): no one
    #: offset stands for the track; ``spread_ms`` is the range of their offsets.
    clips_disagree: bool = False
    spread_ms: tuple[float, float] | None = None
    language: str | None = None
    message: str = ""
    span_s: tuple[float, float] = (0.0, 0.0)
    #: per clip: (clip name, timeline seconds, offset ms, confidence)
    points: list[tuple[str, float, float, float]] = field(default_factory=list)

    def to_metadata(self) -> dict[str, Any]:
        def r(v: float | None, d: int = 2) -> float | None:
            return None if v is None else round(float(v), d)

        return {
            "key": self.key,
            "status": self.status.value,
            "offset_ms": r(self.offset_ms),
            "offset_end_ms": r(self.offset_end_ms),
            "confidence": round(self.confidence, 4),
            "clips": self.clips,
            "agreeing": round(self.agreeing, 4),
            "model": self.model,
            "drift_ppm": r(self.drift_ppm, 1),
            "drift_cause": self.drift_cause,
            "jump": self.jump,
            "model_offset_ms": r(self.model_offset_ms),
            "disagree": self.disagree,
            "clips_disagree": self.clips_disagree,
            "spread_ms": None if self.spread_ms is None else [r(v) for v in self.spread_ms],
            "language": self.language,
            "message": self.message,
        }


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, cum[-1] / 2)])


def _bic(resid: np.ndarray, k: int) -> float:
    n = len(resid)
    rss = float(np.sum(resid**2)) / n + _NOISE_FLOOR_MS**2
    return n * math.log(rss) + k * math.log(max(n, 2))


def _inliers(resid: np.ndarray, frame_ms: float) -> np.ndarray:
    return np.abs(resid) <= frame_ms


def _fit(t: np.ndarray, y: np.ndarray, w: np.ndarray, frame_ms: float) -> dict[str, Any]:
    """Constant, line and one jump; each with outliers (beyond a frame) left out and refitted."""
    fits: dict[str, Any] = {}
    c = _weighted_median(y, w)
    keep = _inliers(y - c, frame_ms * 2)
    c = float(np.average(y[keep], weights=w[keep])) if keep.any() else c
    fits["constant"] = {"pred": np.full_like(y, c), "k": 1, "offset": c}
    if len(y) >= 3 and np.ptp(t) > 0:
        # Robust line: Theil-Sen start, then weighted least squares on the inliers.
        from scipy.stats import theilslopes

        slope, icpt, _, _ = theilslopes(y, t)
        keep = _inliers(y - (icpt + slope * t), frame_ms * 2)
        if keep.sum() >= 2 and np.ptp(t[keep]) > 0:
            slope, icpt = np.polyfit(t[keep], y[keep], 1, w=np.sqrt(w[keep]))
        fits["drift"] = {"pred": icpt + slope * t, "k": 2, "slope": float(slope)}
    if len(y) >= 4:
        best = None
        for j in range(2, len(y) - 1):  # at least two clips each side
            a = _weighted_median(y[:j], w[:j])
            b = _weighted_median(y[j:], w[j:])
            pred = np.where(np.arange(len(y)) < j, a, b)
            err = float(np.sum(w * np.minimum(np.abs(y - pred), 3 * frame_ms) ** 2))
            if best is None or err < best[0]:
                best = (err, j, a, b, pred)
        if best is not None:
            _, j, a, b, pred = best
            fits["jump"] = {"pred": pred, "k": 3, "index": j, "before": a, "after": b}
    for fit in fits.values():
        resid = y - fit["pred"]
        inl = _inliers(resid, frame_ms)
        fit["inliers"] = inl
        fit["bic"] = _bic(np.where(inl, resid, frame_ms), fit["k"])
    return fits


def track_consensus(
    results: list[ClipResult],
    *,
    tolerance: Tolerance,
    min_confidence: float,
) -> list[TrackConsensus]:
    """track_consensus(results, tolerance=..., min_confidence=...) -> one entry per sound key."""
    by_key: dict[str, list[ClipResult]] = defaultdict(list)
    for r in results:
        if r.audio_source is not None:
            by_key[r.audio_source.key()].append(r)
    out = []
    for key, group in by_key.items():
        out.append(_one(key, group, tolerance, min_confidence))
    return out


def _one(
    key: str, group: list[ClipResult], tolerance: Tolerance, min_confidence: float
) -> TrackConsensus:
    rate = group[0].rate or 25.0
    frame_ms = 1000.0 / rate
    lang = next((r.audio_source.language for r in group if r.audio_source.language), None)
    answered, points, span = _answered(group, min_confidence)
    if not answered:
        return TrackConsensus(
            key,
            Status.UNCERTAIN,
            None,
            0.0,
            0,
            0.0,
            "constant",
            language=lang,
            message=f"No clip of {key} could be judged with confidence.",
        )
    t = np.array([p[1] for p in points])
    y = np.array([p[2] for p in points])
    w = np.array([p[3] for p in points])
    choice, fit = _choose_fit(t, y, w, frame_ms)
    agreeing = float(np.mean(fit["inliers"]))
    conf = float(np.average(w, weights=None) * agreeing) * min(1.0, 0.5 + 0.25 * len(points))
    c = TrackConsensus(
        key,
        Status.UNCERTAIN,
        None,
        conf,
        len(points),
        agreeing,
        choice,
        language=lang,
        span_s=span,
        points=points,
    )
    ends = _describe_fit(c, fit, choice)
    _check_model(c, answered, y, frame_ms, min_confidence)
    if len(points) >= 2 and agreeing < CLIPS_AGREE:
        return _clips_disagree(c, y, fit, choice)
    if conf < min_confidence:  # they agree, but there are too few of them or they are weak
        c.status = Status.UNCERTAIN
        c.message += f" (confidence {conf:.0%} from {plural(len(points), 'clip')})"
    else:
        bad = any(not tolerance.accepts(v) for v in ends)
        c.status = Status.OUT_OF_SYNC if bad else Status.IN_SYNC
    c.message += "."
    return c


def _answered(
    group: list[ClipResult], min_confidence: float
) -> tuple[list[ClipResult], list[tuple[str, float, float, float]], tuple[float, float]]:
    """The clips judged with confidence, in timeline order; their points (clip name,
    timeline seconds at the span's middle, offset ms, confidence); the span they cover."""
    answered = [
        r
        for r in group
        if r.offset_ms is not None
        and r.confidence >= min_confidence
        and r.status in (Status.IN_SYNC, Status.OUT_OF_SYNC)
    ]
    answered.sort(key=lambda r: r.span_start_s or 0.0)
    points = [
        (
            r.clip_name,
            (r.span_start_s or 0.0) + (r.span_duration_s or 0.0) / 2,
            float(r.offset_ms),
            float(r.confidence),
        )
        for r in answered
    ]
    # The track marker covers the analysed clips from the first one's start to the last one's end.
    span = (
        (
            min(r.span_start_s or 0.0 for r in answered),
            max((r.span_start_s or 0.0) + (r.span_duration_s or 0.0) for r in answered),
        )
        if answered
        else (0.0, 0.0)
    )
    return answered, points, span


def _choose_fit(
    t: np.ndarray, y: np.ndarray, w: np.ndarray, frame_ms: float
) -> tuple[str, dict[str, Any]]:
    """The simplest fit that explains the clips (lowest BIC); a drift or a jump of less
    than a quarter of a frame is a constant."""
    fits = _fit(t, y, w, frame_ms)
    choice = min(fits, key=lambda k: fits[k]["bic"])
    if choice == "drift" and abs(fits["drift"]["slope"] * np.ptp(t)) < frame_ms / 4:
        choice = "constant"
    if choice == "jump" and abs(fits["jump"]["after"] - fits["jump"]["before"]) < frame_ms / 4:
        choice = "constant"
    return choice, fits[choice]


def _describe_fit(c: TrackConsensus, fit: dict[str, Any], choice: str) -> list[float]:
    """Set the track's offsets, drift or jump and its message from the chosen fit; the
    offsets the tolerance judges (the start and the end of a drift or a jump)."""
    key, points = c.key, c.points
    if choice == "constant":
        c.offset_ms = fit["offset"]
        c.message = f"{key}: {c.offset_ms:+.0f} ms over {plural(len(points), 'clip')}"
        return [fit["offset"]]
    if choice == "drift":
        # Imported here: the reference estimator pulls in scipy.signal (a second of
        # start-up that an audit without drifting tracks, e.g. a cached re-audit, skips).
        from otio_avsync.estimators.reference import likely_conform

        slope = fit["slope"]  # ms per second
        c.drift_ppm = slope * 1000.0
        c.drift_cause = likely_conform(c.drift_ppm)
        c.offset_ms = float(fit["pred"][0])
        c.offset_end_ms = float(fit["pred"][-1])
        c.message = (
            f"{key}: drifts {c.drift_ppm:+.0f} ppm, from {c.offset_ms:+.0f} ms to "
            f"{c.offset_end_ms:+.0f} ms" + (f" (likely {c.drift_cause})" if c.drift_cause else "")
        )
        return [c.offset_ms, c.offset_end_ms]
    j = fit["index"]
    c.offset_ms = fit["before"]
    c.offset_end_ms = fit["after"]
    c.jump = {
        "after_clip": points[j - 1][0],
        "before_clip": points[j][0],
        "at_s": round((points[j - 1][1] + points[j][1]) / 2, 3),
        "from_ms": round(fit["before"], 2),
        "to_ms": round(fit["after"], 2),
    }
    c.message = (
        f"{key}: jumps from {fit['before']:+.0f} ms to {fit['after']:+.0f} ms "
        f"between {points[j - 1][0]} and {points[j][0]}"
    )
    return [fit["before"], fit["after"]]


def _check_model(
    c: TrackConsensus,
    answered: list[ClipResult],
    y: np.ndarray,
    frame_ms: float,
    min_confidence: float,
) -> None:
    """The picture model's own view, to say when it disagrees with the reference alignment."""
    model = [
        (r.reference or {}).get("model_offset_ms")
        for r in answered
        if (r.reference or {}).get("used")
        and (r.reference or {}).get("model_confidence", 0) >= min_confidence
    ]
    model = [m for m in model if m is not None]
    if len(model) >= max(2, len(c.points) // 2):
        c.model_offset_ms = float(np.median(model))
        resid = np.array(model) - np.median(y)
        c.disagree = bool(abs(np.median(resid)) > 2 * frame_ms)
        if c.disagree:
            c.message += (
                f"; the picture model finds {c.model_offset_ms:+.0f} ms: model and reference"
                " disagree"
            )


#: Below this share of clips within a frame of the best fit, the clips disagree.
CLIPS_AGREE = 0.75


def _clips_disagree(
    c: TrackConsensus, y: np.ndarray, fit: dict[str, Any], choice: str
) -> TrackConsensus:
    """Clips slipped by different amounts: say so with the spread, and no track offset."""
    lo, hi = float(np.min(y)), float(np.max(y))
    n_fit = int(np.sum(fit["inliers"]))
    c.status = Status.UNCERTAIN
    c.clips_disagree = True
    c.spread_ms = (lo, hi)
    c.offset_ms = c.offset_end_ms = c.drift_ppm = c.drift_cause = None
    c.jump = None
    c.message = (
        f"{c.key}: clips disagree: offsets from {lo:+.0f} ms to {hi:+.0f} ms over "
        f"{plural(c.clips, 'clip')} (spread {hi - lo:.0f} ms; {n_fit} of {c.clips} within "
        f"a frame of one {choice} fit); judge each clip on its own."
    )
    return c
