"""Scaling: executors give the same results, the result cache, many timelines at once."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from clirun import cli
from scalemedia import SLIPS, markers_per_clip, scale_timeline, with_bad_media

from otio_avsync.audit import AuditOptions, audit_timeline
from otio_avsync.cache import ResultCache, default_cache_dir
from otio_avsync.execute import ProcessExecutor, SerialExecutor
from otio_avsync.results import Status
from otio_avsync.timeline_io import read_timeline

OPTS = AuditOptions(estimator="baseline")


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("scale")
    scale_timeline(folder)
    with_bad_media(folder)
    return folder


def _audit(path: Path, executor=None, cache=None, options=OPTS):
    tl = read_timeline(path)
    result = audit_timeline(tl, options, base_dir=path.parent, executor=executor, cache=cache)
    return tl, result


def _meta(result) -> list[dict]:
    return [r.to_metadata() for r in result.results]


class ReversedExecutor(SerialExecutor):
    """Finishes jobs last to first: the result must not depend on completion order."""

    def run(self, jobs, options, on_done):
        from otio_avsync.audit import estimate_job
        from otio_avsync.estimators import get_estimator

        est = get_estimator(options.estimator)
        for i in reversed(range(len(jobs))):
            on_done(i, estimate_job(jobs[i], est, options))


def test_executors_and_completion_order_give_identical_results(media: Path) -> None:
    path = media / "scale-bad.otio"
    tl1, serial = _audit(path, SerialExecutor())
    tl2, pooled = _audit(path, ProcessExecutor(2))
    tl3, backwards = _audit(path, ReversedExecutor())
    assert [r.status for r in serial.results][-1] is Status.ERROR  # the broken clip, cleanly
    assert "cannot be decoded" in serial.results[-1].message
    assert len(serial.results) == len(SLIPS) + 1
    assert _meta(serial) == _meta(pooled) == _meta(backwards)
    for tl in (tl1, tl2, tl3):
        assert set(markers_per_clip(tl).values()) == {1}
    assert pooled.work == {"jobs": 5, "analysed": 5, "reused": 0}


def test_worker_sees_unreadable_media(media: Path, tmp_path: Path) -> None:
    """Media present when the jobs were built but not where the job runs: a status, not a crash."""
    from otio_avsync.audit import estimate_job
    from otio_avsync.jobs import build_jobs

    jobs = build_jobs(read_timeline(media / "scale.otio"), base_dir=media)
    job = jobs[0]
    job.picture.path = tmp_path / "gone.mp4"  # as if the worker had another file system
    outcome = estimate_job(job, None, OPTS)
    assert outcome.status is Status.MEDIA_MISSING
    assert "not readable on" in outcome.message and "gone.mp4" in outcome.message


def test_cache_reuses_unchanged_jobs_and_redoes_changed_ones(media: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    path = media / "scale.otio"
    _, first = _audit(path, cache=ResultCache(cache_dir))
    assert first.work == {"jobs": 4, "analysed": 4, "reused": 0}
    _, again = _audit(path, cache=ResultCache(cache_dir))
    assert again.work == {"jobs": 4, "analysed": 0, "reused": 4}
    assert _meta(again) == _meta(first)
    # A corrupt entry is ignored and rewritten.
    entries = sorted(cache_dir.rglob("*.json"))
    assert len(entries) == 4
    victim = entries[0]
    victim.write_text("{ half an entr", encoding="utf-8")
    cache = ResultCache(cache_dir)
    _, healed = _audit(path, cache=cache)
    assert healed.work["analysed"] == 1 and cache.corrupt == 1
    json.loads(victim.read_text(encoding="utf-8"))
    assert _meta(healed) == _meta(first)
    # Another tolerance re-judges cached estimates instead of analysing again.
    strict = AuditOptions(estimator="baseline", tolerance=first.options.tolerance.__class__(1, 1))
    _, judged = _audit(path, cache=ResultCache(cache_dir), options=strict)
    assert judged.work["reused"] == 4
    assert [r.offset_ms for r in judged.results] == [r.offset_ms for r in first.results]
    # Another search range is another analysis.
    wider = AuditOptions(estimator="baseline", search_ms=1500)
    assert _audit(path, cache=ResultCache(cache_dir), options=wider)[1].work["reused"] == 0


def test_cache_sees_a_changed_media_file(media: Path, tmp_path: Path) -> None:
    """Same path, same size, new content (a re-render): the head hash differs."""
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(media, folder)
    path = folder / "scale.otio"
    cache_dir = tmp_path / "cache"
    _audit(path, cache=ResultCache(cache_dir))
    one = sorted(folder.rglob("scale_01*.mp4"))[0]
    stat = one.stat()
    data = bytearray(one.read_bytes())
    data[100:104] = b"\x00\x01\x02\x03" if data[100:104] != b"\x00\x01\x02\x03" else b"zzzz"
    one.write_bytes(bytes(data))
    os.utime(one, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even the time is unchanged
    _, after = _audit(path, cache=ResultCache(cache_dir))
    # Clip 1's picture and sound, and the sound its neighbours hear within the search range.
    assert after.work == {"jobs": 4, "analysed": 3, "reused": 1}


def test_audit_after_fix_redoes_only_the_slipped_sounds(media: Path, tmp_path: Path) -> None:
    from otio_avsync.fix import apply_fixes

    cache_dir = tmp_path / "cache"
    tl, first = _audit(media / "scale.otio", cache=ResultCache(cache_dir))
    flagged = {r.clip_name for r in first.results if r.status is Status.OUT_OF_SYNC}
    assert len(flagged) == 2
    report = apply_fixes(tl)
    assert len(report.slipped) == len(flagged) and report.clips_changed == len(flagged)
    _, after = audit_timeline_on(tl, media, cache_dir)
    # The slipped sounds, and the jobs that hear them within the search range (±2 s around
    # 4 s clips: the neighbours): their rendered sound changed too.
    names = [r.clip_name for r in first.results]
    hit = {i for i, n in enumerate(names) if n in flagged}
    hearing = {j for i in hit for j in (i - 1, i, i + 1) if 0 <= j < len(names)}
    assert after.work == {"jobs": 4, "analysed": len(hearing), "reused": 4 - len(hearing)}
    assert all(r.status is not Status.OUT_OF_SYNC for r in after.results)


def audit_timeline_on(tl, media: Path, cache_dir: Path):
    tl.metadata.pop("otio_avsync", None)
    result = audit_timeline(tl, OPTS, base_dir=media, cache=ResultCache(cache_dir))
    return tl, result


def test_default_cache_folder(_private_result_cache: Path, monkeypatch, tmp_path: Path) -> None:
    assert default_cache_dir() == _private_result_cache  # tests never touch the user's
    monkeypatch.delenv("OTIO_AVSYNC_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    if os.name == "posix" and os.uname().sysname == "Linux":
        assert default_cache_dir() == tmp_path / "otio-avsync"


@pytest.mark.slow
def test_cli_many_timelines_one_pool(media: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    missing = tmp_path / "nope.otio"
    r = cli(
        "audit",
        str(media / "scale.otio"),
        str(media / "scale-bad.otio"),
        str(missing),
        "--out-dir",
        str(out),
        "-r",
        str(out / "season.csv"),
        "--estimator",
        "baseline",
        "--jobs",
        "2",
    )
    assert r.returncode == 2, r.stderr  # one timeline could not be read: bad input wins
    assert "nope.otio" in r.stderr and "Traceback" not in r.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "scale-bad.avsync.otio",
        "scale-bad.report.csv",
        "scale.avsync.otio",
        "scale.report.csv",
        "season.csv",
    ]
    rows = (out / "season.csv").read_text().splitlines()
    assert rows[0].startswith("timeline,clip")
    assert len(rows) == 1 + 4 + 5
    annotated = read_timeline(out / "scale-bad.avsync.otio")
    assert set(markers_per_clip(annotated).values()) == {1}
    # The same two again, cached, as JSON on stdout; flagged clips make the status 1.
    r = cli(
        "audit",
        str(media / "scale.otio"),
        str(media / "scale-bad.otio"),
        "--json",
        "--estimator",
        "baseline",
        "--out-dir",
        str(out),
    )
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert [t["timeline"] for t in doc["timelines"]] == ["scale", "scale-bad"]
    assert doc["flagged"] == sum(t["flagged"] for t in doc["timelines"]) >= 2
    assert json.loads((out / "report.json").read_text())["flagged"] == doc["flagged"]
    # -o names one output: a usage error with several timelines.
    r = cli(
        "audit", str(media / "scale.otio"), str(media / "scale-bad.otio"), "-o", str(out / "x.otio")
    )
    assert r.returncode == 2 and "--out-dir" in r.stderr


def _pool_workers() -> list[int]:
    """This process's spawned pool workers (not multiprocessing's resource tracker)."""
    me, out = os.getpid(), []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/status") as f:
                ppid = next(int(line.split()[1]) for line in f if line.startswith("PPid:"))
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read()
        except (OSError, StopIteration):
            continue
        if ppid == me and b"spawn_main" in cmd:
            out.append(int(entry))
    return out


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="finds the workers through /proc")
def test_a_killed_pool_worker_has_its_jobs_rerun(media: Path) -> None:
    import signal
    import threading
    import time

    path = media / "scale-bad.otio"
    _, serial = _audit(path, SerialExecutor())
    killed: list[int] = []
    stop = threading.Event()

    def killer() -> None:
        while not stop.is_set() and not killed:
            workers = _pool_workers()
            if workers:
                time.sleep(0.5)  # let it start a job
                os.kill(workers[0], signal.SIGKILL)
                killed.append(workers[0])
            time.sleep(0.01)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    executor = ProcessExecutor(2)
    try:
        tl, pooled = _audit(path, executor)
    finally:
        stop.set()
        thread.join(5)
    assert killed and executor.restarts >= 1
    assert _meta(pooled) == _meta(serial)
    assert set(markers_per_clip(tl).values()) == {1}


def test_ray_missing_is_one_clear_error(monkeypatch) -> None:
    import sys

    from otio_avsync.errors import AvsyncError
    from otio_avsync.execute import RayExecutor

    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with pytest.raises(AvsyncError, match=r"pip install 'otio-avsync\[ray\]'"):
        RayExecutor("auto")._connect()


def test_cache_is_safe_under_concurrent_writers(tmp_path: Path) -> None:
    """Writers of one key never leave a half-written entry for a reader to see."""
    import threading

    import numpy as np

    from otio_avsync.audit import JobOutcome
    from otio_avsync.estimators.base import Estimate

    est = Estimate(12.5, 0.9, "baseline", curve_ms=np.arange(4000.0), curve_score=np.ones(4000))
    key = "ab" * 32
    seen: list[object] = []
    corrupt: list[int] = []

    def writer() -> None:
        cache = ResultCache(tmp_path)
        for _ in range(30):
            cache.put(key, JobOutcome(estimate=est))

    def reader() -> None:
        cache = ResultCache(tmp_path)
        for _ in range(60):
            seen.append(cache.get(key))
        corrupt.append(cache.corrupt)

    threads = [threading.Thread(target=f) for f in (writer, writer, reader, reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert corrupt == [0, 0]
    hits = [o for o in seen if o is not None]
    assert hits and all(o.estimate.offset_ms == 12.5 for o in hits)
    assert list(tmp_path.rglob(".tmp-*")) == []  # no temporary files left behind
