"""What a synthetic clip of :mod:`otio_avsync.testmedia` is made of: its spec and events.

:class:`ClipSpec` says what to generate; the event schedule (picture events at
irregular gaps, each of a kind: flash, ball or mouth) is drawn from its seed and
shared by the picture (:mod:`otio_avsync.testpicture`), the sound
(:mod:`otio_avsync.testsound`) and the dubs (:mod:`otio_avsync.testdubs`), which
render the same events with another voice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

#: Earliest possible picture event (seconds from the start of the file).
FIRST_EVENT_MIN_S = 0.5
#: No picture event later than this before the end of the clip.
TAIL_S = 0.45

_KINDS = ("flash", "ball", "mouth")
_EVENT_GAP_S = (0.35, 1.3)


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class ClipSpec:
    """What to generate; every field has a cheap, widely decodable default."""

    duration_s: float = 8.0
    fps: Fraction = Fraction(25)
    width: int = 320
    height: int = 180
    sample_rate: int = 48000
    channels: int = 2  # 1, 2 or 6 (5.1: FL FR FC LFE BL BR)
    offset_ms: float = 0.0  # sound late > 0, baked into the file
    scene: str = "mixed"  # "flash" | "ball" | "mouth" | "mixed"
    distractors: bool = True
    seed: int = 0
    container: str = "mp4"  # "mp4" | "mov" | "mkv" | "mxf"
    video_codec: str = "h264"
    audio_codec: str = "aac"
    languages: tuple[str, ...] = ("eng",)  # one audio stream per entry; () = no audio
    video: bool = True  # False = audio-only file
    timecode: str | None = None  # start timecode, e.g. "01:00:00:00"
    silent: bool = False  # audio streams hold only very quiet noise
    still: bool = False  # a static picture: no motion, no picture events


# --------------------------------------------------------------------------- events


def _event_frames(spec: ClipSpec, rng: np.random.Generator) -> list[int]:
    """Frame indices of picture events at irregular gaps (irregular = unambiguous lag)."""
    fps = float(spec.fps)
    n_frames = _frame_count(spec)
    last_t = spec.duration_s - TAIL_S
    t = FIRST_EVENT_MIN_S + rng.uniform(0.0, 0.3)
    frames: list[int] = []
    while t <= last_t:
        frame = math.ceil(t * fps - 1e-9)
        if frame < n_frames and (not frames or frame > frames[-1]):
            frames.append(frame)
        t += rng.uniform(*_EVENT_GAP_S)
    return frames


def _event_kinds(scene: str, count: int, rng: np.random.Generator) -> list[str]:
    """Kind per event; "mixed" cycles through a shuffled order so every kind occurs."""
    if scene != "mixed":
        return [scene] * count
    kinds: list[str] = []
    while len(kinds) < count:
        kinds.extend(rng.permutation(_KINDS).tolist())
    return kinds[:count]


def _frame_count(spec: ClipSpec) -> int:
    return max(1, round(spec.duration_s * float(spec.fps)))
