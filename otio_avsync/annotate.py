"""Write results onto the timeline: clip metadata and markers that viewers show.

Everything goes under ``metadata["otio_avsync"]``; our markers carry that key
too, which is how a re-run finds and replaces them without touching anyone
else's markers. Colours go through :func:`marker_color` only, since OTIO's main
branch moves markers to RGBA colours.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import opentimelineio as otio

from otio_avsync import METADATA_KEY, __version__
from otio_avsync.results import ClipResult, Status, fmt_offset, round_or_none

#: Which result of a clip with several sounds the marker shows: the most severe.
_SEVERITY = {
    Status.OUT_OF_SYNC: 0,
    Status.ERROR: 1,
    Status.UNCERTAIN: 2,
    Status.MEDIA_MISSING: 3,
    Status.UNSUPPORTED: 4,
    Status.NO_AUDIO: 5,
    Status.IN_SYNC: 6,
}

_COLORS = {
    Status.IN_SYNC: otio.schema.MarkerColor.GREEN,
    Status.OUT_OF_SYNC: otio.schema.MarkerColor.RED,
    Status.UNCERTAIN: otio.schema.MarkerColor.YELLOW,
}


def marker_color(status: Status) -> str:
    """marker_color(status) -> str: GREEN, RED, YELLOW, or ORANGE (not analysable)."""
    return _COLORS.get(status, otio.schema.MarkerColor.ORANGE)


def marker_name(result: ClipResult) -> str:
    """``avsync +3f (+125 ms)``; ``avsync ? +1f (+40 ms)`` when uncertain; else the status."""
    if result.status in (Status.IN_SYNC, Status.OUT_OF_SYNC):
        return f"avsync {fmt_offset(result)}"
    if result.status is Status.UNCERTAIN:
        guess = fmt_offset(result)
        return "avsync uncertain" if guess == "n/a" else f"avsync ? {guess}"
    return f"avsync {result.status.value.replace('_', ' ')}"


def primary(results: list[ClipResult]) -> ClipResult:
    """The result a clip's marker and top-level metadata show: the most severe."""
    return min(results, key=lambda r: _SEVERITY[r.status])


def is_ours(marker: otio.schema.Marker) -> bool:
    """True for markers this package wrote (and may replace)."""
    return METADATA_KEY in marker.metadata


def clear(timeline: otio.schema.Timeline) -> int:
    """clear(timeline) -> int: remove our markers and metadata; returns markers removed."""
    removed = 0
    for item in timeline.find_children():
        markers = getattr(item, "markers", None)
        if markers is None:
            continue
        keep = [m for m in markers if not is_ours(m)]
        removed += len(markers) - len(keep)
        if len(keep) != len(markers):
            markers[:] = keep
        if isinstance(item, otio.schema.Clip) and METADATA_KEY in item.metadata:
            meta = item.metadata[METADATA_KEY]
            if isinstance(meta, Mapping) and "status" in meta:
                del item.metadata[METADATA_KEY]
        if isinstance(item, otio.schema.Track) and METADATA_KEY in item.metadata:
            meta = item.metadata[METADATA_KEY]
            if isinstance(meta, Mapping) and "status" in meta:
                hints = {k: meta[k] for k in USER_HINTS if k in meta}
                if hints:
                    item.metadata[METADATA_KEY] = hints
                else:
                    del item.metadata[METADATA_KEY]
    if METADATA_KEY in timeline.metadata:
        del timeline.metadata[METADATA_KEY]
    return removed


#: Keys of ``track.metadata["otio_avsync"]`` that users set (hints); the rest is ours.
USER_HINTS = ("language", "role", "stream_index")


def annotate(
    timeline: otio.schema.Timeline,
    results: list[ClipResult],
    *,
    settings: dict[str, Any],
    tracks: list[Any] | None = None,
    reference: dict[str, Any] | None = None,
) -> None:
    """annotate(timeline, results, settings={...}, tracks=None) -> None

    Replaces earlier annotation: one marker per analysed picture clip and
    ``clip.metadata["otio_avsync"]``, the track-level consensus on each audio
    track (metadata and a marker), plus a summary on the timeline.
    """
    clear(timeline)
    by_clip: dict[int, list[ClipResult]] = defaultdict(list)
    clips: dict[int, otio.schema.Clip] = {}
    for r in results:
        if r.clip is not None:
            by_clip[id(r.clip)].append(r)
            clips[id(r.clip)] = r.clip
    for key, group in by_clip.items():
        clip = clips[key]
        top = primary(group)
        meta = top.to_metadata()
        meta["record_tc"] = top.record_tc
        if len(group) > 1:
            meta["sources"] = [r.to_metadata() for r in group]
        clip.metadata[METADATA_KEY] = meta
        clip.markers.append(_marker(clip, top, len(group)))

    counts: dict[str, int] = defaultdict(int)
    for r in results:
        counts[r.status.value] += 1
    timeline.metadata[METADATA_KEY] = {
        "version": __version__,
        "audited_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": settings,
        "summary": dict(counts),
        "reference": reference,
        "tracks": [t.to_metadata() for t in tracks or []],
    }
    _annotate_tracks(timeline, tracks or [])


def _annotate_tracks(timeline: otio.schema.Timeline, tracks: list[Any]) -> None:
    """Consensus on each audio track: merged into its metadata, and a marker over its span."""
    from otio_avsync.jobs import track_labels

    labels = track_labels(timeline)
    for c in tracks:
        track = labels.get(c.key)
        if track is None or track.kind != otio.schema.TrackKind.Audio:
            continue  # a stream language: only in the timeline summary
        old = track.metadata.get(METADATA_KEY)
        hints = {k: old[k] for k in USER_HINTS if isinstance(old, Mapping) and k in old}
        track.metadata[METADATA_KEY] = {**hints, **c.to_metadata()}
        rate = float(timeline.duration().rate or 24.0)
        a, b = c.span_s
        start = otio.opentime.from_seconds(max(0.0, a), rate).round()
        end = otio.opentime.from_seconds(max(a, b), rate).round()
        dur = max(end - start, otio.opentime.RationalTime(1, rate))
        name = f"avsync track {c.model}"
        if c.offset_ms is not None:
            name = f"avsync track {c.offset_ms:+.0f} ms"
        if c.drift_ppm is not None:
            name = f"avsync drift {c.drift_ppm:+.0f} ppm"
        elif c.jump is not None:
            name = f"avsync jump {c.jump['from_ms']:+.0f} -> {c.jump['to_ms']:+.0f} ms"
        track.markers.append(
            otio.schema.Marker(
                name=name,
                marked_range=otio.opentime.TimeRange(start, dur),
                color=marker_color(c.status),
                comment=c.message,
                metadata={METADATA_KEY: {"status": c.status.value, "track": c.key}},
            )
        )


def _marker(clip: otio.schema.Clip, result: ClipResult, n_sources: int) -> otio.schema.Marker:
    trimmed = clip.trimmed_range()
    rate = trimmed.duration.rate or result.rate
    if result.status.analysable and result.span_media_start is not None and result.span_duration_s:
        start = result.span_media_start
        duration = otio.opentime.from_seconds(result.span_duration_s, rate)
        marked = otio.opentime.TimeRange(start, duration)
        marked = _clamp(marked, trimmed)
    else:
        marked = trimmed
    if marked.duration.value <= 0:  # viewers hide zero-length markers; show at least a frame
        marked = otio.opentime.TimeRange(trimmed.start_time, otio.opentime.RationalTime(1, rate))
    comment = result.message
    if n_sources > 1:
        comment += f" ({n_sources} sound sources checked; see metadata 'sources'.)"
    return otio.schema.Marker(
        name=marker_name(result),
        marked_range=marked,
        color=marker_color(result.status),
        comment=comment,
        metadata={
            METADATA_KEY: {
                "status": result.status.value,
                "offset_ms": round_or_none(result.offset_ms, 2),
                "confidence": round(float(result.confidence), 4),
                "audio_source": result.audio_source.label() if result.audio_source else None,
            }
        },
    )


def _clamp(
    rng: otio.opentime.TimeRange, bounds: otio.opentime.TimeRange
) -> otio.opentime.TimeRange:
    """Keep a marker inside the clip's trimmed range (otioview skips ones outside)."""
    start = max(rng.start_time, bounds.start_time)
    end = min(rng.end_time_exclusive(), bounds.end_time_exclusive())
    if end <= start:
        return bounds
    return otio.opentime.range_from_start_end_time(start, end)
