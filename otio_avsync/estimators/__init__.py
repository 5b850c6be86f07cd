"""Estimators behind one interface (:class:`~otio_avsync.estimators.base.Estimator`).

``get_estimator(name)`` imports the implementation lazily, so that choosing the
classical baseline never loads torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from otio_avsync.estimators.base import AVInput, Estimate, Estimator

__all__ = ["ESTIMATORS", "AVInput", "Estimate", "Estimator", "get_estimator"]

#: name -> "module:class"; the first is the default.
ESTIMATORS: dict[str, str] = {
    "baseline": "otio_avsync.estimators.baseline:CorrelationEstimator",
}


def get_estimator(name: str = "baseline", **options: Any) -> Estimator:
    """get_estimator(name="baseline", **options) -> Estimator"""
    try:
        target = ESTIMATORS[name]
    except KeyError:
        raise ValueError(
            f"unknown estimator {name!r}; choose one of: {', '.join(ESTIMATORS)}"
        ) from None
    module, cls = target.split(":")
    return getattr(import_module(module), cls)(**options)
