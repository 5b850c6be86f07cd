"""The estimator interface: picture frames and sound in, offset and confidence out.

Every estimator (the classical baseline, the attention model, reference
alignment) takes the same :class:`AVInput` and returns an :class:`Estimate`, so
the pipeline can swap them by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from otio_avsync.results import WindowResult


@dataclass
class AVInput:
    """Picture and sound of one analysed span, both starting at the same instant.

    ``frames[k]`` is shown at ``frame_times[k]`` seconds from the span start
    (uniform ``k / fps`` for constant-rate media, decoded timestamps for VFR);
    ``audio[n]`` plays at ``n / rate`` seconds.
    """

    frames: np.ndarray  # uint8 (N, H, W) grayscale
    frame_times: np.ndarray  # float64 (N,)
    fps: float
    audio: np.ndarray  # float32 (M,) mono
    rate: int

    @property
    def duration_s(self) -> float:
        return len(self.audio) / self.rate if self.rate else 0.0


@dataclass
class Estimate:
    """An estimator's answer for one span.

    ``offset_ms > 0`` means the sound is late. ``confidence`` is in 0..1; when
    the evidence is too weak to answer, ``offset_ms`` may still hold the best
    guess and ``note`` says what was missing (silence, no motion...).
    """

    offset_ms: float | None
    confidence: float
    method: str
    windows: list[WindowResult] = field(default_factory=list)
    curve_ms: np.ndarray = field(default_factory=lambda: np.zeros(0))
    curve_score: np.ndarray = field(default_factory=lambda: np.zeros(0))
    at_search_edge: bool = False
    note: str = ""


@runtime_checkable
class Estimator(Protocol):
    """estimator.estimate(av, search_ms=2000.0) -> Estimate

    ``audio_rate`` and ``frame_width`` tell the decoder what to deliver.
    """

    name: str
    audio_rate: int
    frame_width: int

    def estimate(self, av: AVInput, *, search_ms: float = 2000.0) -> Estimate: ...
