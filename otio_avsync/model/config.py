"""Model and training configuration: one dataclass each, saved next to the weights.

Kept free of torch so that the CLI and the OTIO plugin can read it cheaply.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

#: The attention variants: the literature's two and the plain-average control.
VARIANTS = ("spatio-temporal", "temporal", "none")
#: How the front end finds the mouth (``otio_avsync.model.frontend``).
MOUTH_TRACKERS = ("landmarks", "haar")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture; changing any field needs new weights."""

    variant: str = "spatio-temporal"
    block_frames: int = 25  # T: frames per block (about one second)
    tile: int = 32  # side of each picture tile (whole frame, mouth)
    mel_bands: int = 40
    audio_steps_per_frame: int = 4  # the sound grid is 4x the frame rate
    video_channels: int = 48  # Cv
    audio_channels: int = 48  # Ca
    fused_channels: int = 32  # C
    embed_dim: int = 64  # tower embeddings for the contrastive loss and pre-scan
    head_hidden: int = 512
    # How the front end finds the mouth tile: "landmarks" (MediaPipe face mesh) or
    # "haar" (OpenCV cascade); see otio_avsync.model.frontend.
    mouth: str = "landmarks"
    # Lip-geometry features per frame beside the pixels (otio_avsync.model.lips;
    # landmarks only); 0 for weights trained without them.
    geometry: int = 0

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, not {self.variant!r}")
        if self.mouth not in MOUTH_TRACKERS:
            raise ValueError(f"mouth must be one of {MOUTH_TRACKERS}, not {self.mouth!r}")
        if self.geometry and self.mouth != "landmarks":
            raise ValueError("lip geometry needs the landmark mouth tracker")

    @property
    def map_shape(self) -> tuple[int, int]:
        """(H, W) of the fused feature map: two tiles side by side, stride 8."""
        return self.tile // 8, 2 * self.tile // 8

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class TrainConfig:
    """The training recipe; ``otio-avsync train --config FILE`` reads it from TOML."""

    model: ModelConfig = field(default_factory=ModelConfig)
    seed: int = 0
    steps: int = 1500
    batch_windows: int = 8  # windows per step
    window_blocks: int = 3  # N: blocks per training window
    lr: float = 2e-3
    weight_decay: float = 1e-4
    easy_only_fraction: float = 0.25  # curriculum: first part with easy negatives only
    hard_fraction: float = 0.25  # afterwards: easy:hard about 3:1
    negatives: int = 4  # negatives per positive window
    hard_min_frames: int = 2
    hard_max_frames: int = 50
    # Share of hard negatives drawn at exactly one or two frames (the rest uniform
    # in hard_min_frames..hard_max_frames): the neighbours an audit must tell apart.
    near_fraction: float = 0.0
    # Augmentation probabilities (0 turns one off): picture blur, scale and
    # compression; lip-geometry jitter; sound noise, reverberation and band limits.
    augment: float = 0.0
    # Loss on the towers' embeddings besides the head's cross-entropy:
    # "infonce" (the true shift against its neighbours within +-contrastive_shift_frames),
    # "margin" (squared-distance contrastive loss with a margin, as in SyncNet), or "none".
    contrastive: str = "infonce"
    contrastive_weight: float = 1.0
    contrastive_shift_frames: int = 15
    contrastive_margin: float = 1.0
    threads: int = 2
    # Sampling weights of the data pools.
    pool_weights: dict[str, float] = field(
        default_factory=lambda: {
            "studio": 0.3,
            "talk": 0.3,
            "generated": 0.15,
            "events": 0.15,
            "synthetic": 0.1,
        }
    )
    synthetic_clips: int = 48
    calibration_offsets: int = 12  # injected offsets per calibration clip
    # Calibration cases take between this and 10 s of their clip (the audit sees all lengths).
    calibration_min_s: float = 4.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        data = dict(data)
        model = ModelConfig.from_dict(data.pop("model", {}))
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown training settings: {', '.join(sorted(unknown))}")
        if data.get("contrastive", "infonce") not in ("infonce", "margin", "none"):
            raise ValueError("contrastive must be one of infonce, margin, none")
        return cls(model=model, **data)

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        with open(path, "rb") as fh:
            return cls.from_dict(tomllib.load(fh))
