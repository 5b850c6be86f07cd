"""Synthetic media and timelines with a known audio/video offset.

The tests, the ``demo`` command and the benchmarks need media whose true sync
error is known exactly.  Every picture event (a flash, a ball impact, a mouth
opening) has a matching sound event (beep, knock, voiced syllable); the sound
is placed sample-accurately at ``picture time + offset_ms / 1000``.

Sign convention (the package's, everywhere): ``offset_ms > 0`` means the sound
is LATE relative to the picture.

Events come at irregular random gaps (0.35–1.3 s) so that cross-correlation of
the audio onset envelope against visual motion energy has a single clear peak.
Distractors (slow moving clutter, a music bed whose soft chord changes avoid
the events, background noise about 30 dB under the events) are present but
weaker than the events, so estimators are tested on something less trivial
than clicks on silence.

The first event is never earlier than :data:`FIRST_EVENT_MIN_S` and the last
one ends :data:`TAIL_S` before the end of the clip, so offsets within about
±500 ms never push the first sound before the start of the file.

This module holds the codecs, the encoding and the timeline builders; the spec
and the event schedule are in :mod:`otio_avsync.testspec`, the sound is rendered
by :mod:`otio_avsync.testsound` and the picture drawn by
:mod:`otio_avsync.testpicture`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import opentimelineio as otio

from otio_avsync.testpicture import _Scene

# The spec, the events and the sound live in their own modules; the names below
# are re-exported for otio_avsync.testdubs and the tests, which take them from here.
from otio_avsync.testsound import _place as _place
from otio_avsync.testsound import _render_audio
from otio_avsync.testspec import _KINDS as _KINDS
from otio_avsync.testspec import (
    FIRST_EVENT_MIN_S,
    TAIL_S,
    ClipSpec,
    _event_frames,
    _event_kinds,
    _frame_count,
)

__all__ = [
    "FIRST_EVENT_MIN_S",
    "MPEG2_RATES",
    "TAIL_S",
    "TRUTH_METADATA_KEY",
    "ClipSpec",
    "ClipTruth",
    "TimelineTruth",
    "available_audio_codecs",
    "available_video_codecs",
    "make_clip",
    "make_demo",
    "make_slipped_timeline",
]

#: Frame rates MPEG-2 video can signal (frame_rate_code 1..8).
MPEG2_RATES = frozenset(
    {
        Fraction(24000, 1001),
        Fraction(24),
        Fraction(25),
        Fraction(30000, 1001),
        Fraction(30),
        Fraction(50),
        Fraction(60000, 1001),
        Fraction(60),
    }
)
#: OTIO metadata key under which generated timelines record their ground truth.
#: Deliberately not ``otio_avsync`` so audit results never mix with the truth.
TRUTH_METADATA_KEY = "otio_avsync_testmedia"

_SCENES = ("flash", "ball", "mouth", "mixed")
_LAYOUTS = {1: "mono", 2: "stereo", 6: "5.1"}


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class ClipTruth:
    """Ground truth of one generated file."""

    path: Path
    spec: ClipSpec
    #: Picture event times (frame-aligned, seconds from the start of the file).
    #: Empty for ``still`` and audio-only clips: they have no picture events
    #: (their sound events still happen, see sound_times_s).
    event_times_s: tuple[float, ...]
    offset_ms: float
    #: Kind of each scheduled event ("flash", "ball" or "mouth"); parallel to
    #: event_times_s and sound_times_s whenever those are not empty.
    event_kinds: tuple[str, ...] = ()
    #: Sound event start times (seconds), i.e. event time + offset; a negative
    #: one was clipped at the start of the file.  Empty for silent / no-audio clips.
    sound_times_s: tuple[float, ...] = ()
    #: Number of video frames written (0 for audio-only files).
    frame_count: int = 0


@dataclass(frozen=True)
class TimelineTruth:
    """Ground truth of a generated timeline."""

    path: Path  # the .otio file written
    expected: dict[str, float]  # picture clip name -> expected offset_ms (sound late > 0)
    rate: Fraction  # timeline rate
    #: Media files written for the timeline (absolute paths).
    media: tuple[Path, ...] = field(default=())


# --------------------------------------------------------------------------- codecs


@dataclass(frozen=True)
class _VideoCodecSetup:
    pix_fmt: str
    options: dict[str, str]
    bits_per_pixel: float = 0.0  # for codecs steered by bit rate (0 = codec default / crf)


_VIDEO_SETUP: dict[str, _VideoCodecSetup] = {
    "libx264": _VideoCodecSetup("yuv420p", {"preset": "veryfast", "crf": "20"}),
    "libx265": _VideoCodecSetup(
        "yuv420p", {"preset": "ultrafast", "crf": "24", "x265-params": "log-level=error"}
    ),
    "mpeg2video": _VideoCodecSetup("yuv420p", {}, 0.25),
    "mpeg4": _VideoCodecSetup("yuv420p", {}, 0.25),
    "prores_ks": _VideoCodecSetup("yuv422p10le", {"profile": "0"}),  # ProRes 422 Proxy
    "dnxhd": _VideoCodecSetup("yuv422p", {"profile": "dnxhr_lb"}),
    "mjpeg": _VideoCodecSetup("yuvj420p", {}, 0.8),
    "libvpx-vp9": _VideoCodecSetup(
        "yuv420p", {"deadline": "realtime", "cpu-used": "8", "crf": "32"}, 0.1
    ),
    "libsvtav1": _VideoCodecSetup("yuv420p", {"preset": "12"}),
}

# Preferred sample formats, best first; the first one the encoder offers wins.
_AUDIO_FORMAT_PREFERENCE = ("fltp", "flt", "s16", "s16p", "s32", "s32p")
_OPUS_RATES = frozenset({8000, 12000, 16000, 24000, 48000})


def _encoder(name: str, kind: str) -> av.codec.Codec:
    """The encoder behind ``name``, or a ValueError naming the missing codec."""
    if name not in av.codecs_available:
        raise ValueError(f"{kind} codec {name!r} is not available in this PyAV/FFmpeg build")
    try:
        codec = av.codec.Codec(name, "w")
    except Exception as exc:  # UnknownCodecError and friends
        raise ValueError(f"no {kind} encoder for {name!r} in this PyAV/FFmpeg build") from exc
    if codec.type != kind:
        raise ValueError(f"{name!r} is a {codec.type} codec, not a {kind} codec")
    return codec


def available_video_codecs() -> tuple[str, ...]:
    """Video codec names :func:`make_clip` can encode in this build (for tests/benchmarks)."""
    names = ["h264", "hevc", "mpeg2video", "prores_ks", "dnxhd", "mjpeg", "mpeg4"]
    names += ["libvpx-vp9", "libsvtav1"]
    out = []
    for name in names:
        try:
            _encoder(name, "video")
        except ValueError:
            continue
        out.append(name)
    return tuple(out)


def available_audio_codecs() -> tuple[str, ...]:
    """Audio codec names :func:`make_clip` can encode in this build."""
    names = ["aac", "pcm_s16le", "pcm_s24le", "mp3", "libopus", "flac"]
    out = []
    for name in names:
        try:
            _encoder(name, "audio")
        except ValueError:
            continue
        out.append(name)
    return tuple(out)


_CONTAINER_FORMATS = {"mp4": "mp4", "mov": "mov", "mkv": "matroska", "mxf": "mxf", "webm": "webm"}


def _validate(spec: ClipSpec) -> None:
    """Reject specs that cannot be honoured before anything is written."""
    if spec.scene not in _SCENES:
        raise ValueError(f"scene must be one of {_SCENES}, not {spec.scene!r}")
    if spec.channels not in _LAYOUTS:
        raise ValueError(f"channels must be 1, 2 or 6, not {spec.channels}")
    if spec.duration_s <= FIRST_EVENT_MIN_S + TAIL_S:
        raise ValueError(f"duration_s must exceed {FIRST_EVENT_MIN_S + TAIL_S} s")
    if not spec.video and not spec.languages:
        raise ValueError("a clip needs a video stream or at least one audio language")
    if spec.fps <= 0:
        raise ValueError("fps must be positive")
    if spec.width % 2 or spec.height % 2 or spec.width < 16 or spec.height < 16:
        raise ValueError("width and height must be even and at least 16")
    if spec.container not in _CONTAINER_FORMATS:
        raise ValueError(f"container must be one of {tuple(_CONTAINER_FORMATS)}")
    fmt = _CONTAINER_FORMATS[spec.container]
    if fmt not in av.formats_available:
        raise ValueError(f"container {spec.container!r} (muxer {fmt!r}) is not available")
    if spec.video:
        vcodec = _encoder(spec.video_codec, "video")
        if vcodec.name == "mpeg2video" and Fraction(spec.fps) not in MPEG2_RATES:
            raise ValueError(f"{spec.fps} fps is not a legal MPEG-2 frame rate")
        if vcodec.name == "dnxhd" and (spec.width < 256 or spec.height < 120):
            raise ValueError("dnxhd (DNxHR) needs at least 256x120 pixels")
    if spec.languages:
        acodec = _encoder(spec.audio_codec, "audio")
        if acodec.name == "libopus" and spec.sample_rate not in _OPUS_RATES:
            raise ValueError(f"opus cannot encode {spec.sample_rate} Hz")
        if acodec.name == "libmp3lame" and spec.channels > 2:
            raise ValueError("mp3 carries at most 2 channels")


# --------------------------------------------------------------------------- encoding


def _add_video_stream(container: av.container.OutputContainer, spec: ClipSpec) -> av.VideoStream:
    codec = _encoder(spec.video_codec, "video")
    setup = _VIDEO_SETUP.get(codec.name)
    if setup is None:
        formats = [f.name for f in (codec.video_formats or ())]
        setup = _VideoCodecSetup(formats[0] if formats else "yuv420p", {}, 0.2)
    fps = Fraction(spec.fps)
    stream = container.add_stream(codec.name, rate=fps, options=dict(setup.options))
    stream.width = spec.width
    stream.height = spec.height
    stream.pix_fmt = setup.pix_fmt
    stream.time_base = 1 / fps
    stream.codec_context.time_base = 1 / fps
    stream.codec_context.gop_size = max(1, round(2 * float(fps)))
    if setup.bits_per_pixel:
        stream.bit_rate = int(spec.width * spec.height * float(fps) * setup.bits_per_pixel)
    if codec.name == "mpeg2video":
        stream.codec_context.max_b_frames = 2
    if spec.timecode:
        stream.metadata["timecode"] = spec.timecode
    return stream


def _add_audio_stream(
    container: av.container.OutputContainer, spec: ClipSpec, language: str
) -> av.AudioStream:
    codec = _encoder(spec.audio_codec, "audio")
    offered = [f.name for f in (codec.audio_formats or ())]
    fmt = next(
        (f for f in _AUDIO_FORMAT_PREFERENCE if f in offered), offered[0] if offered else "s16"
    )
    if codec.name == "pcm_s24le":
        fmt = "s32"
    stream = container.add_stream(codec.name, rate=spec.sample_rate)
    stream.layout = _LAYOUTS[spec.channels]
    stream.format = fmt
    stream.time_base = Fraction(1, spec.sample_rate)
    stream.codec_context.time_base = Fraction(1, spec.sample_rate)
    if codec.name in ("aac", "libmp3lame", "libopus"):
        stream.bit_rate = 64000 * max(2, spec.channels)
    stream.metadata["language"] = language
    return stream


def _audio_frames(audio: np.ndarray, fmt: str, layout: str, sr: int) -> Iterator[av.AudioFrame]:
    """Chunks of 1024 samples with pts in samples (time base 1/sr)."""
    chunk = 1024
    planar = fmt.endswith("p")
    base = fmt.rstrip("p")
    for start in range(0, audio.shape[1], chunk):
        block = audio[:, start : start + chunk]
        if base == "flt":
            data = block.astype(np.float32)
        elif base == "s16":
            data = np.round(np.clip(block, -1, 1) * 32767).astype(np.int16)
        elif base == "s32":
            data = np.round(np.clip(block, -1, 1) * 2147483392.0).astype(np.int32)
        else:
            raise ValueError(f"unsupported sample format {fmt}")
        if not planar:
            data = np.ascontiguousarray(data.T).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=fmt, layout=layout)
        frame.sample_rate = sr
        frame.pts = start
        frame.time_base = Fraction(1, sr)
        yield frame


def make_clip(path: str | Path, spec: ClipSpec = ClipSpec()) -> ClipTruth:  # noqa: B008 (frozen)
    """Write one synthetic clip and return its ground truth.

    Frames are rendered and encoded one at a time (bounded memory, so long
    1080p clips are fine); audio is rendered whole, then encoded in chunks.
    A partly written file is removed when encoding fails.
    """
    path = Path(path)
    fps = spec.fps
    fps = Fraction(fps).limit_denominator(1001) if isinstance(fps, float) else Fraction(fps)
    spec = replace(spec, fps=fps)
    _validate(spec)
    rng = np.random.default_rng([spec.seed, 1])
    frames = _event_frames(spec, rng)
    kinds = _event_kinds(spec.scene, len(frames), rng)
    n_frames = _frame_count(spec) if spec.video else 0
    audios = [_render_audio(spec, frames, kinds, voice) for voice in range(len(spec.languages))]
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        _encode(path, spec, frames, kinds, audios, n_frames)
    except av.FFmpegError as exc:  # e.g. a codec the muxer cannot carry (hevc in mxf)
        path.unlink(missing_ok=True)
        what = f"video {spec.video_codec!r}, " if spec.video else ""
        what += f"audio {spec.audio_codec!r}" if spec.languages else "no audio"
        raise ValueError(f"cannot write {spec.container!r} with {what}: {exc}") from exc
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    times = tuple(float(Fraction(f) / spec.fps) for f in frames)
    off = spec.offset_ms / 1000.0
    return ClipTruth(
        path=path,
        spec=spec,
        event_times_s=() if spec.still or not spec.video else times,
        offset_ms=spec.offset_ms,
        event_kinds=tuple(kinds),
        sound_times_s=() if spec.silent or not spec.languages else tuple(t + off for t in times),
        frame_count=n_frames,
    )


def _encode(
    path: Path,
    spec: ClipSpec,
    frames: Sequence[int],
    kinds: Sequence[str],
    audios: Sequence[np.ndarray],
    n_frames: int,
) -> None:
    fmt = _CONTAINER_FORMATS[spec.container]
    with av.open(str(path), mode="w", format=fmt) as container:
        if spec.timecode:
            container.metadata["timecode"] = spec.timecode
        vstream = _add_video_stream(container, spec) if spec.video else None
        astreams = [_add_audio_stream(container, spec, lang) for lang in spec.languages]
        # Interleave: audio up to each video frame's time, so muxers need little buffering.
        audio_iters = [
            _audio_frames(a, s.format.name, s.layout.name, spec.sample_rate)
            for a, s in zip(audios, astreams, strict=True)
        ]
        pending: list[av.AudioFrame | None] = [next(it, None) for it in audio_iters]

        def feed_audio(until_s: float) -> None:
            for k, stream in enumerate(astreams):
                while pending[k] is not None and pending[k].pts / spec.sample_rate <= until_s:
                    container.mux(stream.encode(pending[k]))
                    pending[k] = next(audio_iters[k], None)

        if vstream is not None:
            scene = _Scene(spec, frames, kinds, np.random.default_rng([spec.seed, 2]))
            img = np.empty((spec.height, spec.width, 3), np.uint8)
            tb = 1 / spec.fps
            for i in range(n_frames):
                feed_audio(i / float(spec.fps))
                if i == 0 or not spec.still:
                    scene.draw(img, i)
                frame = av.VideoFrame.from_ndarray(img, format="rgb24")
                frame.pts = i
                frame.time_base = tb
                container.mux(vstream.encode(frame))
        feed_audio(math.inf)
        if vstream is not None:
            container.mux(vstream.encode(None))
        for stream in astreams:
            container.mux(stream.encode(None))


# --------------------------------------------------------------------------- timelines


@dataclass(frozen=True)
class _Entry:
    """One picture clip of a generated timeline."""

    name: str
    spec: ClipSpec | None  # None = media that does not exist
    slip_frames: int | None  # None = no audio clip on A1 (a gap)
    missing: str = ""  # "" | "url" (ExternalReference to a missing file) | "reference"


def _tc_string(frames: int, rate: Fraction) -> str:
    """Non-drop-frame timecode, matching the "01:00:00:00" global start time at any rate."""
    rt = otio.opentime.RationalTime(frames, float(rate))
    return otio.opentime.to_timecode(rt, float(rate), False)


def _start_frames(rate: Fraction, index: int) -> int:
    """01:00:00:00 plus 10 s 3 frames per clip, in frames, so media never start at 0."""
    hour = otio.opentime.from_timecode("01:00:00:00", float(rate)).to_frames()
    nominal = round(float(rate))
    return int(hour + index * (10 * nominal + 3))


def _entry_truth(entry: _Entry, rate: float) -> tuple[dict[str, object], float | None]:
    """The ground truth recorded on an entry's picture clip, and its expected offset.

    A slipped A1 clip is late by its slip; a gap on A1 leaves the media's own
    baked-in offset; missing media cannot be analysed (None).
    """
    truth: dict[str, object] = {"role": "picture"}
    if entry.spec is None or entry.missing:
        truth.update(expected_offset_ms=None, analysable=False)
        return truth, None
    if entry.slip_frames is not None:
        offset = entry.slip_frames * 1000.0 / rate
        truth.update(expected_offset_ms=offset, slip_frames=entry.slip_frames)
        return truth, offset
    offset = entry.spec.offset_ms
    truth.update(expected_offset_ms=offset, source="media audio")
    return truth, offset


def _entry_reference(
    entry: _Entry, url: str, available: otio.opentime.TimeRange
) -> otio.core.MediaReference:
    """A fresh media reference for one of the entry's clips (each clip owns its own)."""
    if entry.missing == "reference":
        return otio.schema.MissingReference(name=entry.name)
    return otio.schema.ExternalReference(target_url=url, available_range=available)


def _entry_clips(
    entry: _Entry,
    url: str,
    start: int,
    rate: float,
    clip_frames: int,
    handle_frames: int,
    truth: dict[str, object],
) -> tuple[otio.schema.Clip, otio.core.Item]:
    """The entry's V1 picture clip and its A1 item (a slipped sound clip, or a gap)."""

    def rt(frames: int) -> otio.opentime.RationalTime:
        return otio.opentime.RationalTime(frames, rate)

    available = otio.opentime.TimeRange(rt(start), rt(clip_frames + 2 * handle_frames))
    picture = otio.schema.Clip(
        name=entry.name,
        media_reference=_entry_reference(entry, url, available),
        source_range=otio.opentime.TimeRange(rt(start + handle_frames), rt(clip_frames)),
        metadata={TRUTH_METADATA_KEY: truth},
    )
    if entry.slip_frames is None:
        return picture, otio.schema.Gap(
            source_range=otio.opentime.TimeRange(rt(0), rt(clip_frames))
        )
    # Audio source starts k frames EARLIER in the same media: at timeline time T we
    # hear media time (S - k) + T', which belongs to the picture shown k frames ago,
    # so the sound is k frames LATE (offset = +k frames).
    sound = otio.schema.Clip(
        name=entry.name,
        media_reference=_entry_reference(entry, url, available),
        source_range=otio.opentime.TimeRange(
            rt(start + handle_frames - entry.slip_frames), rt(clip_frames)
        ),
        metadata={TRUTH_METADATA_KEY: {"role": "sound", "slip_frames": entry.slip_frames}},
    )
    return picture, sound


def _build_timeline(
    folder: Path,
    name: str,
    entries: Sequence[_Entry],
    rate: Fraction,
    clip_frames: int,
    handle_frames: int,
    relative_urls: bool,
) -> TimelineTruth:
    """Write media + .otio for ``entries``; shared by slipped timelines and the demo."""
    folder.mkdir(parents=True, exist_ok=True)
    media_dir = folder / "media"
    r = float(rate)
    timeline = otio.schema.Timeline(
        name=name,
        global_start_time=otio.opentime.from_timecode("01:00:00:00", r),
    )
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    a1 = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    timeline.tracks.append(v1)
    timeline.tracks.append(a1)
    expected: dict[str, float] = {}
    written: list[Path] = []
    media_frames = clip_frames + 2 * handle_frames
    for index, entry in enumerate(entries):
        start = _start_frames(rate, index)
        media_path = media_dir / f"{entry.name}.mp4"
        if entry.spec is not None:
            spec = replace(
                entry.spec,
                fps=rate,
                duration_s=media_frames / r,
                timecode=_tc_string(start, rate),
            )
            make_clip(media_path, spec)
            written.append(media_path.resolve())
        url = (
            os.path.relpath(media_path, folder).replace(os.sep, "/")
            if relative_urls
            else str(media_path.resolve())
        )
        truth, offset = _entry_truth(entry, r)
        if offset is not None:
            expected[entry.name] = offset
        picture, sound = _entry_clips(entry, url, start, r, clip_frames, handle_frames, truth)
        v1.append(picture)
        a1.append(sound)

    otio_path = folder / f"{name}.otio"
    otio.adapters.write_to_file(timeline, str(otio_path))
    return TimelineTruth(path=otio_path, expected=expected, rate=rate, media=tuple(written))


def make_slipped_timeline(
    folder: str | Path,
    slips_frames: Sequence[int],
    *,
    fps: Fraction = Fraction(25),
    clip_s: float = 6.0,
    handle_s: float = 3.0,
    seed: int = 0,
    scene: str = "mixed",
    relative_urls: bool = True,
    name: str = "slipped",
    size: tuple[int, int] | None = None,
) -> TimelineTruth:
    """A V1/A1 timeline whose audio clips are slipped by known frame counts.

    ``size`` (width, height) overrides the media's small default picture (1080p for benchmarks).

    Clip ``i`` plays in-sync media on V1 from ``available.start + handle``;
    its A1 clip uses the same file starting ``slips_frames[i]`` frames earlier,
    so its sound is ``slips_frames[i]`` frames LATE (expected offset
    ``slips_frames[i] * 1000 / fps`` ms).  Slips must fit inside the handles.
    """
    rate = Fraction(fps)
    clip_frames = round(clip_s * float(rate))
    handle_frames = round(handle_s * float(rate))
    for k in slips_frames:
        if abs(k) > handle_frames:
            raise ValueError(f"slip of {k} frames exceeds the {handle_frames}-frame handles")
    entries = [
        _Entry(
            name=f"{name}_{i:02d}",
            spec=ClipSpec(scene=scene, seed=seed * 1000 + i, fps=rate)
            if size is None
            else ClipSpec(
                scene=scene, seed=seed * 1000 + i, fps=rate, width=size[0], height=size[1]
            ),
            slip_frames=int(k),
        )
        for i, k in enumerate(slips_frames)
    ]
    return _build_timeline(
        Path(folder), name, entries, rate, clip_frames, handle_frames, relative_urls
    )


#: The demo's clips take their generator seeds from here up. The training corpus
#: generates its clips with seeds ``recipe_seed * 1000 + i`` (model/corpus.py), so
#: small seeds would make the demo show training material (``syn-0-001`` ...).
DEMO_SEED_BASE = 1_000_000_000


def demo_seeds(seed: int = 0) -> list[int]:
    """The generator seeds of the demo's seven clips for the demo's ``--seed``."""
    return [DEMO_SEED_BASE + seed * 100 + k for k in range(1, 8)]


def make_demo(folder: str | Path, *, seed: int = 0) -> TimelineTruth:
    """A small mixed timeline that shows every kind of audit outcome.

    Four clips with slipped A1 audio (0, +3, -2, +8 frames), one clip with a
    gap on A1 whose media has sound baked 160 ms late (the audit must fall back
    to the media's own audio), one clip whose file does not exist and one with
    a MissingReference.  ``expected`` lists the analysable clips only.
    """
    rate = Fraction(25)
    s = demo_seeds(seed)
    base = ClipSpec(width=320, height=180, seed=s[0])
    entries = [
        _Entry("shot_010_in_sync", replace(base, scene="mixed", seed=s[0]), 0),
        _Entry("shot_020_late_3f", replace(base, scene="mouth", seed=s[1]), 3),
        _Entry("shot_030_early_2f", replace(base, scene="ball", seed=s[2]), -2),
        _Entry("shot_040_late_8f", replace(base, scene="flash", seed=s[3]), 8),
        _Entry(
            "shot_050_media_late_160ms",
            replace(base, scene="mixed", seed=s[4], offset_ms=160.0),
            None,
        ),
        _Entry("shot_060_missing_file", replace(base, seed=s[5]), 0, missing="url"),
        _Entry("shot_070_offline", replace(base, seed=s[6]), 0, missing="reference"),
    ]
    # Unanalysable entries get no media written: drop their spec after naming it.
    entries = [replace(e, spec=None) if e.missing else e for e in entries]
    return _build_timeline(
        Path(folder), "demo", entries, rate, clip_frames=125, handle_frames=38, relative_urls=True
    )
