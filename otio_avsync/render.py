"""Render a job's picture and sound for its span in timeline time.

The picture comes from one clip's media; the sound may be assembled from
several audio clips (gaps play as silence). Media time (OTIO ``source_range``
space) is mapped to file time through the reference's ``available_range`` or,
when a reference has none (EDL sources), through the file's start timecode.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from otio_avsync.decode import MediaInfo, probe, read_audio, read_video, timecode_to_seconds
from otio_avsync.errors import MediaError
from otio_avsync.estimators.base import AVInput
from otio_avsync.jobs import AnalysisJob, MediaSpan

#: Probing is cached per file version inside :func:`otio_avsync.decode.probe`.
probe_media = probe


#: Picture that ends this much (or more) before the span's end was cut short.
_SHORT_TOLERANCE_S = 0.1


def file_time(span: MediaSpan, info: MediaInfo) -> float:
    """Seconds from the file's origin where the span's media time falls.

    Without ``available_range`` the file's start timecode is the media time of its
    first frame, when the clip itself (not a padded window around it) starts at or
    after it; a padded window that begins before the file gives a negative time
    (silence there), never a switch to another time base.
    """
    if span.media_origin_s is not None:
        return span.media_time_s - span.media_origin_s
    if info.timecode and info.video is not None and info.video.fps:
        try:
            tc = timecode_to_seconds(info.timecode, info.video.fps)
        except ValueError:
            return span.media_time_s
        anchor = span.media_time_s if span.clip_media_s is None else span.clip_media_s
        if anchor >= tc - 1e-6:
            return span.media_time_s - tc
    return span.media_time_s


@dataclass
class Coverage:
    """How much of a job's span the media really gave, and what went wrong."""

    wanted_s: float
    picture_s: float
    problems: list[str] = field(default_factory=list)

    @property
    def damaged(self) -> bool:
        """True when the verdict must not be trusted as a finding (at most uncertain)."""
        return bool(self.problems)

    @property
    def fraction(self) -> float:
        """The share of the span whose picture was decoded (0..1)."""
        if self.wanted_s <= 0:
            return 1.0
        return float(min(1.0, max(0.0, self.picture_s / self.wanted_s)))


def _picture_rate(stream: Any, times: np.ndarray) -> float:
    """Frames per second of the decoded picture: the stream's rate, or for variable-rate
    media (whose container rate may be its 1 ms clock) the mean rate of the frames."""
    fps = float(stream.fps) if stream.fps else 0.0
    span = float(times[-1] - times[0]) if len(times) >= 3 else 0.0
    if span > 0 and (stream.variable_fps or not (np.isfinite(fps) and 0 < fps <= 1000)):
        return (len(times) - 1) / span
    if not np.isfinite(fps) or fps <= 0 or fps > 1000:
        return 25.0
    return fps


def _irregular(times: np.ndarray, fps: float) -> bool:
    """True when frames are not evenly spaced at ``fps`` (variable frame rate media)."""
    if len(times) < 3 or fps <= 0:
        return False
    steps = np.diff(times)
    return bool(np.max(np.abs(steps - 1.0 / fps)) > 0.25 / fps)


def _constant_rate(
    frames: np.ndarray, times: np.ndarray, fps: float, duration_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Variable-rate frames as a constant ``fps`` sequence from 0: at each tick, the frame
    showing (the first frame before it starts).

    The attention model pairs frame k with the sound at k / fps; VFR frames taken
    one after another would drift against their sound (tens of ms over a few seconds).
    """
    end = min(duration_s, float(times[-1]) + 1.0 / fps)
    grid = np.arange(max(1, math.floor(end * fps + 1e-6))) / fps
    index = np.clip(np.searchsorted(times, grid + 1e-9, side="right") - 1, 0, len(times) - 1)
    return frames[index], grid


def render(
    job: AnalysisJob, *, frame_width: int, audio_rate: int, audio_pad_s: float | None = None
) -> AVInput:
    """render(job, frame_width=96, audio_rate=16000, audio_pad_s=None) -> AVInput

    The sound reaches ``audio_pad_s`` (default: the job's pad) beyond the span.

    Raises :class:`MediaError` when the media cannot be decoded at all.
    """
    return render_checked(
        job, frame_width=frame_width, audio_rate=audio_rate, audio_pad_s=audio_pad_s
    )[0]  # constant rate: what every estimator can read


def render_checked(
    job: AnalysisJob,
    *,
    frame_width: int,
    audio_rate: int,
    audio_pad_s: float | None = None,
    constant_rate: bool = True,
) -> tuple[AVInput, Coverage]:
    """render_checked(job, ...) -> (AVInput, Coverage)

    As :func:`render`, and how much of the span the media gave: a picture that
    ends early (a file cut short, or media shorter than the clip) is analysed over
    what decoded only (``AVInput.duration_s`` shrinks), and decode errors in picture
    or sound are listed, so the caller never reports them as a confident finding.
    Variable-rate picture is resampled to a constant rate unless ``constant_rate``
    is False (for estimators that place frames by their own times).
    """
    assert job.picture is not None and job.picture.path is not None
    pinfo = probe_media(job.picture.path)
    if pinfo.video is None:
        raise MediaError(f"no video stream in {job.picture.path}")
    start = file_time(job.picture, pinfo)
    video = read_video(job.picture.path, start, job.span_duration_s, width=frame_width, gray=True)
    if len(video.frames) == 0:
        raise MediaError(
            f"no picture decoded from {job.picture.path} at {start:.3f} s "
            "(the media ends before the clip's range)"
        )
    times = video.times - start
    fps = _picture_rate(pinfo.video, times)

    frames = video.frames
    if constant_rate and pinfo.video.variable_fps and _irregular(times, fps):
        frames, times = _constant_rate(frames, times, fps, job.span_duration_s)
    wanted = job.span_duration_s
    # By the frames' times, or by their count (files whose timestamps are broken).
    covered = min(wanted, max(float(times[-1]) + 1.0 / fps, len(frames) / fps))
    coverage = Coverage(wanted_s=wanted, picture_s=max(0.0, covered))
    if covered < wanted - max(_SHORT_TOLERANCE_S, 1.5 / fps):
        coverage.problems.append(
            f"the picture media ends {covered:.2f} s into the {wanted:.2f} s span "
            "(file cut short, or shorter than the clip): only that much was analysed"
        )
    elif not video.complete:
        coverage.problems.append("the picture media has decode errors (damaged file)")
    pad = job.audio_pad_s if audio_pad_s is None else min(audio_pad_s, job.audio_pad_s)
    sound_problems: list[str] = []
    audio = render_sound(job, audio_rate=audio_rate, pad_s=pad, problems=sound_problems)
    coverage.problems.extend(sound_problems)
    av_input = AVInput(
        frames=frames,
        frame_times=times,
        fps=fps,
        audio=audio,
        rate=audio_rate,
        audio_start_s=-pad,
        duration_s=coverage.picture_s if covered < wanted else wanted,
    )
    return av_input, coverage


def render_sound(
    job: AnalysisJob, *, audio_rate: int, pad_s: float = 0.0, problems: list[str] | None = None
) -> np.ndarray:
    """render_sound(job, audio_rate=16000, pad_s=0.0, problems=None) -> mono float32 samples

    The job's sound from ``pad_s`` before the span to ``pad_s`` after it (at most
    the job's own pad), assembled from its clips; gaps are silence. Sound media
    that is cut short or has decode errors is described in ``problems``.
    """
    pad = min(pad_s, job.audio_pad_s)
    audio_start = job.span_start_s - pad
    n = round((job.span_duration_s + 2 * pad) * audio_rate)
    audio = np.zeros(n, dtype=np.float32)
    for span in job.sound:
        assert span.path is not None
        lo_s = max(span.timeline_start_s, audio_start)
        hi_s = min(span.timeline_start_s + span.duration_s, audio_start + n / audio_rate)
        if hi_s <= lo_s:
            continue
        info = probe_media(span.path)
        speed = span.speed or 1.0
        start = file_time(span, info) + (lo_s - span.timeline_start_s) * speed
        samples = _span_sound(span, start, hi_s - lo_s, audio_rate, problems)
        at = round((lo_s - audio_start) * audio_rate)
        lo, hi = max(0, at), min(n, at + len(samples))
        if hi > lo:
            audio[lo:hi] += samples[lo - at : hi - at]
    return audio


def _span_sound(
    span: MediaSpan,
    start_s: float,
    duration_s: float,
    audio_rate: int,
    problems: list[str] | None = None,
) -> np.ndarray:
    """``duration_s`` seconds of timeline sound from one span's media, read from ``start_s``
    (file seconds) and brought to timeline speed (a LinearTimeWarp makes media time run
    ``span.speed`` times faster). Damaged media is described in ``problems``."""
    assert span.path is not None
    speed = span.speed or 1.0
    decoded = read_audio(
        span.path, start_s, duration_s * speed, rate=audio_rate, stream_index=span.stream_index
    )
    samples = decoded.samples
    if not decoded.complete and problems is not None:
        problems.append(
            f"the sound media {span.path.name} is cut short or has decode errors (damaged file)"
        )
    if speed != 1.0:
        want = round(duration_s * audio_rate)
        samples = np.interp(
            np.arange(want) * speed, np.arange(len(samples)), samples, right=0.0
        ).astype(np.float32)
    return samples


def render_sound_with_handles(
    job: AnalysisJob, *, audio_rate: int, handle_s: float
) -> tuple[np.ndarray, float]:
    """render_sound_with_handles(job, audio_rate=16000, handle_s=3.0) -> (samples, start_s)

    The job's sound over its span, extended into the sound clip's own media by up
    to ``handle_s`` on each side (``start_s`` <= 0: where the samples start on the
    span's clock). Handles carry the clip's slip, unlike the timeline's neighbours;
    when the span's sound comes from more than one clip there are none.
    """
    end = job.span_start_s + job.span_duration_s
    inside = [
        s
        for s in job.sound
        if s.timeline_start_s < end and s.timeline_start_s + s.duration_s > job.span_start_s
    ]
    if len(inside) != 1 or handle_s <= 0.0:
        return render_sound(job, audio_rate=audio_rate, pad_s=0.0), 0.0
    span = inside[0]
    assert span.path is not None
    info = probe_media(span.path)
    speed = span.speed or 1.0
    at = file_time(span, info) + (job.span_start_s - span.timeline_start_s) * speed
    head = min(handle_s, max(0.0, at / speed))
    want = round((job.span_duration_s + head + handle_s) * audio_rate)
    samples = _span_sound(
        span, at - head * speed, job.span_duration_s + head + handle_s, audio_rate
    )
    out = np.zeros(want, dtype=np.float32)
    out[: min(want, len(samples))] = samples[:want]
    return out, -head


def thumbnail_jpeg(job: AnalysisJob, *, width: int = 160, quality: int = 70) -> bytes | None:
    """A small JPEG of the frame in the middle of the span, for reports; None on failure.

    A few kilobytes: reports carry one for each flagged or uncertain clip.
    """
    if job.picture is None or job.picture.path is None:
        return None
    try:
        from PIL import Image

        info = probe_media(job.picture.path)
        t = file_time(job.picture, info) + job.span_duration_s / 2
        video = read_video(job.picture.path, t, 0.001, width=width, gray=False)
        if not len(video.frames):
            return None
        buf = io.BytesIO()
        Image.fromarray(video.frames[0]).save(buf, format="JPEG", quality=quality, optimize=True)
        return buf.getvalue()
    except Exception:
        return None
