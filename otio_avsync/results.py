"""Results: what an analysis found for one clip, and how it is judged.

Sign convention everywhere: ``offset_ms > 0`` means the sound is late (it plays
after the picture event); the fix slips the audio earlier by ``offset_ms``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from otio_avsync.metadata import sound_key, sound_label


class Status(StrEnum):
    """The verdict on one clip; markers and exit codes follow from it."""

    IN_SYNC = "in_sync"
    OUT_OF_SYNC = "out_of_sync"
    UNCERTAIN = "uncertain"
    NO_AUDIO = "no_audio"
    MEDIA_MISSING = "media_missing"
    UNSUPPORTED = "unsupported"
    ERROR = "error"

    @property
    def analysable(self) -> bool:
        """True when an estimator ran and produced a verdict on the offset."""
        return self in (Status.IN_SYNC, Status.OUT_OF_SYNC, Status.UNCERTAIN)

    @property
    def flagged(self) -> bool:
        """True when a QC audit fails on this clip by default (exit status 1).

        The one definition of "flagged": the statuses in :data:`DEFAULT_FAIL_ON`;
        ``--fail-on`` replaces that set (see :func:`is_flagged`).
        """
        return self in DEFAULT_FAIL_ON

    @property
    def unchecked(self) -> bool:
        """True when sync could not be checked: no verdict (uncertain) or not analysable.

        Such clips make the exit status 3 by default: 0 promises every clip was checked.
        """
        return self not in (Status.IN_SYNC, Status.OUT_OF_SYNC)


#: The statuses that make an audit's exit status 1 unless ``--fail-on`` says otherwise.
DEFAULT_FAIL_ON: tuple[Status, ...] = (Status.OUT_OF_SYNC,)

#: Exit statuses of the command line and of :func:`exit_status`, for scripts.
EXIT_OK = 0  # every clip checked and in sync (or not flagged)
EXIT_FLAGGED = 1  # clips flagged (``--fail-on``; default out of sync)
EXIT_USAGE = 2  # usage error, bad input, or a bug (one line on stderr)
EXIT_UNCHECKED = 3  # nothing flagged, but some clips could not be checked


def is_flagged(status: Status, fail_on: tuple[Status, ...] | None = None) -> bool:
    """is_flagged(status, fail_on=None) -> bool: the audit fails on this status."""
    return status in (DEFAULT_FAIL_ON if fail_on is None else fail_on)


def exit_status(
    statuses: list[Status], fail_on: tuple[Status, ...] | None = None, *, unchecked_ok: bool = False
) -> int:
    """exit_status(statuses, fail_on=None, unchecked_ok=False) -> 0, 1 or 3

    1 when any status is flagged; else 3 when any clip could not be checked
    (uncertain, media missing, no audio, unsupported, error) unless
    ``unchecked_ok``, or when there is no clip at all to check; else 0.
    """
    if any(is_flagged(s, fail_on) for s in statuses):
        return EXIT_FLAGGED
    if not unchecked_ok and (not statuses or any(s.unchecked for s in statuses)):
        return EXIT_UNCHECKED
    return EXIT_OK


@dataclass(frozen=True)
class Tolerance:
    """Allowed offset window: ``-early_ms <= offset_ms <= late_ms`` is in sync."""

    early_ms: float
    late_ms: float
    name: str = "custom"

    def accepts(self, offset_ms: float) -> bool:
        """tolerance.accepts(offset_ms) -> bool"""
        return -self.early_ms <= offset_ms <= self.late_ms

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "early_ms": self.early_ms, "late_ms": self.late_ms}


#: ITU-R BT.1359 threshold of detectability (sound early 45 ms, late 125 ms): the default.
BT1359 = Tolerance(early_ms=45.0, late_ms=125.0, name="bt1359")
#: ITU-R BT.1359 threshold of acceptability (sound early 90 ms, late 185 ms).
BT1359_ACCEPTABLE = Tolerance(early_ms=90.0, late_ms=185.0, name="bt1359-acceptable")
#: EBU R37 for distribution (sound early 40 ms, late 60 ms): the strict preset.
EBU_R37 = Tolerance(early_ms=40.0, late_ms=60.0, name="ebu-r37")
#: ATSC IS-191 (sound early 15 ms, late 45 ms).
ATSC_IS191 = Tolerance(early_ms=15.0, late_ms=45.0, name="atsc-is191")

TOLERANCE_PRESETS: dict[str, Tolerance] = {
    t.name: t for t in (BT1359, BT1359_ACCEPTABLE, EBU_R37, ATSC_IS191)
}


def parse_tolerance(text: str) -> Tolerance:
    """parse_tolerance("ebu-r37" | "EARLY,LATE") -> Tolerance

    A preset name, or two numbers in ms: how early and how late the sound may be.
    """
    key = text.strip().lower()
    if key in TOLERANCE_PRESETS:
        return TOLERANCE_PRESETS[key]
    parts = [p.strip() for p in key.replace("/", ",").split(",")]
    try:
        early, late = (abs(float(p)) for p in parts)
    except ValueError:
        names = ", ".join(TOLERANCE_PRESETS)
        raise ValueError(
            f"tolerance {text!r} is neither a preset ({names}) nor 'EARLY_MS,LATE_MS'"
        ) from None
    if not all(math.isfinite(v) for v in (early, late)):
        raise ValueError(f"tolerance {text!r} must be finite")
    if any(p.lstrip().startswith("-") for p in parts):
        raise ValueError(
            f"tolerance {text!r}: give how early and how late the sound may be as "
            "positive numbers of ms, e.g. 45,125"
        )
    if early + late <= 0:
        raise ValueError(f"tolerance {text!r} accepts no offset at all; give e.g. 45,125")
    return Tolerance(early_ms=early, late_ms=late)


@dataclass
class AudioSource:
    """Where the sound of an analysis came from, for people and for the fix."""

    kind: str  # "sync_sound" (same media), "track" (another audio track), "embedded" (own media)
    track: str | None = None
    track_index: int | None = None
    clips: list[str] = field(default_factory=list)
    file: str | None = None
    stream_index: int | None = None
    language: str | None = None
    #: "reference" when the metadata marks this sound as the original mix.
    role: str | None = None

    def key(self) -> str:
        """What the same sound is called across clips (:func:`otio_avsync.metadata.sound_key`).

        Results with one key form one "language track" for the track-level consensus.
        """
        return sound_key(vars(self))

    def label(self) -> str:
        """A short human label such as ``A2 'dub-fr' (fra)``."""
        return sound_label(vars(self))


@dataclass
class WindowResult:
    """One analysis window: its span in timeline seconds and its own estimate."""

    start_s: float
    duration_s: float
    offset_ms: float | None
    confidence: float
    weight: float = 1.0


@dataclass
class ClipResult:
    """Everything the pipeline learnt about one picture clip and one sound source."""

    clip_name: str
    status: Status
    message: str
    method: str | None = None
    offset_ms: float | None = None
    offset_frames: float | None = None
    confidence: float = 0.0
    rate: float = 24.0  # timeline rate, for frames
    tolerance: Tolerance = BT1359
    audio_source: AudioSource | None = None
    windows: list[WindowResult] = field(default_factory=list)
    #: The score against candidate offset: (offsets in ms, scores), for reports and review.
    curve_ms: list[float] = field(default_factory=list)
    curve_score: list[float] = field(default_factory=list)
    #: Analysed span in timeline seconds (from the timeline start, without global_start_time).
    span_start_s: float | None = None
    span_duration_s: float | None = None
    #: Record timecode of the clip start, for people.
    record_tc: str | None = None
    track_name: str | None = None
    #: A small JPEG of the span's middle frame (flagged and uncertain clips), for HTML reports.
    thumbnail_jpeg: bytes | None = None
    #: The model's attention (see :mod:`otio_avsync.estimators.attention`); None otherwise.
    attention: dict[str, Any] | None = None
    #: Alignment against the reference sound (see :mod:`otio_avsync.dubbing`); None otherwise.
    reference: dict[str, Any] | None = None
    #: The picture clip this result belongs to (not serialised).
    clip: Any = field(default=None, repr=False, compare=False)
    #: Media time (clip source space) of the analysed span start (not serialised).
    span_media_start: Any = field(default=None, repr=False, compare=False)

    def to_metadata(self) -> dict[str, Any]:
        """The plain dict written to ``clip.metadata["otio_avsync"]`` (JSON types only)."""
        meta: dict[str, Any] = {
            "status": self.status.value,
            "offset_ms": round_or_none(self.offset_ms, 2),
            "offset_frames": round_or_none(self.offset_frames, 3),
            "confidence": round(float(self.confidence), 4),
            "method": self.method,
            "audio_source": asdict(self.audio_source) if self.audio_source else None,
            "windows": [
                {
                    "start_s": round(w.start_s, 4),
                    "duration_s": round(w.duration_s, 4),
                    "offset_ms": round_or_none(w.offset_ms, 2),
                    "confidence": round(float(w.confidence), 4),
                }
                for w in self.windows
            ],
            "tolerance_ms": {"early": self.tolerance.early_ms, "late": self.tolerance.late_ms},
            "tolerance": self.tolerance.name,
            "message": self.message,
        }
        if self.attention:
            meta["attention"] = self.attention
        if self.reference:
            meta["reference"] = self.reference
        if self.curve_ms:
            meta["curve"] = {
                "offset_ms": [round(v, 2) for v in self.curve_ms],
                "score": [round(v, 4) for v in self.curve_score],
            }
        return meta

    def row(self) -> dict[str, Any]:
        """A flat record for tables, CSV and JSON reports."""
        src = self.audio_source
        return {
            "clip": self.clip_name,
            "track": self.track_name,
            "record_tc": self.record_tc,
            "status": self.status.value,
            "offset_ms": round_or_none(self.offset_ms, 1),
            "offset_frames": round_or_none(self.offset_frames, 2),
            "confidence": round(float(self.confidence), 3),
            "method": self.method,
            "audio_source": src.label() if src else None,
            "audio_kind": src.kind if src else None,
            "language": src.language if src else None,
            "stream_index": src.stream_index if src else None,
            "tolerance": self.tolerance.name,
            "reference": (self.reference or {}).get("track"),
            "model_offset_ms": round_or_none((self.reference or {}).get("model_offset_ms"), 1),
            "message": self.message,
        }


def round_or_none(value: float | None, digits: int) -> float | None:
    """round_or_none(value, digits) -> float | None: None for missing or non-finite values."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


#: Below this confidence an estimate is reported as ``uncertain`` instead of a guess.
DEFAULT_MIN_CONFIDENCE = 0.5


def judge(
    offset_ms: float | None,
    confidence: float,
    tolerance: Tolerance,
    *,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    at_search_edge: bool = False,
) -> Status:
    """judge(offset_ms, confidence, tolerance) -> Status

    An estimate pinned at the edge of the search range or below the confidence
    threshold is ``uncertain``: reporting it as a finding would mislead.
    """
    if offset_ms is None or not math.isfinite(offset_ms) or at_search_edge:
        return Status.UNCERTAIN
    if confidence < min_confidence:
        return Status.UNCERTAIN
    return Status.IN_SYNC if tolerance.accepts(offset_ms) else Status.OUT_OF_SYNC


def describe(result: ClipResult) -> str:
    """A plain sentence for markers and reports: what was found and what to do."""
    s = result.status
    if s is Status.IN_SYNC:
        return (
            f"Picture and sound are in sync ({fmt_offset(result)}, within "
            f"{result.tolerance.name}); confidence {result.confidence:.0%}."
        )
    if s is Status.OUT_OF_SYNC:
        assert result.offset_ms is not None
        way = "late" if result.offset_ms > 0 else "early"
        fix = "earlier" if result.offset_ms > 0 else "later"
        return (
            f"Sound is {abs(result.offset_ms):.0f} ms {way} ({fmt_offset(result)}), outside "
            f"{result.tolerance.name}; slip the audio {fix} by {abs(result.offset_ms):.0f} ms. "
            f"Confidence {result.confidence:.0%}."
        )
    if s is Status.UNCERTAIN:
        best = f" Best guess {fmt_offset(result)}." if result.offset_ms is not None else ""
        return f"Not enough evidence to judge sync: {result.message}.{best}".replace("..", ".")
    return result.message


def fmt_offset(result: ClipResult) -> str:
    """``+3f (+125 ms)``: frames at the timeline rate, then milliseconds."""
    if result.offset_ms is None or result.offset_frames is None:
        return "n/a"
    return f"{signed(result.offset_frames)}f ({signed(result.offset_ms)} ms)"


def signed(value: float, digits: int = 0) -> str:
    """``+3``, ``-12``, and ``0`` for anything that rounds to zero (never ``-0``)."""
    text = f"{value:+.{digits}f}"
    return "0" if float(text) == 0 else text
