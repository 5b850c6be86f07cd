"""The attention model as an estimator: the picture front end, then the model's offset scan.

The scan itself (pre-scan, decision, confidence, attention maps) is
:class:`otio_avsync.model.scan.OffsetScan`, below this layer so that the
model's calibration can run it without importing the estimators; this module
adds what the pipeline needs of an estimator: its name, what the decoder must
deliver, and the front end that turns decoded frames into tiles.
"""

from __future__ import annotations

import logging
import time

from otio_avsync.model.frontend import AUDIO_RATE, FRAME_WIDTH, landmarks_available, picture_tiles
from otio_avsync.model.scan import OffsetScan
from otio_avsync.spans import AVInput, Estimate

log = logging.getLogger(__name__)


class AttentionEstimator(OffsetScan):
    """AttentionEstimator(weights=None, max_blocks=10, window_blocks=5, peaks=3, threads=1)

    ``weights`` defaults to the file shipped in the package for :attr:`variant`.
    """

    name = "attention"
    variant = "spatio-temporal"
    audio_rate = AUDIO_RATE
    frame_width = FRAME_WIDTH

    def __init__(
        self,
        weights: str | None = None,
        *,
        max_blocks: int = 10,
        window_blocks: int = 5,
        peaks: int = 3,
        threads: int | None = 1,
    ) -> None:
        super().__init__(
            weights,
            max_blocks=max_blocks,
            window_blocks=window_blocks,
            peaks=peaks,
            threads=threads,
        )
        #: The mouth tracker: the one the weights were trained with, if it is installed.
        self.mouth = self.cfg.mouth
        if self.mouth == "landmarks" and not landmarks_available():
            self.mouth = "haar"
            log.warning(
                "MediaPipe is not installed: the attention model finds mouths with OpenCV's"
                " Haar cascade instead of the face mesh it was trained with, and is less"
                " accurate on talking faces (pip install --no-deps mediapipe==0.10.14)"
            )

    def estimate(self, av: AVInput, *, search_ms: float = 2000.0) -> Estimate:
        """estimate(av, search_ms=2000.0) -> Estimate"""
        if len(av.frames) < 8 or av.fps <= 0:
            return Estimate(None, 0.0, self.name, note="too short to analyse (fewer than 8 frames)")
        t0 = time.perf_counter()
        pt = picture_tiles(
            av.frames, self.cfg.tile, mouth=self.mouth, geometry=bool(self.cfg.geometry)
        )
        self.timings["picture_s"] += time.perf_counter() - t0
        return self.estimate_tiles(pt, av, search_ms=search_ms)


class TemporalAttentionEstimator(AttentionEstimator):
    """The temporal-attention variant (one weight per block, no spatial map)."""

    name = "attention-temporal"
    variant = "temporal"


class PlainAverageEstimator(AttentionEstimator):
    """The control: the same network with a plain average instead of attention."""

    name = "attention-none"
    variant = "none"
