"""Scaling figures: the local pool, the result cache, and memory on a long timeline.

    python bench/bench_scale.py [--clips 40] [--memory-clips 1000] [--estimator attention]

Runs the command line as a user would (a fresh interpreter per run) on generated
media (cached in bench/out/scale/):

1. a ``--clips``-clip timeline of 1080p H.264/AAC media (three sounds out of sync,
   the rest within a frame): ``--jobs 1`` against ``--jobs 2`` without the cache,
   wall time and speed-up, and whether the two reports are identical;
2. the same timeline through the cache: first audit, an unchanged re-audit
   (time as a share of the first), then ``fix`` and a re-audit of the fixed
   timeline: how many jobs were analysed again, and which;
3. peak resident memory (the CLI process and its workers together, sampled from
   /proc) of a ``--memory-clips``-clip audit with ``--jobs 2`` and no cache, on
   small media (10 files, each used by many clips).

The machine's cores are shared with other work: timings are noisy, so the run
prints the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import opentimelineio as otio

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "scale"
#: Frames late per clip: in sync (0, ±1) except three.
FLAGGED = {7: 6, 19: -4, 31: 8}


def _env() -> dict[str, str]:
    manifest = ROOT / "otio_avsync" / "plugin_manifest" / "plugin_manifest.json"
    return dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        OTIO_PLUGIN_MANIFEST_PATH=str(manifest),
        OTIO_DISABLE_ENTRYPOINTS_PLUGINS="1",
    )


#: CPU seconds (user + system, the CLI and its workers) of the last :func:`cli` run.
LAST_CPU = [0.0]


def _children_cpu() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def cli(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run ``otio-avsync ARGS``; returns (wall seconds, finished process)."""
    t0, c0 = time.perf_counter(), _children_cpu()
    proc = subprocess.run(
        [sys.executable, "-m", "otio_avsync", *args], capture_output=True, text=True, env=_env()
    )
    elapsed = time.perf_counter() - t0
    LAST_CPU[0] = _children_cpu() - c0
    if proc.returncode not in (0, 1):
        sys.exit(f"otio-avsync {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed, proc


def make_hd_timeline(clips: int) -> Path:
    from otio_avsync.testmedia import make_slipped_timeline

    folder = OUT / f"hd{clips}"
    path = folder / "hd.otio"
    if not path.exists():
        slips = [FLAGGED.get(i, (0, 1, -1)[i % 3]) for i in range(clips)]
        print(f"generating {clips} 1080p clips in {folder} (once) ...", flush=True)
        make_slipped_timeline(
            folder, slips, clip_s=6.0, handle_s=0.6, seed=21, name="hd", size=(1920, 1080)
        )
    return path


def make_long_timeline(clips: int) -> Path:
    """``clips`` picture clips over 10 small media files (320x180, 4 s)."""
    from otio_avsync.testmedia import make_slipped_timeline

    folder = OUT / "small"
    base = folder / "small.otio"
    if not base.exists():
        make_slipped_timeline(
            folder, [0, 1, -1, 2, 0, 3, -2, 0, 1, 5], clip_s=4.0, handle_s=0.6, seed=5, name="small"
        )
    path = folder / f"long{clips}.otio"
    if not path.exists():
        tl = otio.adapters.read_from_file(str(base))
        for track in tl.tracks:
            originals = list(track)
            for i in range(len(originals), clips):
                clone = originals[i % len(originals)].clone()
                clone.name = f"{clone.name}_{i:04d}"
                track.append(clone)
        otio.adapters.write_to_file(tl, str(path))
    return path


def _clips(report: str) -> list[dict]:
    return json.loads(report)["clips"]


def _reused(stderr: str) -> tuple[int, int]:
    m = re.search(r"cache: (\d+) of (\d+) job", stderr)
    if not m:
        raise RuntimeError(f"no cache line in:\n{stderr}")
    return int(m.group(1)), int(m.group(2))


def pool_and_cache(clips: int, estimator: str) -> None:
    path = make_hd_timeline(clips)
    common = ["--estimator", estimator]
    print(f"\n## {clips}-clip 1080p timeline, estimator {estimator}")
    t1, one = cli("audit", str(path), "--jobs", "1", "--no-cache", "--json", *common)
    cpu1 = LAST_CPU[0]
    t2, two = cli("audit", str(path), "--jobs", "2", "--no-cache", "--json", *common)
    cpu2 = LAST_CPU[0]
    same = _clips(one.stdout) == _clips(two.stdout)
    print(
        f"--jobs 1: {t1:6.1f} s wall, {cpu1:6.1f} s CPU ({t1 / clips:.2f} s per job, "
        "start-up included)"
    )
    print(
        f"--jobs 2: {t2:6.1f} s wall, {cpu2:6.1f} s CPU; speed-up {t1 / t2:.2f}x on "
        f"{os.cpu_count()} shared cores; reports identical: {same}"
    )

    cache = OUT / "cache"
    if cache.exists():
        import shutil

        shutil.rmtree(cache)
    audited, fixed = path.with_name("hd.audited.otio"), path.with_name("hd.fixed.otio")
    tc1, first = cli(
        "audit", str(path), "-j", "2", "--cache", str(cache), "-o", str(audited), *common
    )
    cpu_first = LAST_CPU[0]
    tc2, again = cli("audit", str(path), "-j", "2", "--cache", str(cache), *common)
    cpu_again = LAST_CPU[0]
    print(
        f"cached audit, first: {tc1:6.1f} s wall, {cpu_first:6.1f} s CPU "
        f"(reused {_reused(first.stderr)[0]})"
    )
    print(
        f"re-audit unchanged:  {tc2:6.2f} s wall = {100 * tc2 / tc1:.1f} % of the first; "
        f"{cpu_again:.2f} s CPU = {100 * cpu_again / cpu_first:.1f} % "
        f"(reused {_reused(again.stderr)[0]} of {_reused(again.stderr)[1]})"
    )
    _, fix = cli("fix", str(audited), "-o", str(fixed), "--json")
    done = json.loads(fix.stdout)
    slipped = sorted({e["clip"] for e in done.get("entries", []) if e.get("action") == "slipped"})
    refix = OUT / "after-fix.json"
    tc3, after = cli(
        "audit", str(fixed), "-j", "2", "--cache", str(cache), "-r", str(refix), *common
    )
    reused, total = _reused(after.stderr)
    print(
        f"after fix of {len(slipped)} sound(s) {slipped}: {total - reused} of {total} jobs "
        f"analysed again ({tc3:.1f} s wall); the others reused"
    )
    print(
        "  (a slipped sound is also heard by its neighbours' ±search window, so their jobs"
        " count as changed too)"
    )
    flagged = [c["clip"] for c in _clips(refix.read_text()) if c["status"] == "out_of_sync"]
    print(f"  still out of sync after the fix: {flagged or 'none'}")


def _tree_rss(root: int) -> int:
    """Resident bytes of a process and all its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        pid = int(entry)
        children.setdefault(int(fields["PPid"]), []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def memory(clips: int, estimator: str) -> None:
    path = make_long_timeline(clips)
    print(f"\n## memory: {clips}-clip audit, --jobs 2, no cache, estimator {estimator}")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "otio_avsync",
            "audit",
            str(path),
            "-j",
            "2",
            "--no-cache",
            "-q",
            "--estimator",
            estimator,
            "-r",
            str(OUT / "long.json"),
        ],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            time.sleep(0.2)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    _, err = proc.communicate()
    thread.join()
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        sys.exit(f"memory run failed ({proc.returncode}):\n{err}")
    n = len(json.loads((OUT / "long.json").read_text())["clips"])
    print(
        f"{n} results in {elapsed:.0f} s ({elapsed / n:.2f} s per job with 2 workers); "
        f"peak RSS of the CLI and its workers: {peak[0] / 2**30:.2f} GiB"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=40)
    ap.add_argument("--memory-clips", type=int, default=1000)
    ap.add_argument("--estimator", default="attention")
    ap.add_argument("--skip-pool", action="store_true", help="only the memory run")
    ap.add_argument("--skip-memory", action="store_true", help="no memory run")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {os.getloadavg()}; cores: {os.cpu_count()} (shared: noisy)")
    if not args.skip_pool:
        pool_and_cache(args.clips, args.estimator)
    if not args.skip_memory:
        memory(args.memory_clips, args.estimator)
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
