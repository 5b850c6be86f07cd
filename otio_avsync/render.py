"""Render a job's picture and sound for its span in timeline time.

The picture comes from one clip's media; the sound may be assembled from
several audio clips (gaps play as silence). Media time (OTIO ``source_range``
space) is mapped to file time through the reference's ``available_range`` or,
when a reference has none (EDL sources), through the file's start timecode.
"""

from __future__ import annotations

import io

import numpy as np

from otio_avsync.decode import MediaInfo, probe, read_audio, read_video, timecode_to_seconds
from otio_avsync.errors import MediaError
from otio_avsync.estimators.base import AVInput
from otio_avsync.jobs import AnalysisJob, MediaSpan

#: Probing is cached per file version inside :func:`otio_avsync.decode.probe`.
probe_media = probe


def file_time(span: MediaSpan, info: MediaInfo) -> float:
    """Seconds from the file's origin where the span's media time falls."""
    if span.media_origin_s is not None:
        return span.media_time_s - span.media_origin_s
    if info.timecode and info.video is not None and info.video.fps:
        tc = timecode_to_seconds(info.timecode, info.video.fps)
        if span.media_time_s >= tc - 1e-6:
            return span.media_time_s - tc
    return span.media_time_s


def render(
    job: AnalysisJob, *, frame_width: int, audio_rate: int, audio_pad_s: float | None = None
) -> AVInput:
    """render(job, frame_width=96, audio_rate=16000, audio_pad_s=None) -> AVInput

    The sound reaches ``audio_pad_s`` (default: the job's pad) beyond the span.

    Raises :class:`MediaError` when the media cannot be decoded at all.
    """
    assert job.picture is not None and job.picture.path is not None
    pinfo = probe_media(job.picture.path)
    if pinfo.video is None:
        raise MediaError(f"no video stream in {job.picture.path}")
    start = file_time(job.picture, pinfo)
    video = read_video(job.picture.path, start, job.span_duration_s, width=frame_width, gray=True)
    if len(video.frames) == 0:
        raise MediaError(f"no picture decoded from {job.picture.path} at {start:.3f} s")
    times = video.times - start
    fps = float(pinfo.video.fps) if pinfo.video.fps else 0.0
    if not np.isfinite(fps) or fps <= 0 or fps > 1000:
        steps = np.diff(times)
        fps = 1.0 / float(np.median(steps)) if len(steps) else 25.0

    pad = job.audio_pad_s if audio_pad_s is None else min(audio_pad_s, job.audio_pad_s)
    audio = render_sound(job, audio_rate=audio_rate, pad_s=pad)
    return AVInput(
        frames=video.frames,
        frame_times=times,
        fps=fps,
        audio=audio,
        rate=audio_rate,
        audio_start_s=-pad,
        duration_s=job.span_duration_s,
    )


def render_sound(job: AnalysisJob, *, audio_rate: int, pad_s: float = 0.0) -> np.ndarray:
    """render_sound(job, audio_rate=16000, pad_s=0.0) -> mono float32 samples

    The job's sound from ``pad_s`` before the span to ``pad_s`` after it (at most
    the job's own pad), assembled from its clips; gaps are silence.
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
        samples = read_audio(
            span.path,
            file_time(span, info) + (lo_s - span.timeline_start_s) * speed,
            (hi_s - lo_s) * speed,
            rate=audio_rate,
            stream_index=span.stream_index,
        ).samples
        if speed != 1.0:  # a speed change (LinearTimeWarp): media time runs `speed` times faster
            want = round((hi_s - lo_s) * audio_rate)
            samples = np.interp(
                np.arange(want) * speed, np.arange(len(samples)), samples, right=0.0
            ).astype(np.float32)
        at = round((lo_s - audio_start) * audio_rate)
        lo, hi = max(0, at), min(n, at + len(samples))
        if hi > lo:
            audio[lo:hi] += samples[lo - at : hi - at]
    return audio


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
    samples = read_audio(
        span.path,
        at - head * speed,
        (job.span_duration_s + head + handle_s) * speed,
        rate=audio_rate,
        stream_index=span.stream_index,
    ).samples
    if speed != 1.0:
        samples = np.interp(
            np.arange(want) * speed, np.arange(len(samples)), samples, right=0.0
        ).astype(np.float32)
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
