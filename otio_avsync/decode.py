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

What a file holds (:func:`probe`, :class:`MediaInfo`) and timecodes
(:func:`timecode_to_seconds`) are worked out in :mod:`otio_avsync.probe` and
re-exported here.
"""

from __future__ import annotations

import math
import os
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

# Probing, rates and timecodes live in otio_avsync.probe; re-exported here, the
# names callers have always imported from this module.
from otio_avsync.probe import (
    MediaInfo,
    StreamInfo,
    _fail,
    _ffmpeg_reason,
    _open,
    _origin,
    _valid_rate,
    probe,
    timecode_to_seconds,
)

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
#: Decoder threads per video stream; 0 lets FFmpeg choose (one per core). Worker
#: processes set their share of the cores (see :func:`otio_avsync.execute.limit_threads`).
DECODE_THREADS = 0


# --------------------------------------------------------------------------- data


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
