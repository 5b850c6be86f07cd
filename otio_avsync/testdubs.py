"""Simulated dubs: an original-language reel and dub tracks with known errors.

A dub shares the original's music and effects (the M&E bed) but carries other
dialogue; its errors are global (the whole reel slipped), drifting (a frame-rate
conform error: the dub file plays at the wrong speed) or a jump after an edit.
The tests, the ``demo`` command and ``bench/bench_dubs.py`` use these timelines.

The reel is one picture file with the original mix (language ``eng``); each dub
is a WAV file rendered from the same events with another voice. The timeline
has ``V1`` (the picture cut into clips), ``A1 ORIG`` (the original mix, in sync)
and one ``A2 DUB <lang>`` track per dub, whose clips play the dub file from
where the editor believed the matching sound to be.

Timeline time is reel time: the cut starts after a head (a gap on ``V1`` and
the dub tracks) and the original mix is one clip under the whole reel, so that
a dub slipped by up to the head still finds its music and effects in the
reference. Ground truth: a dub clip covering timeline time ``t`` reads the dub
file at ``tau = t - L`` (``L`` the slip of that clip); a file that plays
``speed`` times too slow holds there the reel's sound of time ``tau / speed``,
so the sound is late by ``t - (t - L) / speed``. That is evaluated at the
middle of each clip; the drift is ``(1 - 1 / speed)`` per second of timeline
time.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import opentimelineio as otio
from scipy import signal
from scipy.io import wavfile

from otio_avsync.testmedia import (
    TRUTH_METADATA_KEY,
    ClipSpec,
    _event_frames,
    _event_kinds,
    _render_audio,
    make_clip,
)
from otio_avsync.timeline_io import atomic_path

__all__ = ["DubCase", "DubTruth", "make_dub_timeline"]

#: Speed errors of common conforms: (speed of the dub file, cause).
CONFORMS = {
    "1001": (Fraction(24000, 23976), "24 vs 23.976 fps (1000/1001)"),
    "pal": (Fraction(25, 24), "25 vs 24 fps (PAL speed-up)"),
}


@dataclass(frozen=True)
class DubCase:
    """The errors of one dub track."""

    offset_ms: float = 0.0  # global slip, sound late > 0
    speed: Fraction | float = 1  # the dub file plays this much too slow (drift); 1 = none
    jump_at: int | None = None  # first clip of a jump
    jump_ms: float = 0.0  # added to the slip from ``jump_at`` on

    def slip_ms(self, index: int) -> float:
        jump = self.jump_ms if self.jump_at is not None and index >= self.jump_at else 0.0
        return self.offset_ms + jump

    @property
    def drift_ppm(self) -> float:
        return (1.0 - 1.0 / float(self.speed)) * 1e6


@dataclass(frozen=True)
class DubTruth:
    """Ground truth of a simulated-dub timeline."""

    path: Path
    rate: Fraction
    #: track name -> picture clip name -> expected offset in ms (sound late > 0).
    expected: dict[str, dict[str, float]]
    cases: dict[str, DubCase]  # track name -> its errors
    reference_track: str
    clip_names: tuple[str, ...] = ()
    reference_offset_ms: float = 0.0
    media: tuple[Path, ...] = field(default=())


def _write_wav(path: Path, audio: np.ndarray, rate: int) -> None:
    """16-bit PCM WAV, written through a temporary file."""
    pcm = np.clip(audio.T * 32767.0, -32768, 32767).astype(np.int16)
    with atomic_path(path) as tmp:
        wavfile.write(tmp, rate, pcm)


def make_dub_timeline(
    folder: str | Path,
    dubs: Mapping[str, DubCase],
    *,
    clips: int = 8,
    clip_s: float = 5.0,
    head_s: float = 6.0,
    fps: Fraction = Fraction(25),
    seed: int = 0,
    width: int = 160,
    height: int = 90,
    name: str = "dubs",
    relative_urls: bool = True,
    reference_offset_ms: float = 0.0,
) -> DubTruth:
    """make_dub_timeline(folder, {"fra": DubCase(offset_ms=120)}) -> DubTruth

    Writes the reel (picture + original mix), one WAV per dub language and the
    ``.otio``. ``head_s`` of reel before the first clip and after the last leave
    room for slips up to about that much. ``reference_offset_ms`` slips the
    original mix itself against the picture (sound late > 0).
    """
    folder = Path(folder)
    media_dir = folder / "media"
    media_dir.mkdir(parents=True, exist_ok=True)
    rate = Fraction(fps)
    r = float(rate)
    clip_frames = round(clip_s * r)
    head_frames = round(head_s * r)
    total_frames = clip_frames * clips + 2 * head_frames
    spec = ClipSpec(
        duration_s=total_frames / r,
        fps=rate,
        width=width,
        height=height,
        scene="mixed",
        seed=seed,
        languages=("eng",),
    )
    reel = media_dir / f"{name}_reel.mp4"
    make_clip(reel, spec)
    written = [reel.resolve()]

    # The dubs: the same events (same spec and seed), another voice, no picture.
    rng = np.random.default_rng([spec.seed, 1])
    frames = _event_frames(spec, rng)
    kinds = _event_kinds(spec.scene, len(frames), rng)
    dub_files: dict[str, Path] = {}
    for voice, (lang, case) in enumerate(dubs.items(), start=1):
        audio = _render_audio(spec, frames, kinds, voice).astype(np.float64)
        speed = Fraction(case.speed).limit_denominator(100000)
        if speed != 1:  # a file that plays `speed` times too slow: stretched by `speed`
            audio = signal.resample_poly(audio, speed.numerator, speed.denominator, axis=1)
        path = media_dir / f"{name}_dub_{lang}.wav"
        _write_wav(path, audio, spec.sample_rate)
        dub_files[lang] = path
        written.append(path.resolve())

    def url(path: Path) -> str:
        return (
            os.path.relpath(path, folder).replace(os.sep, "/")
            if relative_urls
            else str(path.resolve())
        )

    def rt(frames: float) -> otio.opentime.RationalTime:
        return otio.opentime.RationalTime(frames, r)

    timeline = otio.schema.Timeline(name=name)
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    ref_name = "A1 ORIG eng"
    a1 = otio.schema.Track(
        name=ref_name,
        kind=otio.schema.TrackKind.Audio,
        metadata={"otio_avsync": {"language": "eng"}},
    )
    timeline.tracks.extend([v1, a1])
    reel_range = otio.opentime.TimeRange(rt(0), rt(total_frames))
    names = tuple(f"{name}_{i:02d}" for i in range(clips))
    # Timeline time is reel time: the cut starts after the head (a gap), and the
    # original mix runs under the whole reel, so that a dub slipped by up to the
    # head still finds its music and effects in the reference.
    v1.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(rt(0), rt(head_frames))))
    for i, clip_name in enumerate(names):
        src = otio.opentime.TimeRange(rt(head_frames + i * clip_frames), rt(clip_frames))
        v1.append(
            otio.schema.Clip(
                name=clip_name,
                media_reference=otio.schema.ExternalReference(
                    target_url=url(reel), available_range=reel_range
                ),
                source_range=src,
                metadata={TRUTH_METADATA_KEY: {"role": "picture", "expected_offset_ms": 0.0}},
            )
        )
    # The reference, late by reference_offset_ms: it plays the reel from -reference_offset_ms.
    lead = math.ceil(abs(reference_offset_ms) / 1000.0 * r) + 1 if reference_offset_ms else 0
    if lead:
        a1.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(rt(0), rt(lead))))
    a1.append(
        otio.schema.Clip(
            name=f"{name}_orig",
            media_reference=otio.schema.ExternalReference(
                target_url=url(reel), available_range=reel_range
            ),
            source_range=otio.opentime.TimeRange(
                rt(lead - reference_offset_ms / 1000.0 * r), rt(total_frames - 2 * lead)
            ),
            metadata={
                TRUTH_METADATA_KEY: {
                    "role": "reference",
                    "expected_offset_ms": float(reference_offset_ms),
                }
            },
        )
    )

    expected: dict[str, dict[str, float]] = {
        ref_name: dict.fromkeys(names, float(reference_offset_ms))
    }
    cases: dict[str, DubCase] = {}
    for lang, case in dubs.items():
        track_name = f"A{len(timeline.tracks)} DUB {lang}"
        track = otio.schema.Track(
            name=track_name,
            kind=otio.schema.TrackKind.Audio,
            metadata={"otio_avsync": {"language": lang}},
        )
        track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(rt(0), rt(head_frames))))
        dub_len = round(wavfile_frames(dub_files[lang]) / spec.sample_rate * r)
        dub_range = otio.opentime.TimeRange(rt(0), rt(dub_len))
        speed = float(case.speed)
        expected[track_name] = {}
        for i, clip_name in enumerate(names):
            slip_s = case.slip_ms(i) / 1000.0
            t_start = (head_frames + i * clip_frames) / r  # timeline (= reel) time of the clip
            t_mid = t_start + clip_frames / r / 2
            tau_start = t_start - slip_s  # where the editor put the dub clip in the dub file
            lag = t_mid - (t_mid - slip_s) / speed
            expected[track_name][clip_name] = lag * 1000.0
            track.append(
                otio.schema.Clip(
                    name=f"{clip_name}_{lang}",
                    media_reference=otio.schema.ExternalReference(
                        target_url=url(dub_files[lang]), available_range=dub_range
                    ),
                    source_range=otio.opentime.TimeRange(rt(tau_start * r), rt(clip_frames)),
                    metadata={
                        TRUTH_METADATA_KEY: {
                            "role": "dub",
                            "language": lang,
                            "expected_offset_ms": round(lag * 1000.0, 3),
                        }
                    },
                )
            )
        timeline.tracks.append(track)
        cases[track_name] = replace(case)
    otio_path = folder / f"{name}.otio"
    otio.adapters.write_to_file(timeline, str(otio_path))
    return DubTruth(
        path=otio_path,
        rate=rate,
        expected=expected,
        cases=cases,
        reference_track=ref_name,
        clip_names=names,
        reference_offset_ms=float(reference_offset_ms),
        media=tuple(written),
    )


def wavfile_frames(path: Path) -> int:
    """Number of sample frames in a WAV file (without reading the samples)."""
    _rate, data = wavfile.read(path, mmap=True)
    return int(data.shape[0])
