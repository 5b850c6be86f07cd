"""Synthetic annotated timelines: the metadata an audit writes, without media or analysis.

For the review panel's tests and its benchmark (``bench/bench_review.py``): a
picture track and one or more sound tracks (a sync-sound track and dub
languages), each picture clip with results as :func:`otio_avsync.annotate.annotate`
writes them, including score curves, windows and attention maps of the real
sizes, so that opening such a timeline costs what opening a real one does.
Media references point at files that do not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import opentimelineio as otio

from otio_avsync.annotate import annotate
from otio_avsync.results import (
    BT1359,
    AudioSource,
    ClipResult,
    Status,
    WindowResult,
    describe,
    judge,
)

__all__ = ["annotated_timeline"]


def _attention(rng: np.random.Generator, blocks: int, fps: float) -> dict:
    h, w = 4, 8
    out = []
    for b in range(blocks):
        m = rng.random((h, w)) ** 3
        out.append(
            {
                "start_s": round(b * 25 / fps, 4),
                "frames": 25,
                "weight": round(float(rng.random() * 2), 4),
                "mouth_box": [0.4, 0.55, 0.6, 0.7],
                "map": (m / m.max() * 255).round().astype(np.uint8).tobytes().hex(),
            }
        )
    return {
        "variant": "spatio-temporal",
        "map_shape": [h, w],
        "tiles": ["frame", "mouth"],
        "blocks": out,
    }


@dataclass
class _Shot:
    """One picture clip of the synthetic timeline, with what its results refer to."""

    name: str
    url: str
    picture: otio.schema.Clip
    start_s: float
    record_tc: str


def _tracks(
    clips: int, languages: tuple[str, ...], fps: float
) -> tuple[otio.schema.Timeline, otio.schema.Track, list[otio.schema.Track]]:
    """The empty timeline, its picture track V1 and one sound track per language."""
    tl = otio.schema.Timeline(
        name=f"synthetic-{clips}",
        global_start_time=otio.opentime.from_timecode("01:00:00:00", fps),
    )
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    tl.tracks.append(v1)
    audio_tracks = []
    for i, lang in enumerate(languages):
        name = "A1" if i == 0 else f"dub-{lang}"
        t = otio.schema.Track(name=name, kind=otio.schema.TrackKind.Audio)
        t.metadata["otio_avsync"] = {"language": lang}
        tl.tracks.append(t)
        audio_tracks.append(t)
    return tl, v1, audio_tracks


def _append_shot(
    k: int,
    v1: otio.schema.Track,
    audio_tracks: list[otio.schema.Track],
    fps: float,
    clip_s: float,
) -> _Shot:
    """Clip ``k`` on the picture track and on every sound track (media that does not exist)."""
    frames = round(clip_s * fps)
    name = f"shot_{k + 1:04d}"
    url = f"media/{name}.mp4"
    rng_range = otio.opentime.TimeRange(
        otio.opentime.RationalTime(k * 1000, fps), otio.opentime.RationalTime(frames, fps)
    )
    picture = otio.schema.Clip(
        name=name,
        media_reference=otio.schema.ExternalReference(target_url=url),
        source_range=rng_range,
    )
    v1.append(picture)
    for t in audio_tracks:
        t.append(
            otio.schema.Clip(
                name=name,
                media_reference=otio.schema.ExternalReference(target_url=url),
                source_range=rng_range,
            )
        )
    start_s = k * clip_s
    record_tc = otio.opentime.to_timecode(
        otio.opentime.from_seconds(3600 + start_s, fps).round(), fps
    )
    return _Shot(name, url, picture, start_s, record_tc)


def _blank_result(
    shot: _Shot, i: int, lang: str, track: str, fps: float, clip_s: float
) -> ClipResult:
    """The result of ``shot`` against sound track ``i`` before any outcome is drawn."""
    source = AudioSource(
        kind="sync_sound" if i == 0 else "track",
        track=track,
        track_index=i,
        clips=[shot.name],
        file=shot.url,
        language=lang,
    )
    return ClipResult(
        clip_name=shot.name,
        status=Status.ERROR,
        message="",
        rate=fps,
        tolerance=BT1359,
        audio_source=source,
        record_tc=shot.record_tc,
        track_name="V1",
        clip=shot.picture,
        span_start_s=shot.start_s,
        span_duration_s=clip_s,
        span_media_start=shot.picture.source_range.start_time,
    )


def _estimate(
    r: ClipResult,
    rng: np.random.Generator,
    roll: float,
    start_s: float,
    clip_s: float,
    curve_x: np.ndarray,
) -> None:
    """Fill ``r`` with an estimate: slipped when ``roll`` < 0.12, weak when 0.12-0.2."""
    fps = r.rate
    step_ms = 1000.0 / fps
    slip = 0.0
    if roll < 0.12:
        slip = float(rng.choice([-1, 1]) * rng.integers(3, 12) * step_ms)
    offset = slip + float(rng.normal(0, 4))
    confidence = float(np.clip(rng.normal(0.85, 0.1), 0, 1))
    if 0.12 <= roll < 0.2:
        confidence = float(rng.uniform(0.1, 0.45))
    r.method = "attention"
    r.offset_ms = offset
    r.offset_frames = offset * fps / 1000.0
    r.confidence = confidence
    r.windows = [
        WindowResult(start_s + w * clip_s / 2, clip_s / 2, offset, confidence) for w in range(2)
    ]
    peak = np.exp(-0.5 * ((curve_x - offset) / 60.0) ** 2)
    r.curve_ms = [float(v) for v in curve_x]
    r.curve_score = [float(v) for v in peak + 0.15 * rng.random(len(curve_x))]
    r.attention = _attention(rng, max(1, round(clip_s * fps) // 25), fps)
    r.status = judge(offset, confidence, BT1359)
    if r.status is Status.UNCERTAIN:
        r.message = "the picture and sound evidence is weak or ambiguous"
    r.message = describe(r)


def _annotate(
    tl: otio.schema.Timeline, results: list[ClipResult], search_ms: float
) -> otio.schema.Timeline:
    """Write the results, the track consensus and the audit's settings on ``tl``."""
    from otio_avsync.consensus import track_consensus

    tracks = track_consensus(results, tolerance=BT1359, min_confidence=0.5)
    settings = {
        "estimator": "attention",
        "search_ms": search_ms,
        "tolerance": BT1359.as_dict(),
        "min_confidence": 0.5,
        "max_span_s": 60.0,
    }
    annotate(tl, results, settings=settings, tracks=tracks)
    return tl


def annotated_timeline(
    clips: int = 1000,
    *,
    languages: tuple[str, ...] = ("eng",),
    fps: float = 25.0,
    clip_s: float = 6.0,
    seed: int = 0,
    search_ms: float = 2000.0,
) -> otio.schema.Timeline:
    """annotated_timeline(clips=1000, languages=("eng",)) -> Timeline with audit metadata.

    One audio track per language (A1 sync sound for the first, ``dub-LANG`` for
    the others); about a tenth of the clips out of sync, a tenth uncertain, a few
    with missing media.
    """
    rng = np.random.default_rng(seed)
    tl, v1, audio_tracks = _tracks(clips, languages, fps)
    results: list[ClipResult] = []
    curve_x = np.arange(-search_ms, search_ms + 1e-6, 1000.0 / fps)
    for k in range(clips):
        shot = _append_shot(k, v1, audio_tracks, fps, clip_s)
        for i, lang in enumerate(languages):
            r = _blank_result(shot, i, lang, audio_tracks[i].name, fps, clip_s)
            roll = rng.random()
            if roll < 0.02:
                r.status = Status.MEDIA_MISSING
                r.message = f"Picture media not found: {shot.url}."
            else:
                _estimate(r, rng, roll, shot.start_s, clip_s, curve_x)
            results.append(r)
    return _annotate(tl, results, search_ms)
