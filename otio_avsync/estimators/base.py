"""The estimator interface: picture frames and sound in, offset and confidence out.

Every estimator (the classical baseline, the attention model, reference
alignment) takes the same :class:`AVInput` and returns an :class:`Estimate`, so
the pipeline can swap them by name. The two data types live in
:mod:`otio_avsync.spans`, below both the estimators and the model.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from otio_avsync.spans import AVInput, Estimate, parabolic_offset

__all__ = ["AVInput", "Estimate", "Estimator", "parabolic_offset"]


@runtime_checkable
class Estimator(Protocol):
    """estimator.estimate(av, search_ms=2000.0) -> Estimate

    ``audio_rate`` and ``frame_width`` tell the decoder what to deliver.
    """

    name: str
    audio_rate: int
    frame_width: int

    def estimate(self, av: AVInput, *, search_ms: float = 2000.0) -> Estimate: ...
