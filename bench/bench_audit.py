"""Audit throughput against pure decoding of the same frames, and peak memory.

    python bench/bench_audit.py [--clips 3] [--seconds 10] [--width 1920 --height 1080]

Generates 1080p H.264/AAC clips (cached in bench/out/), then in one process, after
one untimed pass of the first clip through both (one-time set-up, printed apart):
decodes exactly the frames and sound the audit reads (no scaling, no analysis),
and runs the audit of the same clips. Prints both times, their ratio, where the
audit's time went, and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np

from otio_avsync.audit import AuditOptions, audit_timeline
from otio_avsync.decode import iter_video_frames, read_audio
from otio_avsync.estimators import ESTIMATORS, get_estimator
from otio_avsync.jobs import build_jobs
from otio_avsync.render import file_time, probe_media
from otio_avsync.single import timeline_for_media
from otio_avsync.testmedia import ClipSpec, make_clip

OUT = Path(__file__).resolve().parent / "out"


def decode_frames(path: Path, search_ms: float) -> int:
    """Decode the frames and sound an audit of ``path`` reads; return the frame count."""
    frames = 0
    info = probe_media(path)
    jobs = build_jobs(timeline_for_media(path), probe=probe_media, audio_pad_s=search_ms / 1000)
    for job in jobs:
        start = file_time(job.picture, info)
        frames += sum(1 for _ in iter_video_frames(path, start, job.span_duration_s))
        for span in job.sound:
            read_audio(
                path,
                file_time(span, info),
                span.duration_s,
                rate=16000,
                stream_index=span.stream_index,
            )
    return frames


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    ap.add_argument("--estimator", default="attention", choices=list(ESTIMATORS))
    ap.add_argument(
        "--media",
        nargs="+",
        type=Path,
        help="real files (talking faces, say) to audit instead of generated clips;"
        " their sound is taken as in sync",
    )
    args = ap.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    paths, offsets = [], []
    t0 = time.perf_counter()
    if args.media:
        paths, offsets = list(args.media), [0.0] * len(args.media)
        args.clips = len(paths)
        args.seconds = sum(probe_media(p).video.duration_s or 0.0 for p in paths) / len(paths)
    for i in range(0 if args.media else args.clips):
        offset = [0.0, 120.0, -80.0, 200.0][i % 4]
        path = OUT / f"bench_{args.width}x{args.height}_{args.seconds:g}s_{i}.mp4"
        if not path.exists():
            make_clip(
                path,
                ClipSpec(
                    duration_s=args.seconds,
                    width=args.width,
                    height=args.height,
                    offset_ms=offset,
                    seed=100 + i,
                ),
            )
        paths.append(path)
        offsets.append(offset)
    print(
        f"media: {args.clips} x {args.seconds:g} s H.264 {args.width}x{args.height} "
        f"(generated/cached in {time.perf_counter() - t0:.1f} s)"
    )

    options = AuditOptions(estimator=args.estimator)
    t0 = time.perf_counter()
    estimator = get_estimator(args.estimator)  # loaded once, outside the timings
    load_s = time.perf_counter() - t0
    # One clip through both paths first, untimed: what a process pays once (the
    # decoder's and the network's first-call set-up) is reported on its own line,
    # so that the timings below are the per-clip cost of an audit of many clips.
    t0 = time.perf_counter()
    audit_timeline(timeline_for_media(paths[0]), options, estimator=estimator)
    warm_s = time.perf_counter() - t0
    for key in getattr(estimator, "timings", {}):
        estimator.timings[key] = 0.0
    # Pure decoding of the same frames and sound the audit reads.
    decode_frames(paths[0], options.search_ms)  # untimed, as for the audit
    t0 = time.perf_counter()
    frames = sum(decode_frames(path, options.search_ms) for path in paths)
    decode_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    errors = []
    timings = {"decode_s": 0.0, "estimate_s": 0.0}
    for path, offset in zip(paths, offsets, strict=True):
        result = audit_timeline(timeline_for_media(path), options, estimator=estimator)
        for r in result.results:
            # An exact 0.0 is an answer; only a missing offset counts as none.
            errors.append(np.nan if r.offset_ms is None else abs(r.offset_ms - offset))
        for k, v in result.timings.items():
            timings[k] += v
    audit_s = time.perf_counter() - t0

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"one-time      : {load_s:7.2f} s loading, {warm_s:.2f} s first clip (untimed)")
    print(f"pure decoding : {decode_s:7.2f} s  ({frames} frames, {frames / decode_s:.0f} fps)")
    print(
        f"audit         : {audit_s:7.2f} s  (decode+scale {timings['decode_s']:.2f} s, "
        f"estimator {timings['estimate_s']:.2f} s)"
    )
    print(
        f"ratio audit/decoding: {audit_s / decode_s:.2f}x; "
        f"realtime factor: {args.clips * args.seconds / audit_s:.1f}x"
    )
    print(f"estimator share of audit: {timings['estimate_s'] / audit_s:.1%}")
    parts = getattr(estimator, "timings", None)
    if parts:
        print(
            "estimator parts: "
            + ", ".join(
                f"{k[:-2]} {v:.2f} s ({v / decode_s:.1%} of pure decoding)"
                for k, v in parts.items()
            )
        )
    print(f"peak memory (max RSS): {peak_mb:.0f} MB")
    print(f"abs error vs baked offset (ms): {np.round(errors, 1).tolist()}")


if __name__ == "__main__":
    main()
