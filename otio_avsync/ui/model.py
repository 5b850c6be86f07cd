"""The review panel's data layer: rows, filters and decisions, without Qt.

One :class:`Row` per analysed picture clip and sound source (a clip checked
against sync sound and a dub track gives two rows), read from
``clip.metadata["otio_avsync"]`` as :mod:`otio_avsync.annotate` wrote it. Only
the few fields the table shows are read when a timeline opens (a 1,000-clip
timeline must show its table at once); the curve, windows and attention of a
row are converted when it is selected (:meth:`Row.details`).

Decisions are written back where the fix reads them:
``clip.metadata["otio_avsync"]["decision"] = {"action": "accept" | "reject" |
"manual", "offset_ms": float | None}`` (plus ``"source"``, the sound key, when
the clip has several sounds; each entry of ``sources`` then keeps its own
``decision`` too), and the clip's marker names the decision.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import opentimelineio as otio

from otio_avsync import METADATA_KEY
from otio_avsync.annotate import tag_marker
from otio_avsync.jobs import track_labels
from otio_avsync.metadata import finite, plain, sound_key, sound_label
from otio_avsync.progress import plural

__all__ = [
    "ACTIONS",
    "FLAGGED",
    "Row",
    "RowFilter",
    "TrackSummary",
    "attention_blocks",
    "clear_decision",
    "decode_map",
    "load_rows",
    "open_timeline",
    "save_timeline",
    "set_decision",
    "strongest_evidence_s",
    "timeline_summary",
    "waveform_envelope",
]

ACTIONS = ("accept", "reject", "manual")
#: Statuses the "flagged only" filter keeps: what a QC audit fails on, and what it cannot judge.
FLAGGED = ("out_of_sync", "uncertain")
#: Statuses that have an offset estimate to decide on.
ANALYSABLE = ("in_sync", "out_of_sync", "uncertain")



@dataclass
class Row:
    """One picture clip against one sound source, as the table shows it."""

    index: int
    clip: otio.schema.Clip = field(repr=False, compare=False)
    #: Index into ``meta["sources"]``; None when the clip was checked against one sound only.
    source_index: int | None
    name: str
    track: str  # the picture's track label (V1...)
    record_tc: str
    status: str
    offset_ms: float | None
    offset_frames: float | None
    confidence: float
    rate: float
    sound: str  # a short label such as "A2 'dub-fr' (fra)"
    sound_key: str  # the sound's track, or its stream language (consensus key)
    sound_track: str  # the sound's track name ("" for the media's own streams)
    language: str  # "" when unknown
    method: str
    message: str
    early_ms: float
    late_ms: float
    decision: dict[str, Any] | None = None
    _details: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def flagged(self) -> bool:
        return self.status in FLAGGED

    @property
    def analysable(self) -> bool:
        return self.status in ANALYSABLE

    @property
    def frame_ms(self) -> float:
        return 1000.0 / self.rate

    @property
    def decided_offset_ms(self) -> float | None:
        """The offset the decision stands for (None: rejected, or undecided)."""
        return None if self.decision is None else finite(self.decision.get("offset_ms"))

    def meta(self) -> Mapping[str, Any]:
        """The clip's live ``metadata["otio_avsync"]`` (an OTIO AnyDictionary)."""
        return self.clip.metadata[METADATA_KEY]

    def source_meta(self) -> Mapping[str, Any]:
        """The live metadata of this row's sound (the clip's or its ``sources`` entry)."""
        meta = self.meta()
        if self.source_index is None:
            return meta
        return meta["sources"][self.source_index]

    def details(self) -> dict[str, Any]:
        """This row's full metadata as plain Python (curve, windows, attention...); cached."""
        if self._details is None:
            self._details = plain(self.source_meta())
        return self._details

    def label(self) -> str:
        return f"{self.name} / {self.sound}" if self.sound else self.name


def _track_labels(timeline: otio.schema.Timeline) -> list[tuple[str, otio.schema.Track]]:
    """Top-level video tracks with the labels results use (see :func:`jobs.track_labels`)."""
    return [
        (label, t)
        for label, t in track_labels(timeline).items()
        if t.kind == otio.schema.TrackKind.Video
    ]

def _sound_fields(src: Any) -> tuple[str, str, str, str]:
    """(label, key, track, language) of an ``audio_source`` metadata dict."""
    if not isinstance(src, Mapping):
        return "", "", "", ""
    track, lang = str(src.get("track") or ""), str(src.get("language") or "")
    return sound_label(src), sound_key(src), track, lang

def _row(
    index: int,
    clip: otio.schema.Clip,
    m: Mapping[str, Any],
    source_index: int | None,
    track: str,
    record_tc: str,
    rate: float,
    top_decision: Any,
) -> Row:
    label, key, sound_track, lang = _sound_fields(m.get("audio_source"))
    tol = m.get("tolerance_ms")
    early = finite(tol.get("early")) if isinstance(tol, Mapping) else None
    late = finite(tol.get("late")) if isinstance(tol, Mapping) else None
    decision = m.get("decision")
    if decision is None and source_index is None:
        decision = top_decision
    return Row(
        index=index,
        clip=clip,
        source_index=source_index,
        name=clip.name or f"clip {index + 1}",
        track=track,
        record_tc=record_tc,
        status=str(m.get("status") or ""),
        offset_ms=finite(m.get("offset_ms")),
        offset_frames=finite(m.get("offset_frames")),
        confidence=finite(m.get("confidence")) or 0.0,
        rate=rate,
        sound=label,
        sound_key=key,
        sound_track=sound_track,
        language=lang,
        method=str(m.get("method") or ""),
        message=str(m.get("message") or ""),
        early_ms=45.0 if early is None else early,
        late_ms=125.0 if late is None else late,
        decision=plain(decision) if isinstance(decision, Mapping) else None,
    )


def load_rows(timeline: otio.schema.Timeline) -> list[Row]:
    """load_rows(timeline) -> list[Row]: every analysed picture clip, per sound, in track order."""
    rows: list[Row] = []
    default_rate = 24.0
    with_rate = timeline.duration().rate if len(timeline.tracks) else 0
    if with_rate and math.isfinite(with_rate) and with_rate > 0:
        default_rate = float(with_rate)
    for label, track in _track_labels(timeline):
        for clip in track.find_clips():
            meta = clip.metadata.get(METADATA_KEY)
            if not isinstance(meta, Mapping) or "status" not in meta:
                continue
            rate = default_rate
            sr = clip.source_range
            if sr is not None and sr.duration.rate > 0:
                rate = float(sr.duration.rate)
            record_tc = str(meta.get("record_tc") or "")
            sources = meta.get("sources")
            top_decision = meta.get("decision")
            if sources:
                for i, m in enumerate(sources):
                    if isinstance(m, Mapping):
                        rows.append(
                            _row(len(rows), clip, m, i, label, record_tc, rate, top_decision)
                        )
            else:
                rows.append(_row(len(rows), clip, meta, None, label, record_tc, rate, top_decision))
    return rows


# -- filters ------------------------------------------------------------------------------


@dataclass
class RowFilter:
    """Which rows the table shows; empty strings mean "any"."""

    flagged_only: bool = False
    undecided_only: bool = False
    sound: str = ""  # a sound key (track name or stream:LANG)
    language: str = ""
    text: str = ""

    def matches(self, row: Row) -> bool:
        if self.flagged_only and not row.flagged:
            return False
        if self.undecided_only and row.decision is not None:
            return False
        if self.sound and row.sound_key != self.sound:
            return False
        if self.language and row.language != self.language:
            return False
        if self.text:
            needle = self.text.lower()
            hay = f"{row.name} {row.record_tc} {row.sound} {row.status}".lower()
            if needle not in hay:
                return False
        return True


def choices(rows: list[Row]) -> tuple[list[str], list[str]]:
    """(sound keys, languages) present in ``rows``, in first-seen order."""
    sounds = list(dict.fromkeys(r.sound_key for r in rows if r.sound_key))
    langs = list(dict.fromkeys(r.language for r in rows if r.language))
    return sounds, langs


# -- the timeline summary ---------------------------------------------------------------


@dataclass
class TrackSummary:
    """The track-level consensus of one sound, for the line above the table."""

    key: str
    status: str
    offset_ms: float | None
    confidence: float
    clips: int
    model: str
    drift_ppm: float | None
    language: str
    message: str

    def text(self) -> str:
        parts = [self.key]
        if self.language and self.language not in self.key:
            parts.append(f"({self.language})")
        parts.append(self.status.replace("_", " "))
        if self.offset_ms is not None:
            parts.append(f"{self.offset_ms:+.0f} ms")
        if self.drift_ppm is not None:
            parts.append(f"drift {self.drift_ppm:+.0f} ppm")
        elif self.model and self.model != "constant":
            parts.append(self.model)
        parts.append(f"{self.confidence:.0%} over {plural(self.clips, 'clip')}")
        return " ".join(parts)


def timeline_summary(timeline: otio.schema.Timeline) -> dict[str, Any]:
    """The audit summary on the timeline: settings, counts, reference and track consensus.

    Track consensus comes from ``timeline.metadata["otio_avsync"]["tracks"]``,
    or, for timelines annotated before that existed, from the audio tracks' metadata.
    """
    meta = timeline.metadata.get(METADATA_KEY)
    meta = plain(meta) if isinstance(meta, Mapping) else {}
    tracks = list(meta.get("tracks") or [])
    if not tracks:
        for track in timeline.tracks:
            tm = track.metadata.get(METADATA_KEY) if isinstance(track, otio.schema.Track) else None
            if isinstance(tm, Mapping) and "status" in tm:
                tracks.append({"key": track.name, **plain(tm)})
    summaries = [
        TrackSummary(
            key=str(t.get("key") or "?"),
            status=str(t.get("status") or ""),
            offset_ms=finite(t.get("offset_ms")),
            confidence=finite(t.get("confidence")) or 0.0,
            clips=int(t.get("clips") or 0),
            model=str(t.get("model") or ""),
            drift_ppm=finite(t.get("drift_ppm")),
            language=str(t.get("language") or ""),
            message=str(t.get("message") or ""),
        )
        for t in tracks
        if isinstance(t, Mapping)
    ]
    return {
        "settings": meta.get("settings") or {},
        "counts": meta.get("summary") or {},
        "reference": meta.get("reference"),
        "audited_at": meta.get("audited_at"),
        "tracks": summaries,
    }


# -- decisions ------------------------------------------------------------------------------


def _our_marker(clip: otio.schema.Clip) -> otio.schema.Marker | None:
    for marker in clip.markers:
        meta = marker.metadata.get(METADATA_KEY)
        if isinstance(meta, Mapping) and "status" in meta:
            return marker
    return None


def _update_marker(row: Row, clip_decision: dict[str, Any] | None) -> None:
    marker = _our_marker(row.clip)
    if marker is not None:
        tag_marker(marker, clip_decision)


def set_decision(row: Row, action: str, offset_ms: float | None = None) -> dict[str, Any]:
    """set_decision(row, "accept" | "reject" | "manual", offset_ms=None) -> the decision

    ``accept`` takes the row's estimate, ``reject`` records no offset, ``manual``
    needs ``offset_ms``. Writes the clip metadata and its marker; returns the dict.
    """
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}, not {action!r}")
    if action == "accept":
        if row.offset_ms is None:
            raise ValueError(f"{row.label()} has no estimate to accept")
        offset: float | None = round(row.offset_ms, 2)
    elif action == "manual":
        value = finite(offset_ms)
        if value is None:
            raise ValueError("a manual decision needs a finite offset in ms")
        offset = round(value, 2)
    else:
        offset = None
    decision: dict[str, Any] = {"action": action, "offset_ms": offset}
    meta = row.meta()
    if row.source_index is not None:
        meta["sources"][row.source_index]["decision"] = dict(decision)
        decision["source"] = row.sound_key
    meta["decision"] = dict(decision)
    row.decision = decision
    row._details = None
    _update_marker(row, decision)
    return decision


def clear_decision(row: Row) -> None:
    """Forget the row's decision (metadata and marker)."""
    meta = row.meta()
    if row.source_index is not None:
        src = meta["sources"][row.source_index]
        if "decision" in src:
            del src["decision"]
    top = meta.get("decision")
    if isinstance(top, Mapping) and (
        row.source_index is None or top.get("source") in (None, row.sound_key)
    ):
        del meta["decision"]
    row.decision = None
    row._details = None
    _update_marker(row, None)


# -- evidence ------------------------------------------------------------------------------


def decode_map(hex_bytes: str, shape: tuple[int, int]) -> Any:
    """An attention map from its hex bytes: float32 (rows, columns) in 0..1, or None."""
    import numpy as np

    try:
        raw = bytes.fromhex(hex_bytes)
    except (TypeError, ValueError):
        return None
    h, w = shape
    if len(raw) != h * w:
        return None
    return np.frombuffer(raw, dtype=np.uint8).reshape(h, w).astype(np.float32) / 255.0


def attention_blocks(details: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The attention blocks of a row: start_s (from the span start), frames, weight, map, box.

    ``map`` is decoded (see :func:`decode_map`) or None; empty without attention.
    """
    att = details.get("attention")
    if not isinstance(att, Mapping):
        return []
    shape = att.get("map_shape") or [0, 0]
    shape = (int(shape[0]), int(shape[1])) if len(shape) == 2 else (0, 0)
    out = []
    for b in att.get("blocks") or []:
        out.append(
            {
                "start_s": float(b.get("start_s") or 0.0),
                "frames": int(b.get("frames") or 0),
                "weight": float(b.get("weight") or 0.0),
                "map": decode_map(b["map"], shape) if b.get("map") else None,
                "mouth_box": b.get("mouth_box"),
            }
        )
    return out


def strongest_evidence_s(
    details: Mapping[str, Any], rate: float, span_s: float, span_start_s: float | None = None
) -> float:
    """Seconds from the span start where the evidence is strongest.

    The middle of the most attended block; else of the most confident window
    (window times are timeline seconds: ``span_start_s`` places them, by default
    the first window's start); else the middle of the span.
    """
    blocks = attention_blocks(details)
    if blocks:
        b = max(blocks, key=lambda b: b["weight"])
        return b["start_s"] + b["frames"] / rate / 2
    windows = [w for w in details.get("windows") or [] if isinstance(w, Mapping)]
    if windows and span_s > 0:
        first = span_start_s
        if first is None:
            first = min(float(w.get("start_s") or 0.0) for w in windows)
        w = max(windows, key=lambda w: float(w.get("confidence") or 0.0))
        return float(w.get("start_s") or 0.0) - first + float(w.get("duration_s") or 0.0) / 2
    return span_s / 2


def waveform_envelope(samples: Any, columns: int) -> Any:
    """(columns, 2) min and max of ``samples`` per column, for drawing a waveform."""
    import numpy as np

    x = np.asarray(samples, dtype=np.float32)
    columns = max(1, int(columns))
    out = np.zeros((columns, 2), np.float32)
    if not len(x):
        return out
    edges = np.linspace(0, len(x), columns + 1).astype(int)
    for c in range(columns):
        a, b = edges[c], max(edges[c] + 1, edges[c + 1])
        seg = x[a:b]
        if len(seg):
            out[c] = seg.min(), seg.max()
    return out


# -- files ----------------------------------------------------------------------------------


def open_timeline(
    path: str | os.PathLike,
) -> tuple[otio.schema.Timeline, list[Row], dict[str, Any]]:
    """open_timeline(path) -> (timeline, rows, summary); raises TimelineError for bad files."""
    from otio_avsync.timeline_io import read_timeline

    timeline = read_timeline(path)
    return timeline, load_rows(timeline), timeline_summary(timeline)


def save_timeline(
    timeline: otio.schema.Timeline,
    target: str | os.PathLike,
    *,
    opened: str | os.PathLike | None = None,
    overwrite_input: bool = False,
) -> Path:
    """save_timeline(timeline, target, opened=PATH) -> Path, written atomically.

    Refuses to replace ``opened`` (the file the panel read) unless
    ``overwrite_input``; relative media paths are rewritten when the target is
    in another folder, so the saved timeline still finds its media.
    """
    from otio_avsync.timeline_io import rebase_relative_urls, write_timeline

    target = Path(target)
    out = timeline
    if opened is not None:
        src, dst = Path(opened).resolve().parent, target.resolve().parent
        if src != dst:
            out = copy.deepcopy(timeline)
            rebase_relative_urls(out, src, dst)
    protect = [] if overwrite_input or opened is None else [opened]
    return write_timeline(out, target, protect=protect)
