"""The audit pipeline: timeline -> jobs -> decoding -> estimator -> results -> annotation.

The CLI, the OTIO hook and the review panel all call :func:`audit_timeline`;
reading and writing files (atomically, never over the input) lives in
:mod:`otio_avsync.timeline_io`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import opentimelineio as otio

from otio_avsync.analysis import JobOutcome, estimate_job
from otio_avsync.annotate import annotate
from otio_avsync.errors import AvsyncError
from otio_avsync.jobs import AnalysisJob, build_jobs
from otio_avsync.results import (
    BT1359,
    DEFAULT_FAIL_ON,
    DEFAULT_MIN_CONFIDENCE,
    ClipResult,
    Status,
    Tolerance,
    describe,
    exit_status,
    is_flagged,
    judge,
)

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]


@dataclass
class AuditOptions:
    """What to check and how strictly; the defaults are what the CLI uses."""

    estimator: str = "attention"
    search_ms: float = 2000.0
    tolerance: Tolerance = BT1359
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    max_span_s: float = 60.0
    thumbnails: bool = False
    fail_on: tuple[Status, ...] = DEFAULT_FAIL_ON
    #: Clips that could not be checked (uncertain, media missing, no audio, error) do not
    #: make the exit status 3 (see :func:`otio_avsync.results.exit_status`).
    unchecked_ok: bool = False
    #: The original mix the other sounds are aligned to: a track name or a language;
    #: None picks one (see :mod:`otio_avsync.dubbing`); "none" turns alignment off.
    reference: str | None = None
    reference_search_ms: float = 10000.0

    def __post_init__(self) -> None:
        for name in ("search_ms", "max_span_s", "reference_search_ms"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise AvsyncError(f"{name} must be a positive number, not {value!r}")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise AvsyncError(f"min_confidence must be within 0..1, not {self.min_confidence!r}")

    def settings(self) -> dict[str, Any]:
        """The options as plain metadata, recorded on the timeline."""
        return {
            "estimator": self.estimator,
            "search_ms": self.search_ms,
            "tolerance": self.tolerance.as_dict(),
            "min_confidence": self.min_confidence,
            "max_span_s": self.max_span_s,
            "reference": self.reference,
            "reference_search_ms": self.reference_search_ms,
        }

    @property
    def align_to_reference(self) -> bool:
        return (self.reference or "").strip().lower() not in ("none", "off")


@dataclass
class AuditResult:
    """All results of one audit and the exit status a script should see."""

    results: list[ClipResult]
    options: AuditOptions
    source: str | None = None
    elapsed_s: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    #: Track-level consensus, one per sound key (see :mod:`otio_avsync.consensus`).
    tracks: list[Any] = field(default_factory=list)
    #: The reference sound the others were aligned to, and how it was chosen.
    reference: dict[str, Any] | None = None
    #: Jobs in all, analysed now, and reused from the result cache.
    work: dict[str, int] = field(default_factory=dict)

    @property
    def flagged(self) -> list[ClipResult]:
        """The results the audit fails on (``options.fail_on``, default out of sync)."""
        return [r for r in self.results if is_flagged(r.status, self.options.fail_on)]

    @property
    def exit_code(self) -> int:
        """0 all checked, nothing flagged; 1 flagged; 3 some clips could not be checked."""
        return exit_status(
            [r.status for r in self.results],
            self.options.fail_on,
            unchecked_ok=self.options.unchecked_ok,
        )

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r.status.value] = out.get(r.status.value, 0) + 1
        return out


@dataclass
class _Plan:
    """One timeline's jobs, between building them and annotating the results."""

    timeline: otio.schema.Timeline
    jobs: list[AnalysisJob]
    first: int  # index of its first job in the shared list


def audit_timeline(
    timeline: otio.schema.Timeline,
    options: AuditOptions | None = None,
    *,
    base_dir: str | os.PathLike | None = None,
    progress: Progress | None = None,
    annotate_timeline: bool = True,
    estimator: Any = None,
    executor: Any = None,
    cache: Any = None,
) -> AuditResult:
    """audit_timeline(timeline, options=None, base_dir=None, progress=None) -> AuditResult

    Analyses every picture clip with each linked sound and, unless told not
    to, writes the results onto ``timeline`` (which the caller owns: pass a
    copy to keep the original). One clip's failure becomes its status; the
    others are still analysed. ``estimator`` overrides ``options.estimator``
    with an instance (to reuse a loaded model across timelines; used by the
    default, serial executor). ``executor`` runs the jobs (see
    :mod:`otio_avsync.execute`); ``cache`` (a :class:`~otio_avsync.cache.ResultCache`)
    reuses the estimates of unchanged jobs.
    """
    return audit_timelines(
        [(timeline, base_dir)],
        options,
        progress=progress,
        annotate_timeline=annotate_timeline,
        estimator=estimator,
        executor=executor,
        cache=cache,
    )[0]


def audit_timelines(
    timelines: list[tuple[otio.schema.Timeline, str | os.PathLike | None]],
    options: AuditOptions | None = None,
    *,
    progress: Progress | None = None,
    annotate_timeline: bool = True,
    estimator: Any = None,
    executor: Any = None,
    cache: Any = None,
) -> list[AuditResult]:
    """audit_timelines([(timeline, base_dir), ...], options) -> one AuditResult per timeline

    The jobs of all timelines share one executor (one pool of workers); each
    timeline is then finished (reference alignment, consensus, annotation) on
    its own, in order. Results are the same whatever the executor.
    """
    from otio_avsync.execute import SerialExecutor

    options = options or AuditOptions()
    t0 = time.perf_counter()
    plans: list[_Plan] = []
    jobs: list[AnalysisJob] = []
    for timeline, base_dir in timelines:
        plan = _plan(timeline, base_dir, options, first=len(jobs))
        plans.append(plan)
        jobs.extend(plan.jobs)
    executor = executor or SerialExecutor(estimator)
    timings = {"decode_s": 0.0, "estimate_s": 0.0}
    outcomes = _run_jobs(jobs, options, executor, cache, progress, timings, estimator)
    out = []
    for plan in plans:
        mine = outcomes[plan.first : plan.first + len(plan.jobs)]
        results = [finish_result(j, o, options) for j, o in zip(plan.jobs, mine, strict=True)]
        result = _finish(plan, results, options, dict(timings), annotate_timeline)
        result.work = {
            "jobs": len(plan.jobs),
            "analysed": sum(1 for o in mine if o is not None and not o.cached),
            "reused": sum(1 for o in mine if o is not None and o.cached),
        }
        out.append(result)
    elapsed = time.perf_counter() - t0
    for result in out:
        result.elapsed_s = elapsed
    return out


def _plan(
    timeline: otio.schema.Timeline,
    base_dir: str | os.PathLike | None,
    options: AuditOptions,
    first: int,
) -> _Plan:
    from otio_avsync.dubbing import HANDLE_S, choose_reference, source_keys
    from otio_avsync.render import probe_media

    pad_ms = options.search_ms
    if options.align_to_reference:
        pad_ms = max(pad_ms, options.reference_search_ms + HANDLE_S * 1000.0)
    jobs = build_jobs(
        timeline,
        base_dir=base_dir,
        probe=probe_media,
        max_span_s=options.max_span_s,
        audio_pad_s=pad_ms / 1000.0,
    )
    if options.align_to_reference and options.reference and len(source_keys(jobs)) > 0:
        # A named reference that does not exist is a usage error: say so before decoding.
        choose_reference([(j, None) for j in jobs], options.reference, min_confidence=0.0)
    return _Plan(timeline, jobs, first)


def _run_jobs(
    jobs: list[AnalysisJob],
    options: AuditOptions,
    executor: Any,
    cache: Any,
    progress: Progress | None,
    timings: dict[str, float],
    estimator: Any,
) -> list[JobOutcome | None]:
    """Outcomes in job order: None for jobs that are not analysed, cached ones, then the rest."""
    outcomes: list[JobOutcome | None] = [None] * len(jobs)
    keys: dict[int, str] = {}
    todo: list[int] = []
    first: dict[str, int] = {}
    twins: dict[int, list[int]] = {}
    ident = None
    for i, job in enumerate(jobs):
        if job.status is not None:
            continue
        if cache is not None:
            if ident is None:
                from otio_avsync.cache import estimator_identity

                ident = estimator_identity(options.estimator, estimator)
            key = cache.job_key(job, search_ms=options.search_ms, estimator=ident)
            hit = cache.get(key) if key else None
            if hit is not None:
                outcomes[i] = hit
                continue
            if key in first:  # the same job twice (one media in two timelines): run it once
                twins.setdefault(first[key], []).append(i)
                continue
            if key:
                keys[i], first[key] = key, i
        todo.append(i)
    total, done = len(jobs), len(jobs) - len(todo) - sum(map(len, twins.values()))
    if progress:
        progress(done, total, "")

    def on_done(k: int, outcome: JobOutcome) -> None:
        nonlocal done
        i = todo[k]
        if outcomes[i] is not None:  # one outcome per job, whatever an executor retried
            return
        outcomes[i] = outcome
        done += 1
        timings["decode_s"] += outcome.decode_s
        timings["estimate_s"] += outcome.estimate_s
        if cache is not None and i in keys:
            cache.put(keys[i], outcome)
        for twin in twins.get(i, []):
            outcomes[twin] = dataclasses.replace(outcome, cached=True)
            done += 1
        if progress:
            progress(done, total, jobs[i].clip_name)

    executor.run([jobs[i] for i in todo], options, on_done)
    for i in [*todo, *(t for ts in twins.values() for t in ts)]:
        if outcomes[i] is None:
            outcomes[i] = JobOutcome(status=Status.ERROR, message="Analysis did not finish.")
    return outcomes


def _finish(
    plan: _Plan,
    results: list[ClipResult],
    options: AuditOptions,
    timings: dict[str, float],
    annotate_timeline: bool,
) -> AuditResult:
    """Reference alignment, track consensus and annotation of one timeline."""
    from otio_avsync.consensus import track_consensus
    from otio_avsync.dubbing import align_dubs, choose_reference

    jobs = plan.jobs
    reference = None
    if options.align_to_reference:
        pairs = list(zip(jobs, results, strict=True))
        key, how = choose_reference(pairs, options.reference, min_confidence=options.min_confidence)
        if key is not None:
            from otio_avsync.render import render_sound, render_sound_with_handles

            aligned = align_dubs(
                pairs,
                reference_key=key,
                search_ms=options.reference_search_ms,
                tolerance=options.tolerance,
                min_confidence=options.min_confidence,
                render_sound=render_sound,
                render_dub=render_sound_with_handles,
                timings=timings,
            )
            reference = {"key": key, "chosen": how, "aligned": aligned}
    tracks = track_consensus(
        results, tolerance=options.tolerance, min_confidence=options.min_confidence
    )
    if annotate_timeline:
        annotate(
            plan.timeline, results, settings=options.settings(), tracks=tracks, reference=reference
        )
    return AuditResult(results, options, timings=timings, tracks=tracks, reference=reference)


def _judge_damaged(result: ClipResult, coverage: Any) -> None:
    """Media cut short or damaged: never a finding; confidence scaled to what was seen."""
    result.confidence = float(result.confidence) * coverage.fraction
    result.status = Status.UNCERTAIN
    result.message = "; ".join(coverage.problems)


def _base_result(job: AnalysisJob, options: AuditOptions) -> ClipResult:
    return ClipResult(
        clip_name=job.clip_name,
        status=job.status or Status.ERROR,
        message=job.message,
        rate=job.rate,
        tolerance=options.tolerance,
        audio_source=job.source,
        span_start_s=job.span_start_s,
        span_duration_s=job.span_duration_s,
        record_tc=job.record_tc,
        track_name=job.track_name,
        clip=job.clip,
        span_media_start=job.span_media_start,
    )


def finish_result(
    job: AnalysisJob, outcome: JobOutcome | None, options: AuditOptions
) -> ClipResult:
    """The judged :class:`ClipResult` of a job from its outcome (None: not analysed)."""
    result = _base_result(job, options)
    if job.status is not None or outcome is None:
        return result
    if outcome.status is not None:
        result.status, result.message = outcome.status, outcome.message
        return result
    est = outcome.estimate
    result.method = est.method
    result.offset_ms = est.offset_ms
    result.offset_frames = est.offset_ms * job.rate / 1000.0 if est.offset_ms is not None else None
    result.confidence = est.confidence
    result.windows = list(est.windows)
    result.attention = est.attention
    result.curve_ms = [float(v) for v in est.curve_ms]
    result.curve_score = [float(v) for v in est.curve_score]
    result.status = judge(
        est.offset_ms,
        est.confidence,
        options.tolerance,
        min_confidence=options.min_confidence,
        at_search_edge=est.at_search_edge,
    )
    if result.status is Status.UNCERTAIN:
        result.message = est.note or f"confidence {est.confidence:.0%} is below the threshold"
    if outcome.coverage is not None and outcome.coverage.damaged:
        _judge_damaged(result, outcome.coverage)
    result.message = describe(result)
    if options.thumbnails and result.status in (Status.OUT_OF_SYNC, Status.UNCERTAIN):
        from otio_avsync.render import thumbnail_jpeg

        result.thumbnail_jpeg = thumbnail_jpeg(job)  # only where a picture helps: kept small
    return result


def analyse_job(
    job: AnalysisJob,
    estimator: Any,
    options: AuditOptions,
    timings: dict[str, float] | None = None,
) -> ClipResult:
    """analyse_job(job, estimator, options) -> ClipResult; never raises for bad media."""
    outcome = estimate_job(job, estimator, options)
    if timings is not None:
        timings["decode_s"] = timings.get("decode_s", 0.0) + outcome.decode_s
        timings["estimate_s"] = timings.get("estimate_s", 0.0) + outcome.estimate_s
    return finish_result(job, outcome, options)
