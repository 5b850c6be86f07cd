"""Ray: a local instance with two workers gives the local run's results, survives a killed worker.

Needs the ``ray`` extra (``pip install 'otio-avsync[ray]'``; the ``test`` extra has it).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from scalemedia import markers_per_clip, scale_timeline, with_bad_media

from otio_avsync.audit import AuditOptions, audit_timeline
from otio_avsync.execute import RayExecutor, SerialExecutor
from otio_avsync.results import Status
from otio_avsync.timeline_io import read_timeline

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'otio-avsync[ray]'")

OPTS = AuditOptions(estimator="baseline")


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ray-media")
    scale_timeline(folder)
    return with_bad_media(folder)


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray with two worker CPUs; workers import this checkout's package."""
    root = str(Path(__file__).resolve().parents[1])
    env = {
        k: os.environ[k] for k in ("OTIO_PLUGIN_MANIFEST_PATH", "OTIO_DISABLE_ENTRYPOINTS_PLUGINS")
    }
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    # On two busy cores Ray's node can take longer than its default minute to start.
    os.environ.setdefault("RAY_raylet_start_wait_time_s", "180")
    for attempt in (1, 2):
        try:
            ray.init(
                num_cpus=2,
                include_dashboard=False,
                logging_level="ERROR",
                log_to_driver=False,
                object_store_memory=80 * 1024 * 1024,
                runtime_env={"env_vars": env},
            )
            break
        except Exception as exc:  # Ray's own start-up failure (not ours): retry, then say so
            ray.shutdown()
            if attempt == 2:
                pytest.skip(f"a local Ray could not start on this machine: {exc}")
    yield ray
    ray.shutdown()


def _audit(path: Path, executor):
    tl = read_timeline(path)
    return tl, audit_timeline(tl, OPTS, base_dir=path.parent, executor=executor)


def _meta(result) -> list[dict]:
    return [r.to_metadata() for r in result.results]


def test_ray_results_equal_the_local_run(local_ray, media: Path) -> None:
    _, local = _audit(media, SerialExecutor())
    tl, remote = _audit(media, RayExecutor())
    assert _meta(remote) == _meta(local)
    broken = remote.results[-1]
    assert broken.clip_name == "broken" and broken.status is Status.ERROR  # per clip, no crash
    assert "cannot be decoded" in broken.message
    assert remote.work == {"jobs": 5, "analysed": 5, "reused": 0}
    assert set(markers_per_clip(tl).values()) == {1}


def _ray_task_pids(name: str = "work") -> list[int]:
    """Ray worker processes running our task right now (Ray titles them ``ray::work``)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        if cmd.startswith(f"ray::{name}"):
            pids.append(int(entry))
    return pids


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="finds Ray's workers through /proc")
def test_a_worker_killed_mid_run_loses_nothing(local_ray, media: Path) -> None:
    _, local = _audit(media, SerialExecutor())
    killed: list[int] = []
    stop = threading.Event()

    def killer() -> None:
        while not stop.is_set() and not killed:
            for pid in _ray_task_pids():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                break
            time.sleep(0.005)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        tl, remote = _audit(media, RayExecutor(max_retries=3))
    finally:
        stop.set()
        thread.join(5)
    assert killed, "no Ray worker was caught running a job"
    assert _meta(remote) == _meta(local)  # the killed job was rerun, nothing lost
    assert len(remote.results) == len(local.results)
    assert set(markers_per_clip(tl).values()) == {1}  # and nothing doubled
