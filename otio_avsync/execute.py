"""Executors: where the analysis jobs of an audit run.

The audit turns timelines into :class:`~otio_avsync.jobs.AnalysisJob` objects
and hands the ones it has to analyse to an executor; each executor calls
``on_done(index, outcome)`` once per job, in whatever order jobs finish, and
the audit puts outcomes back in job order before annotating and reporting, so
the result never depends on the executor or on completion order.

- :class:`SerialExecutor`: in this process, one job after another (the default
  of the Python API, and ``--jobs 1``).
- :class:`ProcessExecutor`: ``--jobs N`` worker processes, each loading the
  model once; threads per worker are cores / N (torch, OpenCV, BLAS/OpenMP) so
  N workers do not oversubscribe the cores. A worker that dies (killed, out of
  memory) breaks the pool: the pool is rebuilt and the unfinished jobs rerun.
- :class:`RayExecutor`: jobs as Ray tasks on a cluster (``--ray auto|local|ADDRESS``,
  ``pip install 'otio-avsync[ray]'``); Ray reruns the tasks of a dead worker.

Workers receive *portable* jobs (no OTIO objects) and return
:class:`~otio_avsync.analysis.JobOutcome` objects; media paths must be readable
where the job runs, and a job whose media is not gets ``media_missing`` saying
on which host.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any, Protocol

from otio_avsync.errors import AvsyncError
from otio_avsync.jobs import AnalysisJob

log = logging.getLogger(__name__)

OnDone = Callable[[int, Any], None]

#: Environment variables that size the thread pools of OpenMP, BLAS and numexpr.
THREAD_ENV = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)


class Executor(Protocol):
    """executor.run(jobs, options, on_done): analyse every job, calling on_done(i, outcome)."""

    name: str

    def run(self, jobs: Sequence[AnalysisJob], options: Any, on_done: OnDone) -> None: ...


def available_cores() -> int:
    """The cores this process may use (its CPU affinity, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def portable(job: AnalysisJob) -> AnalysisJob:
    """A copy of a job without OTIO objects, with absolute media paths: what a worker gets."""

    def absolute(span: Any) -> Any:
        if span is None or span.path is None:
            return span
        return dataclasses.replace(span, path=span.path.absolute())

    return dataclasses.replace(
        job,
        clip=None,
        span_media_start=None,
        picture=absolute(job.picture),
        sound=[absolute(s) for s in job.sound],
    )


def _failed(message: str) -> Any:
    from otio_avsync.analysis import JobOutcome
    from otio_avsync.results import Status

    return JobOutcome(status=Status.ERROR, message=message)


# -- in this process ----------------------------------------------------------------------


class SerialExecutor:
    """SerialExecutor(estimator=None): one job after another in this process.

    ``estimator`` is an instance to reuse (else one is loaded by name on first use).
    """

    name = "serial"

    def __init__(self, estimator: Any = None) -> None:
        self.estimator = estimator

    def run(self, jobs: Sequence[AnalysisJob], options: Any, on_done: OnDone) -> None:
        from otio_avsync.analysis import estimate_job
        from otio_avsync.estimators import get_estimator

        if jobs and self.estimator is None:
            self.estimator = get_estimator(options.estimator)
        for i, job in enumerate(jobs):
            on_done(i, estimate_job(job, self.estimator, options))


# -- worker processes ------------------------------------------------------------------------

#: A worker's own state: its estimator, loaded once (per name) on first use.
_WORKER: dict[str, Any] = {"threads": None, "estimators": {}}


def limit_threads(threads: int) -> None:
    """Size this process's thread pools: FFmpeg's decoder, torch (if loaded), OpenCV, BLAS."""
    from otio_avsync import decode

    decode.DECODE_THREADS = threads
    for var in THREAD_ENV:
        os.environ[var] = str(threads)
    try:
        import cv2

        cv2.setNumThreads(threads)
    except Exception:  # OpenCV missing or built without a pool: nothing to size
        pass
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    _WORKER["threads"] = threads


def _init_worker(threads: int) -> None:
    limit_threads(threads)


def _worker_estimator(name: str) -> Any:
    """The worker's estimator for ``name``, loaded once per process."""
    from otio_avsync.estimators import get_estimator

    cache = _WORKER["estimators"]
    if name not in cache:
        if _WORKER["threads"] is None:  # a Ray worker: one CPU per task
            limit_threads(1)
        cache[name] = get_estimator(name)
        if "torch" in sys.modules and _WORKER["threads"]:
            sys.modules["torch"].set_num_threads(_WORKER["threads"])
    return cache[name]


def work(job: AnalysisJob, options: Any) -> Any:
    """Analyse one portable job in a worker: the function pools and Ray tasks run."""
    from otio_avsync.analysis import estimate_job

    return estimate_job(job, _worker_estimator(options.estimator), options)


def _ping() -> int:
    return os.getpid()


@contextmanager
def _child_thread_env(threads: int):
    """Thread-count variables set while worker processes start (they read them at import)."""
    saved = {var: os.environ.get(var) for var in THREAD_ENV}
    for var in THREAD_ENV:
        os.environ.setdefault(var, str(threads))
    try:
        yield
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


class ProcessExecutor:
    """ProcessExecutor(workers, threads=None): ``workers`` processes, ``threads`` each.

    ``threads`` defaults to the available cores divided among the workers (at
    least one). At most two jobs per worker are queued at a time, so memory stays
    that of the jobs in flight, however long the timeline.
    """

    name = "processes"
    #: Times the pool is rebuilt after a worker died before the rest is given up.
    max_restarts = 3

    def __init__(self, workers: int, threads: int | None = None) -> None:
        if workers < 1:
            raise AvsyncError(f"--jobs must be at least 1, not {workers}")
        self.workers = workers
        self.threads = threads or max(1, available_cores() // workers)
        self.restarts = 0

    def _pool(self, n: int) -> ProcessPoolExecutor:
        import multiprocessing

        # spawn, not fork: a forked copy of a process that has started torch's or
        # OpenCV's threads can deadlock.
        return ProcessPoolExecutor(
            max_workers=n,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(self.threads,),
        )

    def run(self, jobs: Sequence[AnalysisJob], options: Any, on_done: OnDone) -> None:
        if not jobs:
            return
        n = min(self.workers, len(jobs))
        todo = list(range(len(jobs)))[::-1]  # a stack: pop() takes the next in order
        payload = [portable(j) for j in jobs]
        with _child_thread_env(self.threads):
            while todo:
                todo = self._run_pool(n, payload, todo, options, on_done)
                if todo:
                    self.restarts += 1
                    if self.restarts > self.max_restarts:
                        for i in todo:
                            on_done(i, _failed("Analysis failed: the worker process died"))
                        return
                    log.warning("a worker process died; rerunning %d unfinished job(s)", len(todo))

    def _run_pool(
        self, n: int, payload: list[AnalysisJob], todo: list[int], options: Any, on_done: OnDone
    ) -> list[int]:
        """Run jobs until all are done or the pool breaks; returns the jobs left to run."""
        running: dict[Future, int] = {}
        broken = False
        pool = self._pool(n)
        try:
            while (todo and not broken) or running:
                while todo and not broken and len(running) < 2 * n:
                    i = todo.pop()
                    try:
                        running[pool.submit(work, payload[i], options)] = i
                    except BrokenProcessPool:
                        todo.append(i)
                        broken = True
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = running.pop(fut)
                    try:
                        outcome = fut.result()
                    except BrokenProcessPool:
                        todo.append(i)  # its worker (or another) died: run it again
                        broken = True
                        continue
                    except Exception as exc:  # an unpicklable result, say: this job only
                        outcome = _failed(f"Analysis failed: {type(exc).__name__}: {exc}")
                    on_done(i, outcome)
            return sorted(set(todo), reverse=True)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


# -- Ray ---------------------------------------------------------------------------------------


class RayExecutor:
    """RayExecutor(address="auto", max_retries=3): one Ray task per job.

    ``address``: ``auto`` joins the cluster this machine belongs to, ``local``
    starts a Ray instance here, anything else is a cluster address
    (``ray://head:10001``). When Ray is already initialised in this process it is
    used as it is. A task whose worker dies is rerun by Ray up to ``max_retries``
    times; a job that still fails gets the status ``error``.
    """

    name = "ray"

    def __init__(self, address: str = "auto", *, max_retries: int = 3, num_cpus: int | None = None):
        self.address = address
        self.max_retries = max_retries
        self.num_cpus = num_cpus

    def _connect(self) -> tuple[Any, bool]:
        try:
            import ray
        except ImportError:
            raise AvsyncError("Ray is not installed: pip install 'otio-avsync[ray]'") from None
        if ray.is_initialized():
            return ray, False
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "logging_level": "ERROR",
            "log_to_driver": False,
        }
        if self.address == "local":
            kwargs["num_cpus"] = self.num_cpus
        else:
            kwargs["address"] = self.address
        try:
            ray.init(**kwargs)
        except Exception as exc:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            hint = " (start one with 'ray start --head', or use --ray local)"
            raise AvsyncError(
                f"cannot reach the Ray cluster at {self.address!r}: {detail}"
                + (hint if self.address == "auto" else "")
            ) from None
        return ray, True

    def run(self, jobs: Sequence[AnalysisJob], options: Any, on_done: OnDone) -> None:
        if not jobs:
            return
        ray, started = self._connect()
        try:
            task = ray.remote(num_cpus=1, max_retries=self.max_retries)(work)
            opts = ray.put(options)
            refs = {task.remote(portable(job), opts): i for i, job in enumerate(jobs)}
            seen: set[int] = set()
            while refs:
                ready, _ = ray.wait(list(refs), num_returns=1)
                for ref in ready:
                    i = refs.pop(ref)
                    try:
                        outcome = ray.get(ref)
                    except Exception as exc:  # the task failed after its retries
                        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                        outcome = _failed(f"Analysis failed on the Ray cluster: {first}")
                    if i not in seen:  # one outcome per job, whatever Ray retried
                        seen.add(i)
                        on_done(i, outcome)
        finally:
            if started:
                ray.shutdown()


def make_executor(
    jobs: int | None = None, ray: str | None = None, *, estimator: Any = None
) -> Executor:
    """make_executor(jobs=None, ray=None) -> the executor the CLI's --jobs / --ray ask for.

    ``jobs`` None means the available cores; one job means this process.
    """
    if ray:
        return RayExecutor(ray, num_cpus=jobs)
    n = available_cores() if jobs is None else jobs
    if n < 1:
        raise AvsyncError(f"--jobs must be at least 1, not {n}")
    if n == 1:
        return SerialExecutor(estimator)
    return ProcessExecutor(n)
