"""One analysis job: its picture and sound rendered and given to the estimator.

What executors run, in this process or in a worker process or on a cluster
node (:mod:`otio_avsync.execute`), and what the result cache stores
(:mod:`otio_avsync.cache`): a :class:`JobOutcome` that pickles and holds no
OTIO objects. Judging it against the tolerance is the audit's
(:func:`otio_avsync.audit.finish_result`).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Any

from otio_avsync.errors import AvsyncError
from otio_avsync.jobs import AnalysisJob
from otio_avsync.results import Status

log = logging.getLogger(__name__)

__all__ = ["JobOutcome", "estimate_job"]


@dataclass
class JobOutcome:
    """What analysing one job gave: an estimate, or why there is none.

    Executors return these (they pickle, and hold no OTIO objects); the cache
    stores the successful ones. ``status`` is set when the analysis failed.
    """

    estimate: Any = None
    status: Status | None = None
    message: str = ""
    #: How much of the span the media gave (:class:`otio_avsync.render.Coverage`).
    coverage: Any = None
    decode_s: float = 0.0
    estimate_s: float = 0.0
    cached: bool = False


def _unreadable(job: AnalysisJob) -> str | None:
    """The first media file of a job that cannot be read where the job runs, or None."""
    spans = [job.picture, *job.sound]
    for span in spans:
        if span is not None and span.path is not None and not os.access(span.path, os.R_OK):
            return str(span.path)
    return None


def estimate_job(job: AnalysisJob, estimator: Any, options: Any) -> JobOutcome:
    """estimate_job(job, estimator, options) -> JobOutcome; never raises for bad media.

    What executors run, in this process or in a worker (where the media must be
    readable too: a job whose files are not says so with ``media_missing``).
    """
    from otio_avsync.render import render_checked

    if job.status is not None:
        return JobOutcome(status=job.status, message=job.message)
    missing = _unreadable(job)
    if missing is not None:
        import socket

        return JobOutcome(
            status=Status.MEDIA_MISSING,
            message=f"Media not readable on {socket.gethostname()}: {missing}.",
        )
    try:
        t0 = time.perf_counter()
        av, coverage = render_checked(
            job,
            frame_width=estimator.frame_width,
            audio_rate=estimator.audio_rate,
            audio_pad_s=options.search_ms / 1000.0,
            constant_rate=not getattr(estimator, "uses_frame_times", False),
        )
        t1 = time.perf_counter()
        est = estimator.estimate(av, search_ms=options.search_ms)
        t2 = time.perf_counter()
    except AvsyncError as exc:
        return JobOutcome(status=Status.ERROR, message=f"Media cannot be decoded: {exc}")
    except Exception as exc:
        log.exception("analysis of %s failed", job.clip_name)
        return JobOutcome(
            status=Status.ERROR, message=f"Analysis failed: {type(exc).__name__}: {exc}"
        )
    del av
    return JobOutcome(estimate=est, coverage=coverage, decode_s=t1 - t0, estimate_s=t2 - t1)
