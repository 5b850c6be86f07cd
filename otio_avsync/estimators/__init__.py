"""Estimators behind one interface (:class:`~otio_avsync.estimators.base.Estimator`).

``get_estimator(name)`` imports the implementation lazily, so that choosing the
classical baseline never loads torch. The attention model is the default.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from otio_avsync.estimators.base import AVInput, Estimate, Estimator

__all__ = ["DEFAULT_ESTIMATOR", "ESTIMATORS", "AVInput", "Estimate", "Estimator", "get_estimator"]

#: name -> "module:class"; the first is the default.
ESTIMATORS: dict[str, str] = {
    "attention": "otio_avsync.estimators.attention:AttentionEstimator",
    "baseline": "otio_avsync.estimators.baseline:CorrelationEstimator",
    "attention-temporal": "otio_avsync.estimators.attention:TemporalAttentionEstimator",
    "attention-none": "otio_avsync.estimators.attention:PlainAverageEstimator",
}
DEFAULT_ESTIMATOR = "attention"


def get_estimator(name: str = DEFAULT_ESTIMATOR, **options: Any) -> Estimator:
    """get_estimator(name="attention", **options) -> Estimator"""
    try:
        target = ESTIMATORS[name]
    except KeyError:
        raise ValueError(
            f"unknown estimator {name!r}; choose one of: {', '.join(ESTIMATORS)}"
        ) from None
    module, cls = target.split(":")
    return getattr(import_module(module), cls)(**options)
