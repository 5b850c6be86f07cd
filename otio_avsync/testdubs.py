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

from otio_avsync.testmedia import TRUTH_METADATA_KEY, make_clip
from otio_avsync.testsound import _render_audio
from otio_avsync.testspec import ClipSpec, _event_frames, _event_kinds
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


@dataclass(frozen=True)
class _Cut:
    """Where the clips of a dub timeline sit (frames at the timeline ``rate``), and
    how its ``.otio`` in ``folder`` refers to the media."""

    rate: float
    clip_frames: int
    head_frames: int
    names: tuple[str, ...]
    folder: Path
    relative_urls: bool

    def rt(self, frames: float) -> otio.opentime.RationalTime:
        return otio.opentime.RationalTime(frames, self.rate)

    def clip_start(self, index: int) -> int:
        """Timeline (= reel) frame where clip ``index`` starts."""
        return self.head_frames + index * self.clip_frames

    def reference(self, path: Path, frames: int) -> otio.schema.ExternalReference:
        """A reference to ``path``, whose media is ``frames`` long."""
        url = (
            os.path.relpath(path, self.folder).replace(os.sep, "/")
            if self.relative_urls
            else str(path.resolve())
        )
        return otio.schema.ExternalReference(
            target_url=url,
            available_range=otio.opentime.TimeRange(self.rt(0), self.rt(frames)),
        )

    def head_gap(self) -> otio.schema.Gap:
        return otio.schema.Gap(
            source_range=otio.opentime.TimeRange(self.rt(0), self.rt(self.head_frames))
        )


def _write_dubs(
    media_dir: Path, name: str, spec: ClipSpec, dubs: Mapping[str, DubCase]
) -> dict[str, Path]:
    """One WAV per dub language: the reel's events (same spec and seed), another voice."""
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
    return dub_files


def _picture_track(cut: _Cut, reel: otio.schema.ExternalReference) -> otio.schema.Track:
    """V1: a head gap, then the reel cut into clips (in sync by definition)."""
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    # Timeline time is reel time: the cut starts after the head (a gap), and the
    # original mix runs under the whole reel, so that a dub slipped by up to the
    # head still finds its music and effects in the reference.
    v1.append(cut.head_gap())
    for i, clip_name in enumerate(cut.names):
        src = otio.opentime.TimeRange(cut.rt(cut.clip_start(i)), cut.rt(cut.clip_frames))
        v1.append(
            otio.schema.Clip(
                name=clip_name,
                media_reference=reel.clone(),
                source_range=src,
                metadata={TRUTH_METADATA_KEY: {"role": "picture", "expected_offset_ms": 0.0}},
            )
        )
    return v1


def _reference_track(
    cut: _Cut,
    track_name: str,
    clip_name: str,
    reel: otio.schema.ExternalReference,
    total_frames: int,
    reference_offset_ms: float,
) -> otio.schema.Track:
    """A1: the original mix under the whole reel, late by ``reference_offset_ms``."""
    a1 = otio.schema.Track(
        name=track_name,
        kind=otio.schema.TrackKind.Audio,
        metadata={"otio_avsync": {"language": "eng"}},
    )
    r = cut.rate
    # The reference, late by reference_offset_ms: it plays the reel from -reference_offset_ms.
    lead = math.ceil(abs(reference_offset_ms) / 1000.0 * r) + 1 if reference_offset_ms else 0
    if lead:
        a1.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(cut.rt(0), cut.rt(lead))))
    a1.append(
        otio.schema.Clip(
            name=clip_name,
            media_reference=reel,
            source_range=otio.opentime.TimeRange(
                cut.rt(lead - reference_offset_ms / 1000.0 * r), cut.rt(total_frames - 2 * lead)
            ),
            metadata={
                TRUTH_METADATA_KEY: {
                    "role": "reference",
                    "expected_offset_ms": float(reference_offset_ms),
                }
            },
        )
    )
    return a1


def _dub_track(
    cut: _Cut,
    track_name: str,
    lang: str,
    case: DubCase,
    dub: otio.schema.ExternalReference,
) -> tuple[otio.schema.Track, dict[str, float]]:
    """One dub track (a head gap, then a clip per picture clip) and its expected offsets."""
    r = cut.rate
    track = otio.schema.Track(
        name=track_name,
        kind=otio.schema.TrackKind.Audio,
        metadata={"otio_avsync": {"language": lang}},
    )
    track.append(cut.head_gap())
    speed = float(case.speed)
    expected: dict[str, float] = {}
    for i, clip_name in enumerate(cut.names):
        slip_s = case.slip_ms(i) / 1000.0
        t_start = cut.clip_start(i) / r  # timeline (= reel) time of the clip
        t_mid = t_start + cut.clip_frames / r / 2
        tau_start = t_start - slip_s  # where the editor put the dub clip in the dub file
        lag = t_mid - (t_mid - slip_s) / speed
        expected[clip_name] = lag * 1000.0
        track.append(
            otio.schema.Clip(
                name=f"{clip_name}_{lang}",
                media_reference=dub.clone(),
                source_range=otio.opentime.TimeRange(
                    cut.rt(tau_start * r), cut.rt(cut.clip_frames)
                ),
                metadata={
                    TRUTH_METADATA_KEY: {
                        "role": "dub",
                        "language": lang,
                        "expected_offset_ms": round(lag * 1000.0, 3),
                    }
                },
            )
        )
    return track, expected


def _add_dub_tracks(
    timeline: otio.schema.Timeline,
    cut: _Cut,
    dubs: Mapping[str, DubCase],
    dub_files: Mapping[str, Path],
    sample_rate: int,
    expected: dict[str, dict[str, float]],
) -> dict[str, DubCase]:
    """Append one track per dub, record its expected offsets; track name -> its errors."""
    cases: dict[str, DubCase] = {}
    for lang, case in dubs.items():
        track_name = f"A{len(timeline.tracks)} DUB {lang}"
        dub_len = round(wavfile_frames(dub_files[lang]) / sample_rate * cut.rate)
        track, expected[track_name] = _dub_track(
            cut, track_name, lang, case, cut.reference(dub_files[lang], dub_len)
        )
        timeline.tracks.append(track)
        cases[track_name] = replace(case)
    return cases


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
    cut = _Cut(
        rate=r,
        clip_frames=round(clip_s * r),
        head_frames=round(head_s * r),
        names=tuple(f"{name}_{i:02d}" for i in range(clips)),
        folder=folder,
        relative_urls=relative_urls,
    )
    total_frames = cut.clip_frames * clips + 2 * cut.head_frames
    spec = ClipSpec(
        duration_s=total_frames / r,
        fps=rate,
        width=width,
        height=height,
        scene="mixed",
        seed=seed,
        languages=("eng",),
    )
    reel_path = media_dir / f"{name}_reel.mp4"
    make_clip(reel_path, spec)
    dub_files = _write_dubs(media_dir, name, spec, dubs)
    written = [reel_path.resolve(), *(path.resolve() for path in dub_files.values())]

    timeline = otio.schema.Timeline(name=name)
    ref_name = "A1 ORIG eng"
    reel = cut.reference(reel_path, total_frames)
    timeline.tracks.extend(
        [
            _picture_track(cut, reel),
            _reference_track(
                cut, ref_name, f"{name}_orig", reel.clone(), total_frames, reference_offset_ms
            ),
        ]
    )
    expected: dict[str, dict[str, float]] = {
        ref_name: dict.fromkeys(cut.names, float(reference_offset_ms))
    }
    cases = _add_dub_tracks(timeline, cut, dubs, dub_files, spec.sample_rate, expected)
    otio_path = folder / f"{name}.otio"
    otio.adapters.write_to_file(timeline, str(otio_path))
    return DubTruth(
        path=otio_path,
        rate=rate,
        expected=expected,
        cases=cases,
        reference_track=ref_name,
        clip_names=cut.names,
        reference_offset_ms=float(reference_offset_ms),
        media=tuple(written),
    )


def wavfile_frames(path: Path) -> int:
    """Number of sample frames in a WAV file (without reading the samples)."""
    _rate, data = wavfile.read(path, mmap=True)
    return int(data.shape[0])
