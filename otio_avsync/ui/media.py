"""The review panel's media work, without Qt: evidence to draw and A/B clips to play.

Everything here decodes or encodes, so the panel runs it off the UI thread
(:mod:`otio_avsync.ui.worker`). Times are seconds from the start of the
row's analysed span, the span the audit looked at (:func:`otio_avsync.jobs.build_jobs`
with the audit's own settings, read back from the timeline summary).
"""

from __future__ import annotations

import copy
import os
import tempfile
import threading
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import opentimelineio as otio

from otio_avsync.jobs import AnalysisJob
from otio_avsync.ui.model import Row

__all__ = ["ABClips", "Evidence", "JobIndex", "load_evidence", "render_ab"]

#: Seconds of picture and sound the A/B clips play around the strongest evidence.
AB_SECONDS = 4.0
#: Sample rate of the waveform the detail pane draws.
WAVEFORM_RATE = 4000


class JobIndex:
    """The analysis jobs of a timeline, built once (on first use) and looked up per row.

    ``settings`` are the audit's (``timeline.metadata["otio_avsync"]["settings"]``):
    the analysed span is capped at ``max_span_s`` like the audit did, and sound is
    placed up to the search range (and at least ``min_pad_s``) around it, so that
    the "after the fix" sound exists for any offset the audit could have found.
    """

    def __init__(
        self,
        timeline: otio.schema.Timeline,
        base_dir: str | os.PathLike | None,
        settings: dict[str, Any] | None = None,
        *,
        min_pad_s: float = 2.0,
    ) -> None:
        self.timeline = timeline
        self.base_dir = base_dir
        settings = settings or {}
        self.max_span_s = float(settings.get("max_span_s") or 60.0)
        self.pad_s = max(min_pad_s, float(settings.get("search_ms") or 2000.0) / 1000.0)
        self._jobs: list[AnalysisJob] | None = None
        self._lock = threading.Lock()

    def jobs(self) -> list[AnalysisJob]:
        with self._lock:
            if self._jobs is None:
                from otio_avsync.jobs import build_jobs
                from otio_avsync.render import probe_media

                self._jobs = build_jobs(
                    self.timeline,
                    base_dir=self.base_dir,
                    probe=probe_media,
                    max_span_s=self.max_span_s,
                    audio_pad_s=self.pad_s,
                )
            return self._jobs

    def find(self, row: Row) -> AnalysisJob | None:
        """The job of ``row``'s clip and sound; None when the clip is not in the timeline."""
        mine = [j for j in self.jobs() if j.clip is row.clip]
        if not mine:
            return None
        for j in mine:
            if j.source is not None and j.source.key() == row.sound_key:
                return j
        return mine[0]


@dataclass
class Evidence:
    """What the detail pane draws for one row, all on the span's clock."""

    span_s: float
    fps: float
    frames: list[np.ndarray] = field(default_factory=list)  # RGB uint8 (H, W, 3)
    frame_times: list[float] = field(default_factory=list)
    audio: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    audio_rate: int = WAVEFORM_RATE
    problem: str = ""


def _picture_origin(job: AnalysisJob) -> tuple[Path, float, float]:
    """(file, file seconds of the span start, fps) of the job's picture."""
    from otio_avsync.render import file_time, probe_media

    assert job.picture is not None and job.picture.path is not None
    info = probe_media(job.picture.path)
    fps = float(info.video.fps) if info.video and info.video.fps else job.rate
    return job.picture.path, file_time(job.picture, info), fps


def _usable(job: AnalysisJob | None) -> str:
    if job is None:
        return "the clip is not on the timeline any more"
    if job.picture is None or job.picture.path is None:
        return job.message or "the picture media cannot be found"
    return ""


def load_evidence(job: AnalysisJob | None, *, frames: int = 8, frame_width: int = 192) -> Evidence:
    """load_evidence(job, frames=8) -> Evidence: filmstrip frames across the span and its sound.

    Never raises for bad media: ``problem`` says what could not be decoded.
    """
    from otio_avsync.decode import read_video
    from otio_avsync.errors import AvsyncError
    from otio_avsync.render import render_sound

    problem = _usable(job)
    if problem:
        return Evidence(span_s=job.span_duration_s if job else 0.0, fps=25.0, problem=problem)
    assert job is not None
    ev = Evidence(span_s=job.span_duration_s, fps=job.rate)
    try:
        path, origin, fps = _picture_origin(job)
        ev.fps = fps
        for k in range(max(1, frames)):
            t = (k + 0.5) * job.span_duration_s / max(1, frames)
            video = read_video(path, origin + t, 0.5 / fps, width=frame_width, gray=False)
            if len(video.frames):
                ev.frames.append(video.frames[0])
                ev.frame_times.append(float(video.times[0] - origin))
    except AvsyncError as exc:
        ev.problem = f"picture: {exc}"
    if job.sound:
        try:
            ev.audio = render_sound(job, audio_rate=WAVEFORM_RATE, pad_s=0.0)
        except AvsyncError as exc:
            ev.problem = (ev.problem + "; " if ev.problem else "") + f"sound: {exc}"
    return ev


@dataclass
class ABClips:
    """Two short clips of the same picture: the sound as it is (A) and after the fix (B)."""

    as_is: Path
    fixed: Path
    start_s: float  # from the span start
    duration_s: float
    offset_ms: float
    folder: Path


def _sub_job(job: AnalysisJob, start_s: float, duration_s: float) -> AnalysisJob:
    """The same sound, for another span (timeline seconds)."""
    sub = copy.copy(job)
    sub.span_start_s = start_s
    sub.span_duration_s = duration_s
    sub.audio_pad_s = 0.0
    return sub


def _video_encoder() -> str:
    import av

    for name in ("libx264", "mpeg4"):
        if name in av.codecs_available:
            return name
    raise RuntimeError("no H.264 or MPEG-4 encoder in this PyAV build")


def write_clip(
    path: Path, frames: np.ndarray, fps: float, audio: np.ndarray, audio_rate: int
) -> Path:
    """Encode RGB frames (N, H, W, 3) and mono sound into an MP4 (H.264 or MPEG-4, AAC)."""
    import av

    rate = Fraction(fps).limit_denominator(1001)
    n, h, w = frames.shape[:3]
    h2, w2 = h - h % 2, w - w % 2
    with av.open(str(path), "w", format="mp4") as out:
        codec = _video_encoder()
        options = {"preset": "ultrafast", "crf": "23"} if codec == "libx264" else {}
        vs = out.add_stream(codec, rate=rate, options=options)
        vs.width, vs.height, vs.pix_fmt = w2, h2, "yuv420p"
        vs.codec_context.time_base = 1 / rate
        aus = out.add_stream("aac", rate=audio_rate)
        aus.layout = "mono"
        aus.format = "fltp"
        aus.codec_context.time_base = Fraction(1, audio_rate)
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frames[i, :h2, :w2]), "rgb24")
            frame.pts = i
            frame.time_base = 1 / rate
            for packet in vs.encode(frame):
                out.mux(packet)
        for packet in vs.encode(None):
            out.mux(packet)
        chunk = 1024
        samples = np.clip(audio.astype(np.float32), -1.0, 1.0)
        for start in range(0, len(samples), chunk):
            block = samples[start : start + chunk][None, :]
            af = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(block), format="fltp", layout="mono"
            )
            af.sample_rate = audio_rate
            af.pts = start
            af.time_base = Fraction(1, audio_rate)
            for packet in aus.encode(af):
                out.mux(packet)
        for packet in aus.encode(None):
            out.mux(packet)
    return path


def render_ab(
    job: AnalysisJob | None,
    offset_ms: float,
    center_s: float,
    *,
    duration_s: float = AB_SECONDS,
    folder: str | os.PathLike | None = None,
    width: int = 480,
    audio_rate: int = 48000,
) -> ABClips:
    """render_ab(job, offset_ms, center_s) -> ABClips

    ``duration_s`` of picture around ``center_s`` (seconds from the span start,
    kept inside the span), once with the timeline's sound (A) and once with the
    sound slipped earlier by ``offset_ms`` (B: what the fix would give; sound late > 0).
    Raises :class:`otio_avsync.errors.AvsyncError` (or ValueError) when there is
    nothing to play.
    """
    from otio_avsync.decode import read_video
    from otio_avsync.errors import MediaError
    from otio_avsync.render import render_sound

    problem = _usable(job)
    if problem:
        raise MediaError(problem)
    assert job is not None
    if not job.sound:
        raise MediaError("the clip has no sound to play")
    span = job.span_duration_s
    duration_s = min(duration_s, span)
    start = min(max(0.0, center_s - duration_s / 2), max(0.0, span - duration_s))
    path, origin, fps = _picture_origin(job)
    video = read_video(path, origin + start, duration_s, width=width, gray=False)
    if not len(video.frames):
        raise MediaError(f"no picture decoded from {path}")
    t0 = job.span_start_s + start
    as_is = render_sound(_sub_job(job, t0, duration_s), audio_rate=audio_rate)
    # Sound late by offset: what belongs to picture time t plays at t + offset; the fix
    # brings it back, so the fixed sound at t is the timeline's sound at t + offset.
    fixed = render_sound(_sub_job(job, t0 + offset_ms / 1000.0, duration_s), audio_rate=audio_rate)
    out = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="avsync-review-"))
    out.mkdir(parents=True, exist_ok=True)
    tag = f"{abs(hash((job.clip_name, round(start, 3), round(offset_ms, 2)))):x}"
    a = write_clip(out / f"A-{tag}.mp4", video.frames, fps, as_is, audio_rate)
    b = write_clip(out / f"B-{tag}.mp4", video.frames, fps, fixed, audio_rate)
    return ABClips(a, b, start, duration_s, offset_ms, out)
