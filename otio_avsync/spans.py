"""What every estimator reads and answers: one span's picture and sound, and the estimate.

These data types sit below both the estimators and the model: the pipeline
(``render``) builds an :class:`AVInput`, and every estimator, the attention
model's offset scan included, answers with an :class:`Estimate`. Nothing here
imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from otio_avsync.results import WindowResult


@dataclass
class AVInput:
    """Picture and sound of one analysed span, both starting at the same instant.

    ``frames[k]`` is shown at ``frame_times[k]`` seconds from the span start
    (uniform ``k / fps`` for constant-rate media, decoded timestamps for VFR);
    ``audio[n]`` plays at ``audio_start_s + n / rate`` seconds: the sound may
    start before the picture (``audio_start_s < 0``) and end after it, so that
    every candidate offset finds sound to compare.
    """

    frames: np.ndarray  # uint8 (N, H, W) grayscale
    frame_times: np.ndarray  # float64 (N,)
    fps: float
    audio: np.ndarray  # float32 (M,) mono
    rate: int
    audio_start_s: float = 0.0
    #: Length of the analysed picture span (seconds); 0 = up to the last frame.
    duration_s: float = 0.0
    #: Reference alignment only: the reference's sound (same rate), playing from
    #: ``reference_start_s`` seconds on the span's clock.
    reference: np.ndarray | None = None
    reference_start_s: float = 0.0

    @property
    def picture_duration_s(self) -> float:
        """The analysed span: given, or up to the end of the last frame."""
        if self.duration_s > 0:
            return self.duration_s
        if len(self.frame_times) and self.fps > 0:
            return float(self.frame_times[-1]) + 1.0 / self.fps
        return 0.0


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
    #: What the model attended to (per-block weights, spatial maps); None for others.
    attention: dict | None = None
    #: The scan's evidence behind ``confidence`` (for calibration and reports).
    evidence: dict[str, float] = field(default_factory=dict)


def parabolic_offset(curve: np.ndarray, i: int) -> float:
    """parabolic_offset(curve, i) -> sub-step position (-0.5..0.5) of the peak at ``i``.

    A parabola through the peak and its two neighbours; 0 at the ends or when
    the three points do not bend down.
    """
    if i <= 0 or i >= len(curve) - 1:
        return 0.0
    a, b, c = curve[i - 1], curve[i], curve[i + 1]
    den = a - 2 * b + c
    return float(np.clip(0.5 * (a - c) / den, -0.5, 0.5)) if den < 0 else 0.0
