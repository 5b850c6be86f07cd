"""Timeline walk: turn a timeline into analysis jobs.

An :class:`AnalysisJob` is one picture clip and one linked sound, both placed in
timeline time: the sound may be sync sound (the same media on an audio track),
another audio track overlapping the picture (a dub), or, when no audio track
covers the picture, each audio stream of the picture's own media.

Nothing here decodes media; :func:`build_jobs` only probes files (through the
``probe`` callable) to list the audio streams of media used for its own sound.
"""

from __future__ import annotations

import math
import os
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import opentimelineio as otio

from otio_avsync.results import AudioSource, Status

__all__ = [
    "AnalysisJob",
    "MediaSpan",
    "PlacedClip",
    "build_jobs",
    "placed_clips",
    "resolve_media_path",
    "track_labels",
]


@dataclass
class MediaSpan:
    """A piece of one media file placed on the timeline.

    ``media_time_s`` is in the clip's media time (OTIO ``source_range`` space),
    ``media_origin_s`` the media time of the file's first frame when the
    reference says so (``available_range.start_time``), else ``None`` and the
    renderer uses the file's own start timecode.
    """

    clip_name: str
    path: Path | None
    url: str | None
    timeline_start_s: float
    duration_s: float
    media_time_s: float
    media_origin_s: float | None
    stream_index: int | None = None
    #: Media seconds played per timeline second (a sound clip's LinearTimeWarp, e.g.
    #: the fix's speed change); picture spans are always 1.
    speed: float = 1.0
    #: Media time (seconds) of the clip's own first frame: decides the time base of a
    #: padded window that starts before the file (see :func:`otio_avsync.render.file_time`).
    clip_media_s: float | None = None


@dataclass
class AnalysisJob:
    """One picture clip with one linked sound, ready for decoding.

    When ``status`` is set the job cannot be analysed (media missing, time warp,
    no audio...) and ``message`` says why in a sentence.
    """

    clip: otio.schema.Clip
    clip_name: str
    track_name: str
    rate: float
    span_start_s: float
    span_duration_s: float
    #: Media time (clip source space) of the analysed span start, for markers.
    span_media_start: otio.opentime.RationalTime
    record_tc: str | None
    picture: MediaSpan | None
    sound: list[MediaSpan] = field(default_factory=list)
    source: AudioSource | None = None
    status: Status | None = None
    message: str = ""
    #: Sound is rendered this much before and after the span (timeline audio
    #: around the picture), so that every candidate offset has sound to compare.
    audio_pad_s: float = 0.0

    @property
    def key(self) -> tuple[int, str]:
        """Identifies the picture clip across jobs (several sounds per clip)."""
        return (id(self.clip), self.clip_name)


@dataclass
class PlacedClip:
    """A clip with its timeline range (seconds from the timeline start) and track."""

    clip: otio.schema.Clip
    track: otio.schema.Track
    track_label: str
    kind: str
    start_s: float
    duration_s: float
    rate: float
    unsupported: str | None = None
    #: Seconds a transition covers at the clip's head (left out of start_s).
    head_s: float = 0.0
    #: Media seconds per timeline second: a sound clip's own LinearTimeWarp (else 1).
    speed: float = 1.0

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    @property
    def media_start_s(self) -> float:
        """Timeline seconds of the clip's first trimmed frame (before transition trims)."""
        return self.start_s - self.head_s


# -- media references ---------------------------------------------------------------


def resolve_media_path(url: str | None, base_dir: str | os.PathLike | None) -> Path | None:
    """resolve_media_path(url, base_dir) -> Path | None

    ``file://`` URLs and plain paths; relative paths resolve against the
    timeline's folder. Returns ``None`` for URLs that are not local files
    (http, empty) so that the caller can report ``media_missing``.
    """
    if not url:
        return None
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        path = Path(urllib.request.url2pathname(parsed.path))
        if parsed.netloc and parsed.netloc not in ("", "localhost"):
            path = Path(f"//{parsed.netloc}{path}")
    elif parsed.scheme and len(parsed.scheme) > 1:  # http://, s3://: not a local file
        return None
    else:  # plain path (a one-letter scheme is a Windows drive)
        path = Path(url)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    return path


def _reference_url(clip: otio.schema.Clip) -> tuple[str | None, Status | None, str]:
    """(url, status, problem): the media URL of a clip, or why it has none usable."""
    ref = clip.media_reference
    if ref is None or isinstance(ref, otio.schema.MissingReference):
        return None, Status.MEDIA_MISSING, "its media reference is missing (offline media)"
    if isinstance(ref, otio.schema.ExternalReference):
        return ref.target_url, None, ""
    return None, Status.UNSUPPORTED, f"media of type {ref.schema_name()} cannot be analysed"


def _media_origin_s(clip: otio.schema.Clip) -> float | None:
    ref = clip.media_reference
    if ref is not None and ref.available_range is not None:
        return ref.available_range.start_time.to_seconds()
    return None


# -- walking the timeline ----------------------------------------------------------------


def _time_warp_problem(item: otio.core.Item) -> str | None:
    """Why an item's speed effects make it unanalysable, or None."""
    node: Any = item
    while node is not None:
        for effect in getattr(node, "effects", []) or []:
            if isinstance(effect, otio.schema.FreezeFrame):
                return "it has a freeze frame"
            if isinstance(effect, otio.schema.LinearTimeWarp):
                if not math.isclose(effect.time_scalar, 1.0):
                    return f"it has a speed change (time scalar {effect.time_scalar:g})"
            elif isinstance(effect, otio.schema.TimeEffect):
                return f"it has a time effect ({effect.effect_name or effect.schema_name()})"
        node = node.parent()
    return None


def _sound_speed(clip: otio.schema.Clip) -> float | None:
    """The speed of a sound clip whose only time effects are its own LinearTimeWarps.

    A constant speed change of a sound clip (how a conform drift is fixed) can be
    rendered; anything else, or one on a track, is left to ``_time_warp_problem``.
    """
    warps = [e for e in clip.effects if isinstance(e, otio.schema.TimeEffect)]
    if not warps or not all(type(e) is otio.schema.LinearTimeWarp for e in warps):
        return None
    speed = math.prod(e.time_scalar for e in warps)
    if not (math.isfinite(speed) and 0.25 <= speed <= 4.0):
        return None
    node = clip.parent()
    while node is not None:  # time effects above the clip: not ours to render
        if any(isinstance(e, otio.schema.TimeEffect) for e in getattr(node, "effects", []) or []):
            return None
        node = node.parent()
    return speed


def _iter_clips(composition: otio.core.Composition) -> Iterator[tuple[otio.schema.Clip, Any]]:
    """Yield (clip, innermost track) for every clip, through nested stacks, in order.

    Walks with an explicit stack: hundreds of nested stacks must not hit
    Python's recursion limit.
    """
    stack: list[tuple[Any, Iterator[Any]]] = [(composition, iter(composition))]
    while stack:
        parent, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
        elif isinstance(child, otio.schema.Clip):
            yield child, parent
        elif isinstance(child, otio.core.Composition):
            stack.append((child, iter(child)))


def _transition_trims(clip: otio.schema.Clip, track: otio.schema.Track) -> tuple[float, float]:
    """Seconds to drop at the head and tail of a clip because a transition covers them."""
    try:
        prev_item, next_item = track.neighbors_of(clip)
    except Exception:
        return 0.0, 0.0
    head = tail = 0.0
    if isinstance(prev_item, otio.schema.Transition):
        head = prev_item.out_offset.to_seconds()
    if isinstance(next_item, otio.schema.Transition):
        tail = next_item.in_offset.to_seconds()
    return head, tail


def track_labels(timeline: otio.schema.Timeline) -> dict[str, otio.schema.Track]:
    """track_labels(timeline) -> {label: track}: the names results use for top-level tracks."""
    out: dict[str, otio.schema.Track] = {}
    counters: dict[Any, int] = {}
    for top in timeline.tracks:
        if not isinstance(top, otio.schema.Track):
            continue
        counters[top.kind] = counters.get(top.kind, 0) + 1
        prefix = "V" if top.kind == otio.schema.TrackKind.Video else "A"
        out.setdefault(top.name or f"{prefix}{counters[top.kind]}", top)
    return out


def placed_clips(timeline: otio.schema.Timeline) -> list[PlacedClip]:
    """placed_clips(timeline) -> list[PlacedClip]

    Every clip of every track with its range in timeline seconds (measured from
    the timeline start, without ``global_start_time``), the part covered by a
    transition left out.
    """
    out: list[PlacedClip] = []
    counters = {otio.schema.TrackKind.Video: 0, otio.schema.TrackKind.Audio: 0}
    for top in timeline.tracks:
        if not isinstance(top, otio.schema.Track):
            continue
        kind = top.kind
        counters[kind] = counters.get(kind, 0) + 1
        prefix = "V" if kind == otio.schema.TrackKind.Video else "A"
        label = top.name or f"{prefix}{counters[kind]}"
        for clip, track in _iter_clips(top):
            inner_kind = getattr(track, "kind", kind)
            try:
                rng = clip.transformed_time_range(clip.trimmed_range(), timeline.tracks)
            except Exception as exc:
                out.append(
                    PlacedClip(clip, track, label, inner_kind, 0.0, 0.0, 24.0, f"bad range: {exc}")
                )
                continue
            rate = float(rng.duration.rate or rng.start_time.rate or 24.0)
            start, dur = rng.start_time.to_seconds(), rng.duration.to_seconds()
            head, tail = _transition_trims(clip, track)
            problem, applied_head = None, 0.0
            if not (math.isfinite(start) and math.isfinite(dur)) or not math.isfinite(rate):
                problem, start, dur = "its range is not a finite time", 0.0, 0.0
            elif not 1.0 <= rate <= 1000.0:
                problem, start, dur = f"its rate {rate:g} is not a usable frame rate", 0.0, 0.0
            elif dur - head - tail <= 0:
                problem = "it has no duration outside transitions" if dur > 0 else "it is empty"
            else:
                start, dur, applied_head = start + head, dur - head - tail, head
            speed = _sound_speed(clip) if inner_kind == otio.schema.TrackKind.Audio else None
            problem = problem or (None if speed else _time_warp_problem(clip))
            placed = PlacedClip(clip, track, label, inner_kind, start, dur, rate, problem)
            placed.head_s = applied_head
            placed.speed = speed or 1.0
            out.append(placed)
    return out


def _record_tc(timeline: otio.schema.Timeline, start_s: float, rate: float) -> str | None:
    gst = timeline.global_start_time
    base = gst.to_seconds() if gst is not None else 0.0
    rate = float(gst.rate) if gst is not None and gst.rate > 0 else rate
    try:
        rt = otio.opentime.from_seconds(base + start_s, rate).round()
        return otio.opentime.to_timecode(rt, rate)
    except Exception:
        return None


def _span_for(pc: PlacedClip, start_s: float, dur_s: float, stream: int | None) -> MediaSpan:
    """Map a timeline interval inside a placed clip onto the clip's media."""
    url, _, _ = _reference_url(pc.clip)
    trimmed = pc.clip.trimmed_range()
    into = start_s - pc.media_start_s  # seconds into the clip's trimmed range
    return MediaSpan(
        clip_name=pc.clip.name or "",
        path=None,
        url=url,
        timeline_start_s=start_s,
        duration_s=dur_s,
        media_time_s=trimmed.start_time.to_seconds() + into * pc.speed,
        media_origin_s=_media_origin_s(pc.clip),
        stream_index=stream,
        speed=pc.speed,
        clip_media_s=trimmed.start_time.to_seconds(),
    )


ProbeFn = Callable[[Path], Any]


def build_jobs(
    timeline: otio.schema.Timeline,
    *,
    base_dir: str | os.PathLike | None = None,
    probe: ProbeFn | None = None,
    max_span_s: float | None = 60.0,
    audio_pad_s: float = 0.0,
) -> list[AnalysisJob]:
    """build_jobs(timeline, base_dir=None, probe=None) -> list[AnalysisJob]

    One job per picture clip and linked sound. Clips that cannot be analysed
    get a job with a ``status`` and a reason, so every picture clip shows up
    in the results. ``audio_pad_s`` extends the sound beyond the span on both
    sides (use the search range). ``probe(path)`` returns a :class:`otio_avsync.decode.MediaInfo`
    (injected so this module needs no decoder); ``max_span_s`` caps the
    analysed span to the middle of long clips.
    """
    if probe is None:
        from otio_avsync.decode import probe as probe

    placed = placed_clips(timeline)
    audio = [p for p in placed if p.kind == otio.schema.TrackKind.Audio]
    audio_labels = list(dict.fromkeys(p.track_label for p in audio))
    jobs: list[AnalysisJob] = []
    for idx, pc in enumerate(p for p in placed if p.kind == otio.schema.TrackKind.Video):
        name = pc.clip.name or f"clip {idx + 1}"
        start, dur = pc.start_s, pc.duration_s
        if max_span_s and dur > max_span_s:
            start, dur = start + (dur - max_span_s) / 2, max_span_s
        into = start - pc.media_start_s
        media_start = pc.clip.trimmed_range().start_time + otio.opentime.from_seconds(
            into, pc.clip.trimmed_range().start_time.rate or pc.rate
        )
        job = AnalysisJob(
            clip=pc.clip,
            clip_name=name,
            track_name=pc.track_label,
            rate=pc.rate,
            span_start_s=start,
            span_duration_s=dur,
            span_media_start=media_start,
            record_tc=_record_tc(timeline, pc.start_s, pc.rate),
            picture=None,
            audio_pad_s=max(0.0, audio_pad_s),
        )
        if pc.unsupported:
            jobs.append(
                _failed(job, Status.UNSUPPORTED, f"Clip cannot be analysed: {pc.unsupported}.")
            )
            continue
        url, status, problem = _reference_url(pc.clip)
        if status is not None:
            jobs.append(_failed(job, status, f"Picture cannot be analysed: {problem}."))
            continue
        path = resolve_media_path(url, base_dir)
        if path is None or not path.is_file():
            jobs.append(_failed(job, Status.MEDIA_MISSING, f"Picture media not found: {url}."))
            continue
        job.picture = _span_for(pc, start, dur, None)
        job.picture.path = path

        sound_jobs = _track_sound_jobs(job, pc, audio, audio_labels, start, dur, base_dir)
        if not sound_jobs:
            sound_jobs = _embedded_sound_jobs(job, pc, path, probe, start, dur)
        jobs.extend(sound_jobs)
    return jobs


def _failed(job: AnalysisJob, status: Status, message: str) -> AnalysisJob:
    job.status, job.message = status, message
    return job


def _copy_job(job: AnalysisJob) -> AnalysisJob:
    """A job for another sound of the same picture (its own sound list)."""
    fields = {f: getattr(job, f) for f in job.__dataclass_fields__}
    fields["sound"] = list(job.sound)
    return AnalysisJob(**fields)


def _track_sound_jobs(
    job: AnalysisJob,
    pc: PlacedClip,
    audio: list[PlacedClip],
    labels: list[str],
    start: float,
    dur: float,
    base_dir: str | os.PathLike | None,
) -> list[AnalysisJob]:
    """One job per audio track that overlaps the picture's analysed span."""
    end = start + dur
    lo, hi = start - job.audio_pad_s, end + job.audio_pad_s
    picture_url = job.picture.url if job.picture else None
    out = []
    for track_index, label in enumerate(labels):
        overlapping = [
            a for a in audio if a.track_label == label and a.start_s < end and a.end_s > start
        ]
        if not overlapping:
            continue
        around = [a for a in audio if a.track_label == label and a.start_s < hi and a.end_s > lo]
        j = _copy_job(job)
        urls = {_reference_url(a.clip)[0] for a in overlapping}
        same_media = picture_url is not None and urls == {picture_url}
        j.source = AudioSource(
            kind="sync_sound" if same_media else "track",
            track=label,
            track_index=track_index,
            clips=[a.clip.name or "" for a in overlapping],
            file=next(iter(urls)) if len(urls) == 1 else None,
            language=_language_hint(overlapping[0].clip, overlapping[0].track),
            role=_hint(overlapping[0].clip, overlapping[0].track, "role"),
        )
        problems = []
        for a in around:
            s, e = max(lo, a.start_s), min(hi, a.end_s)
            a_url, a_status, problem = _reference_url(a.clip)
            a_path = None if a_status or a.unsupported else resolve_media_path(a_url, base_dir)
            playable = a_path is not None and a_path.is_file()
            if a not in overlapping and not playable:
                continue  # a neighbour we cannot play only shortens the context
            if a.unsupported:
                problems.append(
                    (Status.UNSUPPORTED, f"audio clip {a.clip.name!r}: {a.unsupported}")
                )
                continue
            if a_status is not None:
                problems.append((a_status, f"audio clip {a.clip.name!r}: {problem}"))
                continue
            if not playable:
                problems.append((Status.MEDIA_MISSING, f"audio media not found: {a_url}"))
                continue
            span = _span_for(a, s, e - s, _stream_hint(a.clip))
            span.path = a_path
            j.sound.append(span)
        if problems:
            status = problems[0][0]
            j = _failed(
                j, status, "Sound cannot be analysed: " + "; ".join(p for _, p in problems) + "."
            )
        out.append(j)
    return out


def _embedded_sound_jobs(
    job: AnalysisJob, pc: PlacedClip, path: Path, probe: ProbeFn, start: float, dur: float
) -> list[AnalysisJob]:
    """One job per audio stream of the picture's own media (no audio track covers it)."""
    from otio_avsync.errors import AvsyncError

    try:
        info = probe(path)
    except AvsyncError as exc:
        return [_failed(job, Status.ERROR, f"Picture media cannot be read: {exc}")]
    if info.video is None:
        return [_failed(job, Status.UNSUPPORTED, f"Picture media has no video stream: {path}.")]
    streams = list(info.audio)
    if not streams:
        msg = "No linked audio: no audio track covers the clip and its media has no sound."
        return [_failed(job, Status.NO_AUDIO, msg)]
    out = []
    for stream in streams:
        j = _copy_job(job)
        j.source = AudioSource(
            kind="embedded",
            file=str(path),
            stream_index=stream.index,
            language=stream.language,
            clips=[job.clip_name],
        )
        pad = job.audio_pad_s
        span = _span_for(pc, start - pad, dur + 2 * pad, stream.index)
        span.path = path
        j.sound = [span]
        out.append(j)
    return out


def _hint(clip: otio.schema.Clip, track: Any, name: str) -> str | None:
    """A string our metadata on the clip or its track sets (``language``, ``role``)."""
    for item in (clip, track):
        meta = item.metadata.get("otio_avsync") if item is not None else None
        if isinstance(meta, Mapping) and isinstance(meta.get(name), str):
            return meta[name]
    return None


def _language_hint(clip: otio.schema.Clip, track: Any) -> str | None:
    """A language named in our metadata on the clip or track, if any."""
    return _hint(clip, track, "language")


def _stream_hint(clip: otio.schema.Clip) -> int | None:
    """The audio stream a clip plays, when our metadata pins one."""
    meta = clip.metadata.get("otio_avsync")
    if isinstance(meta, Mapping) and isinstance(meta.get("stream_index"), int):
        return meta["stream_index"]
    return None
