"""Weights shipped inside the package, with their configuration and confidence calibration.

A weights file is a plain ``torch.save`` dict (loaded with ``weights_only=True``):
``config`` (:class:`ModelConfig` fields), ``state_dict``, ``calibration``
(logistic coefficients mapping scan evidence to the probability of being within
one frame), ``train`` (the recipe) and ``record`` (what the run measured).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

from otio_avsync.model.config import ModelConfig

#: variant -> file in ``otio_avsync/model/weights/``.
WEIGHT_FILES = {
    "spatio-temporal": "attention-st.pt",
    "temporal": "attention-temporal.pt",
    "none": "attention-none.pt",
}


def packaged_weights(variant: str = "spatio-temporal") -> Path:
    """packaged_weights(variant) -> path of the shipped weights for a variant."""
    if variant not in WEIGHT_FILES:
        raise ValueError(
            f"no weights for variant {variant!r}; choose one of {', '.join(WEIGHT_FILES)}"
        )
    return Path(str(resources.files("otio_avsync.model") / "weights" / WEIGHT_FILES[variant]))


def load_bundle(path: str | os.PathLike) -> dict[str, Any]:
    """load_bundle(path) -> the weights dict; raises FileNotFoundError / ValueError."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model weights not found: {path}")
    try:
        bundle = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises pickle, zip and runtime errors alike
        why = type(exc).__name__
        raise ValueError(f"{path} is not an otio-avsync weights file ({why})") from None
    if not isinstance(bundle, dict) or "state_dict" not in bundle or "config" not in bundle:
        raise ValueError(f"{path} is not an otio-avsync weights file")
    return bundle


def model_config(bundle: dict[str, Any]) -> ModelConfig:
    """The architecture a weights dict was trained with."""
    # Weights saved before the landmark front end were trained on Haar mouth boxes.
    return ModelConfig.from_dict({"mouth": "haar", **bundle["config"]})


def load_model(path: str | os.PathLike | None = None, variant: str = "spatio-temporal"):
    """load_model(path=None, variant="spatio-temporal") -> (AVSyncNet in eval mode, bundle)"""
    from otio_avsync.model.network import AVSyncNet

    bundle = load_bundle(path if path is not None else packaged_weights(variant))
    net = AVSyncNet(model_config(bundle))
    net.load_state_dict(bundle["state_dict"])
    net.eval()
    return net, bundle


def save_bundle(
    path: str | os.PathLike, net, *, train: dict, record: dict, calibration: dict | None
) -> None:
    """Write a weights file atomically (see :func:`otio_avsync.files.atomic_path`)."""
    import torch

    from otio_avsync.files import atomic_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save(
            {
                "format": 1,
                "config": net.cfg.to_dict(),
                "state_dict": state,
                "calibration": calibration or {},
                "train": train,
                "record": record,
            },
            tmp,
        )
