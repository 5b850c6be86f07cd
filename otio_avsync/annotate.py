"""Write results onto the timeline: clip metadata and markers that viewers show.

Everything goes under ``metadata["otio_avsync"]``; our markers carry that key
too, which is how a re-run finds and replaces them without touching anyone
else's markers. Colours go through :func:`marker_color` only, since OTIO's main
branch moves markers to RGBA colours.
"""

from __future__ import annotations

import re
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


#: Raven colours a clip by ``clip.metadata["raven"]["color"]``: flagged clips stand out.
RAVEN_KEY = "raven"
_RAVEN_COLORS = {
    Status.OUT_OF_SYNC: otio.schema.MarkerColor.RED,
    Status.UNCERTAIN: otio.schema.MarkerColor.YELLOW,
    Status.IN_SYNC: None,  # left alone: the cut's own colours stay
}


def _set_raven_color(clip: otio.schema.Clip, status: Status, meta: dict[str, Any]) -> None:
    """Colour the clip in Raven by its status; ``meta["raven_color"]`` records what we did."""
    colour = _RAVEN_COLORS.get(status, otio.schema.MarkerColor.ORANGE)
    raven = clip.metadata.get(RAVEN_KEY)
    if colour is None or (raven is not None and not isinstance(raven, Mapping)):
        return
    was = raven.get("color") if raven is not None else None
    meta["raven_color"] = {"set": colour, "was": was}
    if raven is None:
        clip.metadata[RAVEN_KEY] = {"color": colour}
    else:
        raven["color"] = colour


def _unset_raven_color(clip: otio.schema.Clip, record: Any) -> None:
    """Undo :func:`_set_raven_color`, unless someone has changed the colour since."""
    raven = clip.metadata.get(RAVEN_KEY)
    if not isinstance(record, Mapping) or not isinstance(raven, Mapping):
        return
    if raven.get("color") != record.get("set"):
        return
    if record.get("was") is not None:
        raven["color"] = record["was"]
        return
    del raven["color"]
    if not len(raven):
        del clip.metadata[RAVEN_KEY]


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
                _unset_raven_color(item, meta.get("raven_color"))
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
) -> list[str]:
    """annotate(timeline, results, settings={...}, tracks=None) -> notes

    Replaces earlier annotation: one marker per analysed picture clip and
    ``clip.metadata["otio_avsync"]``, the track-level consensus on each audio
    track (metadata and a marker), plus a summary on the timeline. Review
    decisions and earlier results survive (see :func:`carry_over`); the notes
    say what was set aside, and are kept in the summary too.
    """
    previous = _snapshot(timeline)
    clear(timeline)
    notes: list[str] = []
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
        marker = _marker(clip, top, len(group))
        if key in previous:
            notes += carry_over(clip.name, previous[key], meta, group, marker)
        _set_raven_color(clip, top.status, meta)
        clip.metadata[METADATA_KEY] = meta
        clip.markers.append(marker)

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
        "notes": notes,
    }
    _annotate_tracks(timeline, tracks or [])
    return notes


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
        if getattr(c, "clips_disagree", False) and c.spread_ms:
            name = f"avsync track clips disagree {c.spread_ms[0]:+.0f}..{c.spread_ms[1]:+.0f} ms"
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


# -- what a re-run keeps -------------------------------------------------------------

#: A marker name's decision tag and a comment's review line (see :func:`decision_text`).
DECISION_TAG = re.compile(r" \[(accepted|rejected|manual)[^\]]*\]$")
REVIEW_LINE = re.compile(r"\s*Review: [^\n]*$")

#: Fields of an earlier result kept when a re-run cannot see the media any more.
_KEPT = ("status", "offset_ms", "offset_frames", "confidence", "method", "message")
_MEASURED = ("in_sync", "out_of_sync", "uncertain")


def _snapshot(timeline: otio.schema.Timeline) -> dict[int, dict[str, Any]]:
    """What a re-run must not lose of each clip's metadata, as plain dicts (before clearing).

    Only the small fields are copied: curves and attention maps are recomputed anyway.
    """
    from otio_avsync.metadata import plain

    keep = (*_KEPT, "decision", "audio_source")

    def small(meta: Mapping[str, Any]) -> dict[str, Any]:
        return {k: plain(meta[k]) for k in keep if k in meta}

    found = {}
    for clip in timeline.find_clips():
        meta = clip.metadata.get(METADATA_KEY)
        if isinstance(meta, Mapping) and "status" in meta:
            entry = small(meta)
            sources = meta.get("sources")
            if sources:
                entry["sources"] = [small(m) for m in sources if isinstance(m, Mapping)]
            found[id(clip)] = entry
    return found


def sound_key(src: Any) -> str:
    """The key of an ``audio_source`` metadata dict (as :meth:`AudioSource.key`); "" if none."""
    if not isinstance(src, Mapping):
        return ""
    kind = str(src.get("kind") or "")
    if kind == "embedded":
        lang = src.get("language")
        return f"stream:{lang}" if lang and lang != "und" else f"stream:{src.get('stream_index')}"
    return str(src.get("track") or kind)


def decision_text(decision: Mapping[str, Any] | None) -> tuple[str, str]:
    """(marker name tag, comment line) of a review decision; ("", "") for none."""
    if not decision:
        return "", ""
    action = decision.get("action")
    off = decision.get("offset_ms")
    off = float(off) if isinstance(off, int | float) and off == off else None
    who = f" for {decision['source']}" if decision.get("source") else ""
    if action == "reject":
        return " [rejected]", f"Review: estimate rejected{who}; leave the sound as it is."
    verb = "accepted" if action == "accept" else "manual"
    if off is None:
        return f" [{verb}]", f"Review: {verb}{who}."
    fix = "earlier" if off > 0 else "later"
    what = "estimate accepted" if action == "accept" else "manual offset"
    return (
        f" [{verb} {off:+.0f} ms]",
        f"Review: {what}{who}: {off:+.1f} ms; slip the sound {fix} by {abs(off):.1f} ms.",
    )


def tag_marker(marker: otio.schema.Marker, decision: Mapping[str, Any] | None) -> None:
    """Name and comment a marker with a decision (or remove the decision from them)."""
    tag, line = decision_text(decision)
    marker.name = DECISION_TAG.sub("", marker.name) + tag
    comment = REVIEW_LINE.sub("", marker.comment or "")
    marker.comment = f"{comment} {line}".strip() if line else comment
    mm = marker.metadata[METADATA_KEY]
    if decision is None:
        if "decision" in mm:
            del mm["decision"]
    else:
        mm["decision"] = dict(decision)


def _same_estimate(old: Mapping[str, Any], new: ClipResult) -> bool:
    """The estimate a decision was taken on is still the estimate (within a frame)."""
    a, b = old.get("offset_ms"), new.offset_ms
    if a is None or b is None:
        return a is None and b is None and old.get("status") == new.status.value
    return abs(float(a) - float(b)) <= 1000.0 / float(new.rate or 24.0) + 1e-6


def _describe(entry: Mapping[str, Any]) -> str:
    off = entry.get("offset_ms")
    where = f" {float(off):+.0f} ms" if isinstance(off, int | float) else ""
    return f"{str(entry.get('status', '?')).replace('_', ' ')}{where}"


def carry_over(
    name: str,
    old: Mapping[str, Any],
    meta: dict[str, Any],
    group: list[ClipResult],
    marker: otio.schema.Marker,
) -> list[str]:
    """Keep what a re-run must not lose from a clip's earlier metadata ``old``; notes.

    A review decision stays when its sound's estimate is unchanged within a frame;
    otherwise it moves to ``previous_decision``. A measured result that now reads
    ``media_missing`` is kept under ``previous_result``.
    """
    old_entries = [e for e in old.get("sources") or [old] if isinstance(e, Mapping)]
    multi = "sources" in meta
    new_entries = meta["sources"] if multi else [meta]
    single = len(old_entries) == 1 and len(new_entries) == 1
    notes: list[str] = []
    top_decision: dict[str, Any] | None = None
    kept_result = ""
    for entry, result in zip(new_entries, group, strict=True):
        key = sound_key(entry.get("audio_source"))
        who = f"{name} ({key})" if multi else name
        before = next(
            (e for e in old_entries if single or sound_key(e.get("audio_source")) == key), None
        )
        if before is None:
            continue
        decision = before.get("decision")
        if decision is None and len(old_entries) == 1:
            decision = old.get("decision")
        if isinstance(decision, Mapping):
            decision = {k: v for k, v in decision.items() if k != "source"}
            if _same_estimate(before, result):
                entry["decision"] = decision
                if top_decision is None or result is primary(group):
                    top_decision = {**decision, "source": key} if multi else decision
            else:
                entry["previous_decision"] = {**decision, "estimate_then": _describe(before)}
                notes.append(
                    f"{who}: the review decision ({decision.get('action')}) was taken on "
                    f"{_describe(before)}; the audit now finds {_describe(entry)}, so it is "
                    "set aside under 'previous_decision'"
                )
        if entry.get("status") == "media_missing" and before.get("status") in _MEASURED:
            entry["previous_result"] = {k: before[k] for k in _KEPT if k in before}
            said = f"An earlier audit measured {_describe(before)} (kept under 'previous_result')."
            entry["message"] = f"{entry.get('message', '')} {said}".strip()
            kept_result = kept_result or said
            notes.append(
                f"{who}: media not found now; the earlier result ({_describe(before)}) "
                "is kept under 'previous_result'"
            )
    if multi:
        top = meta["sources"][group.index(primary(group))]
        for k in ("previous_result", "previous_decision", "message"):
            if k in top:
                meta[k] = top[k]
    if kept_result:
        marker.comment = f"{marker.comment or ''} {kept_result}".strip()
    if top_decision is not None:
        meta["decision"] = top_decision
        tag_marker(marker, top_decision)
    return notes
