"""Decode short stretches of picture and sound from media files into numpy arrays.

Every time this module returns or accepts is in seconds relative to the file's
*media origin* (the earliest start of its picture and sound streams, which is
FFmpeg's container start time), so picture and sound keep the offset they have
in the file: an audio stream that starts 0.1 s after the video comes back 0.1 s
later, and MPEG-TS clocks that start at 1.4 s start at 0 here.

Picture is scaled to a small size as each frame is decoded, so memory stays
bounded for long ranges. Sound is downmixed to mono (libswresample's matrix,
scaled so it never clips: stereo becomes the plain average) and resampled; it is
placed by its timestamps, sample-accurately where the container's timestamps are
(Matroska/WebM store 1 ms ticks, so sound there lands within about half a
millisecond). Encoder priming is dropped by FFmpeg itself wherever the container
says how much there is (MP4/MOV edit lists, the MP3 LAME header, Opus pre-skip).

User errors (missing file, not media, no such stream) raise
:class:`~otio_avsync.errors.MediaError` with a one-line message; no raw PyAV or
FFmpeg exception escapes for them. A file cut short or corrupt in the middle
gives what could be decoded, flagged ``complete=False``.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from av.video.frame import VideoFrame
from av.video.reformatter import VideoReformatter

from otio_avsync.errors import MediaError

__all__ = [
    "AudioSamples",
    "MediaInfo",
    "StreamInfo",
    "VideoFrames",
    "iter_video_frames",
    "probe",
    "read_audio",
    "read_video",
    "timecode_to_seconds",
]

#: Times closer than this are equal (float noise from rational time bases).
_EPS = 1e-6
#: Seek this much before the wanted video start, so a keyframe indexed by dts
#: (B-frame reordering) still shows before the target.
_VIDEO_SEEK_MARGIN_FRAMES = 3
#: Seek this much before the wanted audio start: decoders (Opus pre-roll, AAC
#: overlap, MP3 bit reservoir) need a little sound before the first good sample.
_AUDIO_PREROLL_S = 0.25
#: After a seek that lands late, seek this much earlier still, then decode from the top.
_SEEK_BACKOFF_S = (0.0, 1.0, 5.0, 30.0)
#: Decode this much sound past the range end, so the resampler filter has context.
_AUDIO_TAIL_S = 0.05
#: A stream that ends this much before its declared end was cut short.
_TRUNCATION_TOLERANCE_S = 0.1
#: A range starting this long after the declared end is not decoded at all.
_PAST_END_MARGIN_S = 0.5
#: Packets looked at by probe to tell constant from variable frame rate.
_VFR_SCAN_PACKETS = 40
#: Decoder threads per video stream; 0 lets FFmpeg choose (one per core). Worker
#: processes set their share of the cores (see :func:`otio_avsync.execute.limit_threads`).
DECODE_THREADS = 0
_VFR_SCAN_BYTES = 16 * 1024 * 1024

_STANDARD_RATES = (
    Fraction(24000, 1001),
    Fraction(24),
    Fraction(25),
    Fraction(30000, 1001),
    Fraction(30),
    Fraction(48000, 1001),
    Fraction(48),
    Fraction(50),
    Fraction(60000, 1001),
    Fraction(60),
    Fraction(100),
    Fraction(120000, 1001),
    Fraction(120),
    Fraction(15000, 1001),
    Fraction(15),
    Fraction(12),
    Fraction(10),
)

#: handler_name values that muxers write by default say nothing about the stream.
_GENERIC_HANDLER = re.compile(r"handler|^core media|^iso media|^und$", re.IGNORECASE)


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class StreamInfo:
    """StreamInfo(index, kind, codec, ...)

    One picture or sound stream of a media file. ``start_s`` is relative to the
    file's media origin, so the offsets between streams are those of the file.
    """

    index: int
    kind: str
    codec: str
    language: str | None
    title: str | None
    start_s: float
    duration_s: float | None
    fps: Fraction | None
    variable_fps: bool
    width: int | None
    height: int | None
    sample_rate: int | None
    channels: int | None


@dataclass(frozen=True)
class MediaInfo:
    """MediaInfo(path, format, duration_s, origin_s, timecode, streams)

    What :func:`probe` found. ``origin_s`` is the container start time; all
    other times of this module are relative to it.
    """

    path: str
    format: str
    duration_s: float
    origin_s: float
    timecode: str | None
    streams: tuple[StreamInfo, ...]

    @property
    def video(self) -> StreamInfo | None:
        """video -> StreamInfo | None

        The first picture stream (cover art is never listed), or None.
        """
        return next((s for s in self.streams if s.kind == "video"), None)

    @property
    def audio(self) -> tuple[StreamInfo, ...]:
        """audio -> tuple[StreamInfo, ...]

        All sound streams in container order, so callers can pick a language.
        """
        return tuple(s for s in self.streams if s.kind == "audio")


@dataclass
class VideoFrames:
    """VideoFrames(frames, times, stream, complete)

    Scaled frames and their presentation times (seconds from the media origin,
    from the frame timestamps, so variable frame rate comes out right).
    ``complete`` is False when the file was cut short or corrupt.
    """

    frames: np.ndarray
    times: np.ndarray
    stream: StreamInfo
    complete: bool


@dataclass
class AudioSamples:
    """AudioSamples(samples, rate, start_s, stream, complete)

    Mono float32 sound; ``samples[0]`` plays at ``start_s`` (media-origin seconds).
    ``complete`` is False when the file was cut short or corrupt.
    """

    samples: np.ndarray
    rate: int
    start_s: float
    stream: StreamInfo
    complete: bool


# --------------------------------------------------------------------------- helpers


def _fail(path: str, message: str) -> MediaError:
    return MediaError(f"{path}: {message}")


def _ffmpeg_reason(error: BaseException) -> str:
    """Short reason text of a PyAV error, without the repeated file name."""
    reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
    return str(reason).splitlines()[0].strip()


def _check_path(path: str | os.PathLike) -> str:
    """_check_path(path) -> str

    Turn the cheap-to-detect user errors into MediaError before FFmpeg sees them.
    """
    name = os.fspath(path)
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    if not os.path.exists(name):
        raise _fail(name, "file not found")
    if os.path.isdir(name):
        raise _fail(name, "is a directory, not a media file")
    if not os.path.isfile(name):  # a FIFO or a device would block or never end
        raise _fail(name, "is not a regular file (a pipe, socket or device), not a media file")
    return name


def _open(name: str) -> av.container.InputContainer:
    """_open(name) -> InputContainer

    Open for reading; every way this can fail is a user error about the file.
    """
    try:
        return av.open(name, mode="r", metadata_errors="replace")
    except PermissionError as error:
        raise _fail(name, "permission denied") from error
    except (av.FFmpegError, OSError, ValueError) as error:
        raise _fail(
            name, f"not a media file or cannot be opened ({_ffmpeg_reason(error)})"
        ) from error


def _seconds(value: int | None, time_base: Fraction | None) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def _origin(container: av.container.InputContainer) -> Fraction:
    """_origin(container) -> Fraction

    The media origin in absolute seconds, exactly: the earliest start of a picture
    or sound stream (what FFmpeg's container start time is, without its
    microsecond rounding and without cover art), else the container start time.
    """
    starts = [
        stream.start_time * stream.time_base
        for stream in container.streams
        if stream.type in ("video", "audio")
        and not _is_cover_art(stream)
        and stream.start_time is not None
        and stream.time_base
    ]
    if starts:
        return min(starts)
    if container.start_time is not None:
        return Fraction(container.start_time, av.time_base)
    return Fraction(0)


def _is_cover_art(stream: av.stream.Stream) -> bool:
    try:
        return bool(stream.disposition & av.stream.Disposition.attached_pic)
    except (AttributeError, TypeError):
        return False


def _tag(metadata: dict[str, str], *keys: str) -> str | None:
    lowered = {k.lower(): v for k, v in metadata.items()}
    for key in keys:
        value = (lowered.get(key) or "").strip()
        if value:
            return value
    return None


def _parse_clock(text: str) -> float | None:
    """Seconds of an "HH:MM:SS.fffffffff" tag (Matroska DURATION)."""
    match = re.fullmatch(r"\s*(\d+):(\d{1,2}):(\d{1,2}(?:\.\d*)?)\s*", text)
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _snap_rate(rate: Fraction) -> Fraction:
    """Replace a rate measured with rounding (2997/100) by its exact standard value."""
    for standard in _STANDARD_RATES:
        if abs(rate - standard) <= standard * Fraction(3, 10000):
            return standard
    return rate


def _valid_rate(rate: object) -> Fraction | None:
    if rate is None:
        return None
    try:
        value = Fraction(rate)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def _video_fps(stream: av.video.stream.VideoStream) -> Fraction | None:
    rate = (
        _valid_rate(getattr(stream, "average_rate", None))
        or _valid_rate(getattr(stream, "guessed_rate", None))
        or _valid_rate(getattr(stream, "base_rate", None))
    )
    if rate is None:
        return None
    snapped = _snap_rate(rate)
    if snapped != rate:
        return snapped
    base = _valid_rate(getattr(stream, "base_rate", None))
    if base is not None and abs(base - rate) <= rate * Fraction(1, 1000):
        return base
    return rate


def _rates_disagree(stream: av.video.stream.VideoStream) -> bool:
    """True when r_frame_rate and the average rate tell of a variable rate.

    Field rate (exactly twice the frame rate, interlaced material) is not variable.
    """
    avg = _valid_rate(getattr(stream, "average_rate", None))
    base = _valid_rate(getattr(stream, "base_rate", None))
    if avg is None or base is None:
        return False
    ratio = base / avg
    return abs(ratio - 1) > Fraction(1, 100) and abs(ratio - 2) > Fraction(1, 50)


def _scan_variable_fps(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> bool | None:
    """_scan_variable_fps(container, stream) -> bool | None

    Look at the first packet timestamps (no decoding): the container rates do not
    reveal variable rate in Matroska, which stores a nominal default duration.
    None when there are too few timestamps to tell.
    """
    stamps: list[int] = []
    size = 0
    try:
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            stamps.append(packet.pts)
            size += packet.size
            if len(stamps) >= _VFR_SCAN_PACKETS or size >= _VFR_SCAN_BYTES:
                break
    except (av.FFmpegError, OSError, ValueError):
        pass
    stamps = sorted(set(stamps))
    if len(stamps) < 8:
        return None
    # The last few may be missing B-frames still to come; leave them out.
    steps = np.diff(np.asarray(stamps[:-4], dtype=np.float64))
    if len(steps) < 3:
        return None
    median = float(np.median(steps))
    # One tick of jitter is rounding (29.97 fps in 1 ms ticks: 33, 34, 33 ...).
    return bool(steps.max() - steps.min() > 1 + median * 0.01)


def _stream_info(
    container: av.container.InputContainer,
    stream: av.stream.Stream,
    origin: Fraction,
    scan: bool,
) -> StreamInfo:
    """_stream_info(container, stream, origin, scan) -> StreamInfo

    Describe one stream; ``scan`` reads a few packets to detect variable frame rate.
    """
    ctx = stream.codec_context
    metadata = dict(stream.metadata)
    language = _tag(metadata, "language")
    if language is not None and language.lower() in ("und", "unknown", "none"):
        language = None
    title = _tag(metadata, "title", "name")
    if title is None:
        handler = _tag(metadata, "handler_name")
        if handler is not None and not _GENERIC_HANDLER.search(handler):
            title = handler
    start_s = 0.0
    if stream.start_time is not None and stream.time_base:
        start_s = float(stream.start_time * stream.time_base - origin)
    duration_s = _seconds(stream.duration, stream.time_base)
    if duration_s is None and (clock := _tag(metadata, "duration")) is not None:
        duration_s = _parse_clock(clock)
    codec = "unknown"
    if ctx is not None and ctx.codec is not None:
        # The format's name for the codec ("mp3"), not the decoder's ("mp3float").
        codec = getattr(ctx.codec, "canonical_name", None) or ctx.name or codec

    if stream.type == "video":
        variable = None
        if scan:
            variable = _scan_variable_fps(container, stream)
        if variable is None:
            variable = _rates_disagree(stream)
        else:
            variable = variable or _rates_disagree(stream)
        return StreamInfo(
            index=stream.index,
            kind="video",
            codec=codec,
            language=language,
            title=title,
            start_s=start_s,
            duration_s=duration_s,
            fps=_video_fps(stream),
            variable_fps=variable,
            width=(ctx.width or None) if ctx is not None else None,
            height=(ctx.height or None) if ctx is not None else None,
            sample_rate=None,
            channels=None,
        )
    channels = None
    if ctx is not None:
        layout = getattr(ctx, "layout", None)
        channels = getattr(layout, "nb_channels", None) or getattr(ctx, "channels", None)
    return StreamInfo(
        index=stream.index,
        kind="audio",
        codec=codec,
        language=language,
        title=title,
        start_s=start_s,
        duration_s=duration_s,
        fps=None,
        variable_fps=False,
        width=None,
        height=None,
        sample_rate=(ctx.sample_rate or None) if ctx is not None else None,
        channels=channels or None,
    )


def _find_timecode(container: av.container.InputContainer) -> str | None:
    """Start timecode: format tag (MXF), then picture streams, then tmcd data streams."""
    found = _tag(dict(container.metadata), "timecode")
    if found:
        return found
    ordered = sorted(container.streams, key=lambda s: (s.type != "video", s.index))
    for stream in ordered:
        found = _tag(dict(stream.metadata), "timecode")
        if found:
            return found
    return None


def _probe_open(container: av.container.InputContainer, name: str) -> MediaInfo:
    origin = _origin(container)
    streams: list[StreamInfo] = []
    scanned = False
    for stream in container.streams:
        if stream.type not in ("video", "audio") or _is_cover_art(stream):
            continue
        # Only the first picture stream is scanned: the scan moves the read position.
        scan = stream.type == "video" and not scanned
        scanned = scanned or scan
        streams.append(_stream_info(container, stream, origin, scan))
    ends = [s.start_s + s.duration_s for s in streams if s.duration_s is not None]
    if container.duration is not None:
        # FFmpeg's duration runs from its own start time, not from our origin.
        container_start = Fraction(container.start_time or 0, av.time_base)
        end = container_start + Fraction(container.duration, av.time_base)
        ends = [float(end - origin)]
    return MediaInfo(
        path=name,
        format=container.format.name,
        duration_s=max(0.0, max(ends, default=0.0)),
        origin_s=float(origin),
        timecode=_find_timecode(container),
        streams=tuple(streams),
    )


@functools.lru_cache(maxsize=64)
def _probe_cached(name: str, size: int, mtime_ns: int) -> MediaInfo:
    """Probe once per file version: read_video and read_audio probe on every call."""
    container = _open(name)
    try:
        if not any(s.type in ("video", "audio") for s in container.streams):
            raise _fail(name, "not a media file (no picture or sound streams)")
        try:
            return _probe_open(container, name)
        except (av.FFmpegError, OSError, ValueError) as error:
            raise _fail(name, f"cannot read media information ({_ffmpeg_reason(error)})") from error
    finally:
        container.close()


def probe(path: str | os.PathLike) -> MediaInfo:
    """probe(path) -> MediaInfo

    Describe a media file's picture and sound streams, start timecode and timing.
    Raises MediaError when the file is missing or is not media.
    """
    name = _check_path(path)
    stat = os.stat(name)
    return _probe_cached(name, stat.st_size, stat.st_mtime_ns)


def _select(info: MediaInfo, kind: str, stream_index: int | None) -> StreamInfo:
    """_select(info, kind, stream_index) -> StreamInfo

    The stream to decode; a missing or wrong-kind stream is a user error.
    """
    if stream_index is None:
        chosen = info.video if kind == "video" else next(iter(info.audio), None)
        if chosen is None:
            raise _fail(info.path, f"no {kind} stream")
        return chosen
    for stream in info.streams:
        if stream.index == stream_index:
            if stream.kind != kind:
                raise _fail(
                    info.path,
                    f"stream {stream_index} is {stream.kind}, not {kind}"
                    f" ({kind} streams: {_indexes(info, kind)})",
                )
            return stream
    raise _fail(
        info.path,
        f"no {kind} stream with index {stream_index} ({kind} streams: {_indexes(info, kind)})",
    )


def _indexes(info: MediaInfo, kind: str) -> str:
    found = [str(s.index) for s in info.streams if s.kind == kind]
    return ", ".join(found) if found else "none"


def _check_range(start_s: float, duration_s: float) -> None:
    if not (math.isfinite(start_s) and math.isfinite(duration_s)):
        raise ValueError(f"start_s and duration_s must be finite, got {start_s}, {duration_s}")
    if duration_s < 0:
        raise ValueError(f"duration_s must not be negative, got {duration_s}")


# --------------------------------------------------------------------------- decoding


class _Source:
    """One open stream of a file, with the bookkeeping of a decode pass.

    ``complete`` turns False on a decode error or when the stream ends before its
    declared end; ``decoded`` counts frames so a file that yields nothing is an error.
    """

    def __init__(self, info: MediaInfo, stream: StreamInfo) -> None:
        self.info = info
        self.stream_info = stream
        self.container: av.container.InputContainer | None = None
        self.complete = True
        self.failed: BaseException | None = None
        self.decoded = 0
        self.reached_end = False
        self.moved = False
        self._open()

    def _open(self) -> None:
        self.container = _open(self.info.path)
        self.stream = self.container.streams[self.stream_info.index]
        if self.stream.type == "video":
            self.stream.thread_type = "AUTO"
            if DECODE_THREADS > 0:
                self.stream.thread_count = DECODE_THREADS
        self.time_base = self.stream.time_base or Fraction(1, 1)
        self.origin = _origin(self.container)

    def restart(self) -> None:
        """Reopen, to decode from the very beginning when seeking failed."""
        self.close()
        self._open()
        self.moved = False

    def seek_plan(self, target_s: float, *, on_stream: bool) -> Iterator[bool]:
        """seek_plan(target_s, on_stream) -> Iterator[bool]

        Positions to decode from, in turn, until the caller stops asking: a seek
        to ``target_s``, then ever earlier seeks (formats without an index, like
        MPEG-TS, land late), then the very beginning. Yields True after a seek,
        False for the beginning. Each position starts a fresh decode pass.
        """
        start = self.stream_info.start_s
        for back in _SEEK_BACKOFF_S:
            position = target_s - back
            if position <= start + _EPS:
                break
            self.moved = True
            if not self.seek(position, on_stream=on_stream):
                break
            self.new_pass()
            yield True
        if self.moved:
            self.restart()
        self.new_pass()
        yield False

    def new_pass(self) -> None:
        """Forget what an abandoned pass found (errors after a bad seek)."""
        self.complete = True
        self.failed = None
        self.reached_end = False

    def close(self) -> None:
        if self.container is not None:
            self.container.close()
            self.container = None

    def seek(self, target_s: float, *, on_stream: bool) -> bool:
        """seek(target_s, on_stream) -> bool

        Seek to a keyframe at or before ``target_s`` (media-origin seconds);
        False when the format cannot seek there.
        """
        assert self.container is not None
        absolute = Fraction(target_s) + self.origin
        try:
            if on_stream:
                offset = math.floor(absolute / self.time_base)
                self.container.seek(offset, stream=self.stream, backward=True)
            else:
                self.container.seek(math.floor(absolute * av.time_base), backward=True)
        except (av.FFmpegError, OSError, ValueError, OverflowError):
            return False
        return True

    def frames(self) -> Iterator[VideoFrame | AudioFrame]:
        """Decoded frames of the stream; errors end the pass and mark it incomplete."""
        assert self.container is not None
        self.reached_end = False
        try:
            for packet in self.container.demux(self.stream):
                for frame in packet.decode():
                    self.decoded += 1
                    yield frame
        except (av.FFmpegError, OSError, ValueError, EOFError) as error:
            self.complete = False
            self.failed = error
            return
        self.reached_end = True

    def time_of(self, frame: VideoFrame | AudioFrame) -> float | None:
        """Presentation time of a frame, seconds from the media origin."""
        if frame.pts is not None:
            return float(frame.pts * (frame.time_base or self.time_base) - self.origin)
        if frame.time is not None:
            return float(frame.time - self.origin)
        return None

    def declared_end(self) -> float:
        """Where the file says this stream ends (media-origin seconds), inf if unknown."""
        stream = self.stream_info
        ends = [self.info.duration_s] if self.info.duration_s > 0 else []
        if self.stream.duration is not None and stream.duration_s is not None:
            ends.append(stream.start_s + stream.duration_s)
        elif stream.duration_s is not None:
            # A Matroska DURATION tag: some muxers write the end time there, so
            # read it as one; that is never later than the true end.
            ends.append(stream.duration_s)
        return min(ends) if ends else math.inf

    def past_end(self, start_s: float) -> bool:
        """True when ``start_s`` is clearly after the stream's end: nothing to decode.

        Saves a futile pass: seeks past the end find nothing, and would back off
        all the way to decoding the whole file.
        """
        return start_s > self.declared_end() + _PAST_END_MARGIN_S

    def check_truncated(self, reached_s: float | None, wanted_end_s: float) -> None:
        """Mark incomplete when decoding hit end of file well before the file's own end."""
        if not self.reached_end:
            return
        declared = self.declared_end()
        if math.isinf(declared):
            return
        expected = min(wanted_end_s, declared)
        reached = reached_s if reached_s is not None else self.stream_info.start_s
        if reached < expected - _TRUNCATION_TOLERANCE_S:
            self.complete = False

    def nothing_decoded(self) -> MediaError:
        reason = _ffmpeg_reason(self.failed) if self.failed is not None else "no frames"
        return _fail(
            self.info.path,
            f"cannot decode {self.stream_info.kind} stream {self.stream_info.index} ({reason})",
        )

    def __enter__(self) -> _Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _frame_duration(source: _Source, frame: VideoFrame) -> float:
    """How long a frame shows: its own duration, else one nominal frame."""
    duration = getattr(frame, "duration", None)
    if duration:
        return float(duration * (frame.time_base or source.time_base))
    fps = source.stream_info.fps
    return float(1 / fps) if fps else 0.04


def _video_range(
    source: _Source, start_s: float, duration_s: float
) -> Iterator[tuple[float, VideoFrame]]:
    """_video_range(source, start_s, duration_s) -> Iterator[(time, frame)]

    The frames whose display overlaps [start_s, start_s + duration_s): the one
    showing at start_s, then every frame that starts inside the range.
    """
    end_s = start_s + duration_s
    stream_start = source.stream_info.start_s
    fps = source.stream_info.fps
    step = float(1 / fps) if fps else 0.04
    seek_to = start_s - _VIDEO_SEEK_MARGIN_FRAMES * step
    pending: tuple[float, VideoFrame] | None = None
    last_end: float | None = None
    for seeked in source.seek_plan(seek_to, on_stream=True):
        pending = None
        last_end = None
        previous: float | None = None
        # After a seek, frames before the first keyframe are decoded from missing
        # references (MPEG-TS seeks land anywhere): never trust them.
        waiting = seeked
        late = False
        for frame in source.frames():
            time = source.time_of(frame)
            if time is None:
                time = previous + step if previous is not None else stream_start
            previous = time
            if waiting:
                if not frame.key_frame:
                    continue
                waiting = False
                if time > start_s + _EPS and time > stream_start + _EPS:
                    late = True  # landed after the target
                    break
            last_end = time + _frame_duration(source, frame)
            if time <= start_s + _EPS:
                pending = (time, frame)
                continue
            if time >= end_s - _EPS:
                if pending is not None:
                    yield pending
                return
            if pending is not None:
                source.complete = source.complete and not pending[1].is_corrupt
                yield pending
                pending = None
            source.complete = source.complete and not frame.is_corrupt
            yield time, frame
        if seeked and (late or waiting):
            continue  # late, or nothing usable after the seek: try earlier
        break
    # End of stream (or an error) inside the range.
    if pending is not None and last_end is not None and last_end > start_s + _EPS:
        yield pending
    source.check_truncated(last_end, end_s)


def _output_size(stream: av.video.stream.VideoStream, width: int, height: int | None) -> int:
    """Height for ``width`` that keeps the display aspect ratio, rounded to even."""
    if height is not None:
        return height
    ctx = stream.codec_context
    src_w = ctx.width or 0
    src_h = ctx.height or 0
    if src_w <= 0 or src_h <= 0:
        return max(2, 2 * round(width * 9 / 16 / 2))
    sar = _valid_rate(stream.sample_aspect_ratio) or _valid_rate(
        getattr(ctx, "sample_aspect_ratio", None)
    )
    display_w = src_w * float(sar) if sar else float(src_w)
    return max(2, 2 * round(width * src_h / display_w / 2))


def read_video(
    path: str | os.PathLike,
    start_s: float,
    duration_s: float,
    *,
    width: int = 160,
    height: int | None = None,
    gray: bool = True,
    stream_index: int | None = None,
) -> VideoFrames:
    """read_video(path, start_s, duration_s, *, width=160, height=None, gray=True, stream_index=None) -> VideoFrames

    Decode the frames showing during [start_s, start_s + duration_s) (media-origin
    seconds), each scaled at once to ``width`` x ``height`` so memory stays small.
    ``height`` None keeps the display aspect ratio. Frames are uint8 (N, H, W)
    gray or (N, H, W, 3) RGB.
    """  # noqa: E501
    _check_range(start_s, duration_s)
    if width < 1 or (height is not None and height < 1):
        raise ValueError(f"width and height must be positive, got {width}, {height}")
    info = probe(path)
    stream_info = _select(info, "video", stream_index)
    pix_fmt = "gray" if gray else "rgb24"
    with _Source(info, stream_info) as source:
        out_h = _output_size(source.stream, width, height)
        scaler = VideoReformatter()
        pictures: list[np.ndarray] = []
        times: list[float] = []
        frames_in_range = (
            _video_range(source, start_s, duration_s) if not source.past_end(start_s) else ()
        )
        for time, frame in frames_in_range:
            try:
                small = scaler.reformat(
                    frame,
                    width=width,
                    height=out_h,
                    format=pix_fmt,
                    interpolation="AREA",
                    src_color_range=int(frame.color_range),
                )
                pictures.append(small.to_ndarray())
            except (av.FFmpegError, ValueError) as error:
                # A frame swscale cannot read is a broken file: stop like a decode error.
                source.complete = False
                source.failed = error
                if not pictures:
                    raise source.nothing_decoded() from error
                break
            times.append(time)
        if source.decoded == 0 and not source.past_end(start_s):
            raise source.nothing_decoded()
        complete = source.complete
    shape = (out_h, width) if gray else (out_h, width, 3)
    frames = np.stack(pictures) if pictures else np.zeros((0, *shape), np.uint8)
    return VideoFrames(
        frames=frames,
        times=np.asarray(times, dtype=np.float64),
        stream=stream_info,
        complete=complete,
    )


def iter_video_frames(
    path: str | os.PathLike,
    start_s: float,
    duration_s: float,
    *,
    stream_index: int | None = None,
) -> Iterator[VideoFrame]:
    """iter_video_frames(path, start_s, duration_s, *, stream_index=None) -> Iterator[VideoFrame]

    The same frames :func:`read_video` returns, decoded but not scaled: lets a
    benchmark time pure decoding. The file stays open until the iterator ends.
    """
    _check_range(start_s, duration_s)
    info = probe(path)
    stream_info = _select(info, "video", stream_index)
    with _Source(info, stream_info) as source:
        if source.past_end(start_s):
            return
        for _time, frame in _video_range(source, start_s, duration_s):
            yield frame
        if source.decoded == 0:
            raise source.nothing_decoded()


class _AudioPlacer:
    """Resample decoded sound to mono at ``rate`` and write it where its timestamps say.

    Sound is resampled in *runs* of contiguous frames; a run's output sample k
    plays at run start + k / rate. A timestamp jump (gap, overlap, seek) or a
    format change starts a new run, so timing never drifts and gaps stay silent.

    Coarse timestamps (Matroska's 1 ms ticks) jitter around the true time; a run's
    start is therefore estimated from all its frames (the start every frame's
    rounded timestamp allows), not taken from the first one. The first frame of a
    run is trusted least: after a seek the decoder trims it and shifts its time.
    """

    def __init__(self, out: np.ndarray, start_s: float, rate: int, tick_s: float) -> None:
        self.out = out
        self.start_s = start_s
        self.rate = rate
        self.half_tick = tick_s / 2
        self.resampler: AudioResampler | None = None
        self.key: tuple[str, str, int] | None = None
        self.chunks: list[np.ndarray] = []
        self.first_start = 0.0  # start implied by the run's first frame
        self.lo = -math.inf  # interval of starts the later frames allow
        self.hi = math.inf
        self.later = 0  # later frames seen, and the sum of the starts they imply
        self.later_sum = 0.0
        self.run_in = 0  # input samples pushed in this run
        self.pushed = 0  # frames taken, over all runs

    def run_start(self) -> float:
        """Best estimate of when the current run's first sample plays."""
        if not self.later:
            return self.first_start
        if self.lo <= self.hi:
            return (self.lo + self.hi) / 2
        # Timestamps off by more than rounding (a drifting clock): average them.
        return self.later_sum / self.later

    def expected(self) -> float | None:
        """Where the next frame should start if the sound is contiguous."""
        if self.key is None:
            return None
        return self.run_start() + self.run_in / self.key[2]

    def push(self, frame: AudioFrame, time: float | None, tolerance: float) -> None:
        key = (frame.format.name, frame.layout.name, frame.sample_rate)
        expected = self.expected()
        if time is None:
            time = expected if expected is not None else 0.0
        if key != self.key or expected is None or abs(time - expected) > tolerance:
            self.finish()
            self.key = key
            self.resampler = AudioResampler(
                format="flt",
                layout="mono",
                rate=self.rate,
                # Scale the downmix so the mono sum never exceeds full scale
                # (stereo becomes the plain average).
                options={"rematrix_maxval": "1.0"},
            )
            self.first_start = time
            self.lo, self.hi = -math.inf, math.inf
            self.later, self.later_sum = 0, 0.0
            self.run_in = 0
        else:
            implied = time - self.run_in / key[2]
            self.later += 1
            self.later_sum += implied
            self.lo = max(self.lo, implied - self.half_tick - _EPS)
            self.hi = min(self.hi, implied + self.half_tick + _EPS)
        assert self.resampler is not None
        self._keep(self.resampler.resample(frame))
        self.run_in += frame.samples
        self.pushed += 1

    def finish(self) -> None:
        """Flush the current run's resampler and write the run where it belongs."""
        if self.resampler is None:
            return
        self._keep(self.resampler.resample(None))
        first = round((self.run_start() - self.start_s) * self.rate)
        n = len(self.out)
        for data in self.chunks:
            lo = max(first, 0)
            hi = min(first + len(data), n)
            if hi > lo:
                self.out[lo:hi] = data[lo - first : hi - first]
            first += len(data)
        self.chunks = []
        self.resampler = None
        self.key = None

    def _keep(self, frames: list[AudioFrame]) -> None:
        for frame in frames:
            self.chunks.append(frame.to_ndarray().reshape(-1).copy())


def read_audio(
    path: str | os.PathLike,
    start_s: float,
    duration_s: float,
    *,
    rate: int = 16000,
    stream_index: int | None = None,
) -> AudioSamples:
    """read_audio(path, start_s, duration_s, *, rate=16000, stream_index=None) -> AudioSamples

    Decode [start_s, start_s + duration_s) (media-origin seconds) of one sound
    stream (default: the first) as mono float32 at ``rate``: exactly
    round(duration_s * rate) samples, silence where the stream has none.
    Samples are placed by timestamp so sync with the picture is sample-accurate.
    """
    _check_range(start_s, duration_s)
    if rate < 1:
        raise ValueError(f"rate must be positive, got {rate}")
    info = probe(path)
    stream_info = _select(info, "audio", stream_index)
    end_s = start_s + duration_s
    out = np.zeros(round(duration_s * rate), dtype=np.float32)
    with _Source(info, stream_info) as source:
        seek_to = start_s - _AUDIO_PREROLL_S
        tick = float(source.time_base)
        reached: float | None = None
        plan = source.seek_plan(seek_to, on_stream=False) if not source.past_end(start_s) else ()
        for seeked in plan:
            out[:] = 0.0
            placer = _AudioPlacer(out, start_s, rate, tick)
            first = True
            late = False
            for frame in source.frames():
                time = source.time_of(frame)
                if first:
                    first = False
                    if (
                        seeked
                        and time is not None
                        and time > start_s + _EPS
                        and time > stream_info.start_s + _EPS
                    ):
                        late = True  # landed after the target
                        break
                begin = time if time is not None else placer.expected()
                if begin is not None and begin >= end_s + _AUDIO_TAIL_S:
                    break
                sample_rate = frame.sample_rate or rate
                if begin is not None and begin + frame.samples / sample_rate < seek_to - _EPS:
                    continue  # before the seek point: nothing to keep
                try:
                    placer.push(frame, time, max(tick, 1.0 / sample_rate) + _EPS)
                except (av.FFmpegError, ValueError) as error:
                    # Sound the resampler cannot take is a broken file: stop there.
                    source.complete = False
                    source.failed = error
                    if placer.pushed == 0:
                        raise source.nothing_decoded() from error
                    break
            if seeked and (late or first):
                continue  # late, or nothing after the seek: try earlier
            reached = placer.expected()
            try:
                placer.finish()
            except (av.FFmpegError, ValueError) as error:
                source.complete = False
                source.failed = error
            break
        if source.decoded == 0 and not source.past_end(start_s):
            raise source.nothing_decoded()
        source.check_truncated(reached, end_s)
        complete = source.complete
    np.clip(out, -1.0, 1.0, out=out)
    return AudioSamples(
        samples=out, rate=rate, start_s=start_s, stream=stream_info, complete=complete
    )


# --------------------------------------------------------------------------- timecode


def timecode_to_seconds(tc: str, fps: Fraction | int | float) -> float:
    """timecode_to_seconds(tc, fps) -> float

    Seconds of media time at which "HH:MM:SS:FF" falls when frames run at ``fps``
    (the exact rate: 30000/1001 for 29.97). A ';' (or '.') before the frames means
    drop-frame, which skips frame numbers 0 and 1 (0-3 at 59.94) every minute
    except each tenth, so the timecode keeps up with the clock.
    Raises ValueError for malformed timecodes.
    """
    rate = (
        _snap_rate(Fraction(fps).limit_denominator(1001))
        if isinstance(fps, float)
        else (Fraction(fps))
    )
    if rate <= 0:
        raise ValueError(f"frame rate must be positive, got {fps}")
    match = re.fullmatch(r"\s*(-)?(\d+)[:;.](\d{1,2})[:;.](\d{1,2})([:;.,])(\d{1,3})\s*", tc)
    if not match:
        raise ValueError(f"not a timecode (HH:MM:SS:FF): {tc!r}")
    sign, hh, mm, ss, sep, ff = match.groups()
    hours, minutes, seconds, frames = int(hh), int(mm), int(ss), int(ff)
    drop = sep in ";.," or ";" in tc
    nominal = round(rate)
    if minutes > 59 or seconds > 59 or frames >= nominal:
        raise ValueError(f"timecode {tc!r} out of range at {float(rate):.3f} fps")
    count = ((hours * 60 + minutes) * 60 + seconds) * nominal + frames
    if drop:
        if nominal % 30 != 0:
            raise ValueError(f"drop-frame timecode {tc!r} needs 29.97 or 59.94 fps, not {fps}")
        dropped = nominal // 15  # 2 at 29.97, 4 at 59.94
        total_minutes = hours * 60 + minutes
        if seconds == 0 and frames < dropped and minutes % 10 != 0:
            raise ValueError(f"drop-frame timecode {tc!r} names a dropped frame number")
        count -= dropped * (total_minutes - total_minutes // 10)
    value = float(count / rate)
    return -value if sign else value
