"""Describe media files: streams, frame rates, start timecode and the media origin.

:func:`probe` lists a file's picture and sound streams (:class:`MediaInfo`,
:class:`StreamInfo`) with every time relative to the file's *media origin* (the
earliest start of its picture and sound streams), the convention of
:mod:`otio_avsync.decode`, which decodes what this module describes. Frame rates
measured with rounding snap to their exact standard values (2997/100 becomes
30000/1001), and a short packet scan tells variable from constant frame rate.
:func:`timecode_to_seconds` turns "HH:MM:SS:FF" (drop-frame too) into seconds.

User errors (missing file, not media) raise :class:`~otio_avsync.errors.MediaError`
with a one-line message; the helpers that word them (``_fail``, ``_open``) serve
the decoder too.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from otio_avsync.errors import MediaError

__all__ = ["MediaInfo", "StreamInfo", "probe", "timecode_to_seconds"]

#: Packets looked at by probe to tell constant from variable frame rate.
_VFR_SCAN_PACKETS = 40
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
    other times of this module and of :mod:`otio_avsync.decode` are relative to it.
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
