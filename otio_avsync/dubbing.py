"""The reference stage: align each dub against the original mix and combine with the model.

After the picture estimator has looked at every (picture clip, sound) job, the
sounds are grouped by their *key* (an audio track, or a language of the media's
own streams). One key is the reference: named by the user (``--reference-track``
takes a track name or a language), marked in metadata
(``track.metadata["otio_avsync"]["role"] = "reference"``), named like one
(``ORIG``, ``OV``, ``M&E``, ``MIX``, ``REF``), or else the sound the picture
estimator finds most confidently in sync. Every other sound of each picture clip
is then aligned to the reference's sound, audio to audio
(:class:`~otio_avsync.estimators.reference.ReferenceEstimator`), and that offset
replaces the picture estimate when it is confident; the picture estimate is kept
alongside and a disagreement of more than two frames is reported.

Alignment gives the dub's offset against the reference, so the reference's own
offset against the picture is added when the picture estimator finds the
reference out of sync: the reference track's consensus when it is constant over
several clips (a mix is slipped as a whole, and one number over many clips is
far less noisy than one clip's), else the clip's own confident estimate. A
reference found in sync adds nothing (its estimate within the tolerance is more
likely the picture model's noise than the mix's error), and one the picture
estimator cannot judge is taken as in sync, which the message says.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from otio_avsync.errors import AvsyncError
from otio_avsync.jobs import AnalysisJob
from otio_avsync.results import ClipResult, Status, Tolerance, describe, judge, round_or_none

log = logging.getLogger(__name__)

__all__ = ["align_dubs", "choose_reference", "source_keys"]

_REFERENCE_NAMES = re.compile(
    r"(^|[^a-z])(orig(inal)?|ov|m\s*&\s*e|m\s*and\s*e|me|mix|ref(erence)?)([^a-z]|$)", re.I
)
#: Model and reference disagree when their offsets differ by more than this many frames.
DISAGREE_FRAMES = 2.0
#: Seconds of a dub clip's own media read before and after its span (see
#: :func:`otio_avsync.render.render_sound_with_handles`): they carry the clip's
#: slip and give the alignment more of the shared bed to find.
HANDLE_S = 3.0
#: A weak clip that agrees with its track's sure clips (see ``_pool_tracks``) gets this
#: confidence, if its best peak stands at least this many robust deviations high.
POOLED_CONFIDENCE = 0.8
POOLED_MIN_Z = 6.0


def _key(job: AnalysisJob) -> str | None:
    return job.source.key() if job.source is not None else None


def source_keys(jobs: list[AnalysisJob]) -> list[str]:
    """The distinct sound keys of the jobs, in timeline order."""
    return list(dict.fromkeys(k for j in jobs if (k := _key(j)) is not None))


def _role_hint(job: AnalysisJob) -> str | None:
    """``role`` from our metadata on the sound's clip or track, if set."""
    return job.source.role if job.source is not None else None


def choose_reference(
    pairs: list[tuple[AnalysisJob, ClipResult]],
    requested: str | None,
    *,
    min_confidence: float,
) -> tuple[str | None, str]:
    """choose_reference(pairs, requested) -> (key or None, how it was chosen)

    Raises :class:`AvsyncError` when ``requested`` names no sound of the timeline.
    """
    jobs = [j for j, _ in pairs]
    keys = source_keys(jobs)
    if requested:
        want = requested.strip().lower()
        for key in keys:
            langs = {
                (j.source.language or "").lower()
                for j in jobs
                if _key(j) == key and j.source is not None
            }
            if key.lower() == want or want in langs or key.lower() == f"stream:{want}":
                return key, f"named ({requested})"
        for key in keys:
            if want in key.lower():
                return key, f"named ({requested})"
        raise AvsyncError(
            f"no audio track or stream language matches --reference-track {requested!r}; "
            f"the timeline has: {', '.join(keys) or 'no linked sound'}"
        )
    if len(keys) < 2:
        return None, "only one sound"
    for key in keys:
        if any(_role_hint(j) == "reference" for j in jobs if _key(j) == key):
            return key, "marked as reference in metadata"
    for key in keys:
        if _REFERENCE_NAMES.search(key.removeprefix("stream:")):
            return key, "named like an original mix"
    # Automatic: the sound the picture estimator finds in sync most often and most surely.
    score: dict[str, float] = defaultdict(float)
    for job, res in pairs:
        key = _key(job)
        if key is not None and res.status is Status.IN_SYNC:
            score[key] += res.confidence
    if not score:
        return None, "no sound was found in sync with the picture"
    best = max(keys, key=lambda k: score.get(k, 0.0))
    return best, "found in sync with the picture by the model"


def align_dubs(
    pairs: list[tuple[AnalysisJob, ClipResult]],
    *,
    reference_key: str,
    search_ms: float,
    tolerance: Tolerance,
    min_confidence: float,
    render_sound: Callable[..., Any],
    render_dub: Callable[..., Any] | None = None,
    timings: dict[str, float] | None = None,
) -> int:
    """align_dubs(pairs, reference_key=..., ...) -> number of sounds aligned

    Updates the results of non-reference sounds in place. ``render_dub(job,
    audio_rate=..., handle_s=...)`` gives a dub's sound with its handles and where
    it starts (:func:`otio_avsync.render.render_sound_with_handles`); without it
    the span alone is used.
    """
    import time

    from otio_avsync.estimators.base import AVInput
    from otio_avsync.estimators.reference import ReferenceEstimator

    aligner = ReferenceEstimator()
    rate = aligner.audio_rate
    track_base = _reference_track_offset(pairs, reference_key, tolerance, min_confidence)
    by_clip: dict[tuple[int, str], list[tuple[AnalysisJob, ClipResult]]] = defaultdict(list)
    for job, res in pairs:
        by_clip[job.key].append((job, res))
    aligned: list[tuple[AnalysisJob, ClipResult, ClipResult, Any]] = []
    timings = timings if timings is not None else {}
    for group in by_clip.values():
        ref = next(((j, r) for j, r in group if _key(j) == reference_key), None)
        if ref is None or ref[0].status is not None or not ref[0].sound:
            continue
        ref_job, ref_res = ref
        ref_audio = None
        for job, res in group:
            if job is ref_job or job.status is not None or not job.sound:
                continue
            if res.status not in (Status.IN_SYNC, Status.OUT_OF_SYNC, Status.UNCERTAIN):
                continue
            t0 = time.perf_counter()
            try:
                if render_dub is not None:
                    sound, start = render_dub(job, audio_rate=rate, handle_s=HANDLE_S)
                else:
                    sound, start = render_sound(job, audio_rate=rate, pad_s=0.0), 0.0
                # The reference must reach the search beyond the handles too.
                pad = min(search_ms / 1000.0 + HANDLE_S, ref_job.audio_pad_s)
                if ref_audio is None:
                    ref_audio = render_sound(ref_job, audio_rate=rate, pad_s=pad)
                av = AVInput(
                    frames=_NO_FRAMES,
                    frame_times=_NO_TIMES,
                    fps=res.rate,
                    audio=sound,
                    rate=rate,
                    audio_start_s=start,
                    duration_s=job.span_duration_s,
                    reference=ref_audio,
                    reference_start_s=-pad,
                )
                t1 = time.perf_counter()
                est = aligner.estimate(av, search_ms=(pad - HANDLE_S) * 1000.0)
            except AvsyncError as exc:
                res.reference = {"track": reference_key, "error": str(exc)}
                continue
            t2 = time.perf_counter()
            timings["decode_s"] = timings.get("decode_s", 0.0) + (t1 - t0)
            timings["reference_s"] = timings.get("reference_s", 0.0) + (t2 - t1)
            aligned.append((job, res, ref_res, est))
    _pool_tracks(aligned, min_confidence)
    for _job, res, ref_res, est in aligned:
        _combine(res, ref_res, est, reference_key, tolerance, min_confidence, track_base)
    return len(aligned)


def _pool_tracks(
    aligned: list[tuple[AnalysisJob, ClipResult, ClipResult, Any]], sure: float
) -> None:
    """Clips too weak on their own, whose best match sits where the track's sure clips put it.

    A track's sure clips, when most of them lie on one line in timeline time (a
    constant slip, or a drift), predict every other clip's offset. A weak clip whose
    best peak over the whole ±search falls within half a frame of that prediction is
    very unlikely to be there by chance (a 40 ms target in a 20 s search), so it
    counts as found, with :data:`POOLED_CONFIDENCE`.
    """
    from scipy.stats import theilslopes

    by_track: dict[str, list[tuple[float, Any, float]]] = defaultdict(list)
    for job, res, _ref, est in aligned:
        key = _key(job)
        if key is not None and est.offset_ms is not None:
            mid = job.span_start_s + job.span_duration_s / 2
            by_track[key].append((mid, est, 1000.0 / res.rate))
    for clips in by_track.values():
        strong = [(t, e.offset_ms) for t, e, _ in clips if e.confidence >= sure]
        if len(strong) < 3:
            continue
        t, lag = np.array(strong).T
        slope, icpt, _lo, _hi = theilslopes(lag, t)
        frame_ms = clips[0][2]
        inliers = np.abs(lag - (icpt + slope * t)) <= frame_ms
        if inliers.sum() < 3 or inliers.mean() < 0.6:
            continue
        for t_mid, est, frame in clips:
            weak = est.confidence < sure and est.evidence.get("z", 0.0) >= POOLED_MIN_Z
            if weak and abs(est.offset_ms - (icpt + slope * t_mid)) <= frame / 2:
                est.confidence = max(est.confidence, POOLED_CONFIDENCE)
                est.evidence["pooled"] = 1.0
                est.note = ""


def _reference_track_offset(
    pairs: list[tuple[AnalysisJob, ClipResult]],
    reference_key: str,
    tolerance: Tolerance,
    min_confidence: float,
) -> tuple[float, float] | str:
    """How to offset the reference against the picture: (offset ms, confidence) for the
    whole track, ``"in_sync"`` (the picture estimator finds it in sync), ``"clip"``
    (each clip's own estimate) or ``"none"`` (taken as in sync, unconfirmed).

    The track's consensus when the picture estimator finds it constant and out of
    sync over at least two clips; each clip's own estimate when the track drifts or
    jumps, or has only one clip; nothing when its clips disagree or go unjudged
    (their estimates are not to be trusted one by one either). A reference found
    *in* sync adds nothing: its estimate within the tolerance is the picture
    model's noise more often than the mix's own error, and audio-to-audio
    alignment is far more precise than that noise.
    """
    from otio_avsync.consensus import track_consensus

    ref_results = [r for j, r in pairs if _key(j) == reference_key]
    if sum(r.status.analysable for r in ref_results) <= 1:
        return "clip"
    for c in track_consensus(ref_results, tolerance=tolerance, min_confidence=min_confidence):
        if c.status not in (Status.IN_SYNC, Status.OUT_OF_SYNC) or c.clips < 2:
            return "none"
        if c.status is Status.IN_SYNC and c.model == "constant":
            return "in_sync"
        if c.model == "constant" and c.offset_ms is not None:
            return c.offset_ms, c.confidence
        return "clip"
    return "none"


def _combine(
    res: ClipResult,
    ref_res: ClipResult,
    est: Any,
    reference_key: str,
    tolerance: Tolerance,
    min_confidence: float,
    track_base: tuple[float, float] | str = "clip",
) -> None:
    """Put the reference alignment into a sound's result, keeping the model's answer."""
    frame_ms = 1000.0 / res.rate
    model_ok = res.offset_ms is not None and res.confidence >= min_confidence
    base, base_conf, basis = _reference_base(ref_res, track_base)
    info = _reference_info(res, est, reference_key, base, basis)
    if est.offset_ms is None or est.confidence < min_confidence:
        _picture_only(res, est, info, reference_key)
        return
    offset = est.offset_ms + base
    disagree = model_ok and abs(res.offset_ms - offset) > DISAGREE_FRAMES * frame_ms
    info["used"] = True
    info["disagree"] = bool(disagree)
    res.reference = info
    res.offset_ms = offset
    res.offset_frames = offset / frame_ms
    res.confidence = float(est.confidence) * float(base_conf)
    res.method = f"reference ({reference_key})" + (f" + {res.method}" if res.method else "")
    res.status = judge(offset, res.confidence, tolerance, min_confidence=min_confidence)
    res.message = describe(res)
    res.message += f" Aligned to the reference {reference_key!r} (music and effects)."
    if est.evidence.get("pooled"):
        res.message += " Weak on its own; found where the track's other clips put it."
    if basis == "reference taken as in sync":
        res.message += (
            " The offset is relative to the reference, taken as in sync: the picture"
            " model could not confirm the reference's own sync."
        )
    if disagree:
        res.message += (
            f" The picture model finds {res.reference['model_offset_ms']:+.0f} ms instead:"
            " the dub's lip-sync or the reference may be off."
        )


def _reference_base(
    ref_res: ClipResult, track_base: tuple[float, float] | str
) -> tuple[float, float, str]:
    """The reference's own offset against the picture (see the module docstring):
    (offset ms, confidence, what it rests on)."""
    if isinstance(track_base, tuple):
        return track_base[0], track_base[1], "reference track consensus"
    if track_base == "in_sync" or (track_base == "clip" and ref_res.status is Status.IN_SYNC):
        return 0.0, 1.0, "reference found in sync by the picture estimator"
    if (
        track_base == "clip"
        and ref_res.offset_ms is not None
        and ref_res.status is Status.OUT_OF_SYNC
    ):
        return ref_res.offset_ms, ref_res.confidence, "reference clip"
    return 0.0, 1.0, "reference taken as in sync"


def _reference_info(
    res: ClipResult, est: Any, reference_key: str, base: float, basis: str
) -> dict[str, Any]:
    """The alignment's record in the sound's result (``used`` and ``disagree`` come later)."""
    return {
        "track": reference_key,
        "lag_ms": round_or_none(est.offset_ms, 3),
        "confidence": round(float(est.confidence), 4),
        "reference_offset_ms": round_or_none(base, 2),
        "reference_basis": basis,
        "drift_ppm": round(float(est.evidence.get("drift_ppm", 0.0)), 1),
        "z": round(float(est.evidence.get("z", 0.0)), 2),
        "ratio": round(float(est.evidence.get("ratio", 0.0)), 3),
        "pooled": bool(est.evidence.get("pooled", False)),
        "model_offset_ms": round_or_none(res.offset_ms, 2),
        "model_confidence": round(float(res.confidence), 4),
        "model_method": res.method,
        "windows": [
            {
                "start_s": round(w.start_s, 3),
                "offset_ms": round_or_none(w.offset_ms, 2),
                "confidence": round(w.confidence, 3),
            }
            for w in est.windows
        ],
    }


def _picture_only(res: ClipResult, est: Any, info: dict[str, Any], reference_key: str) -> None:
    """Nothing (sure) in common: the picture estimate stands alone, with its own confidence."""
    note = est.note or "the reference alignment is not confident"
    info["used"] = False
    info["disagree"] = False
    info["note"] = note
    res.reference = info
    shares = "shares no sound with" if note.startswith("no ") else "cannot be placed in"
    if res.method:
        res.method = f"{res.method} (picture only)"
    res.message = (
        f"{res.message} The dub {shares} {reference_key} ({note}): this is the"
        " picture estimate alone."
    ).strip()


_NO_FRAMES = np.zeros((0, 1, 1), dtype=np.uint8)
_NO_TIMES = np.zeros(0)
