"""Dub tracks on simulated dubs: reference alignment, drift, jump, and fix -> re-audit.

    python bench/bench_dubs_synthetic.py [--seeds 3] [--clips 8] [--clip-s 5] [--estimator baseline]

Synthetic dubs overstate any alignment (their "dialogue" sits on the original's
onsets): the figures that count come from ``bench/bench_dubs.py`` on realistic
dubs. This one guards the fix -> re-audit loop and the synthetic figures.

Per seed, one timeline (:func:`otio_avsync.testdubs.make_dub_timeline`) with the
original mix and eight dubs: global offsets (±5 s and three drawn within ±5 s),
drifts of 1000/1001 (1000 ppm) and 25/24 (4 %), and one jump at a drawn clip.
Reports the share of dub clips within ±1 frame of the truth (target >= 99.5 %),
the drift error against the truth (target within 10 %), where the jump was
located (target: between the right clips), and whether ``fix`` (slips only, then
slips with the speed change) brings every flagged clip back within tolerance on
re-audit. The picture estimator is ``baseline`` by default: the dubs are aligned
against the reference, which is what is measured here.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import opentimelineio as otio

from otio_avsync.audit import AuditOptions, audit_timeline
from otio_avsync.fix import apply_fixes
from otio_avsync.results import Status
from otio_avsync.testdubs import CONFORMS, DubCase, make_dub_timeline
from otio_avsync.timeline_io import read_timeline


def _cases(seed: int, clips: int) -> dict[str, DubCase]:
    rng = np.random.default_rng([seed, 404])
    drawn = rng.uniform(-5000.0, 5000.0, 3)
    return {
        "fra": DubCase(offset_ms=5000.0),
        "deu": DubCase(offset_ms=-5000.0),
        "ita": DubCase(offset_ms=float(drawn[0])),
        "nld": DubCase(offset_ms=float(drawn[1])),
        "swe": DubCase(offset_ms=float(drawn[2])),
        "spa": DubCase(speed=CONFORMS["1001"][0], offset_ms=float(rng.uniform(-300, 300))),
        "por": DubCase(speed=CONFORMS["pal"][0], offset_ms=float(rng.uniform(-300, 300))),
        "jpn": DubCase(
            offset_ms=float(rng.uniform(-200, 200)),
            jump_at=int(rng.integers(2, clips - 1)),
            jump_ms=float(rng.choice([-1, 1]) * rng.uniform(200, 1500)),
        ),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--clip-s", type=float, default=5.0)
    ap.add_argument("--estimator", default="baseline")
    args = ap.parse_args()
    opts = AuditOptions(estimator=args.estimator)
    hits = total = 0
    misses: list[str] = []
    drift_rows: list[tuple[str, float, float]] = []
    jump_rows: list[tuple[int, str, str]] = []
    fix_rows: list[tuple[str, int, int]] = []
    t_audit = t_ref = 0.0
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            cases = _cases(seed, args.clips)
            truth = make_dub_timeline(
                Path(tmp) / f"s{seed}", cases, clips=args.clips, clip_s=args.clip_s, seed=seed
            )
            frame_ms = 1000.0 / float(truth.rate)
            tl = read_timeline(truth.path)
            result = audit_timeline(tl, opts, base_dir=truth.path.parent)
            t_audit += result.elapsed_s
            t_ref += result.timings.get("reference_s", 0.0)
            for r in result.results:
                key = r.audio_source.key()
                if key == truth.reference_track:
                    continue
                total += 1
                exp = truth.expected[key][r.clip_name]
                if r.offset_ms is not None and abs(r.offset_ms - exp) <= frame_ms:
                    hits += 1
                else:
                    misses.append(f"seed {seed} {key} {r.clip_name}: {r.offset_ms} vs {exp:.1f}")
            cons = {c.key: c for c in result.tracks}
            for key, case in truth.cases.items():
                c = cons[key]
                if case.speed != 1:
                    drift_rows.append((f"seed {seed} {key}", c.drift_ppm or 0.0, case.drift_ppm))
                if case.jump_at is not None:
                    want = truth.clip_names[case.jump_at]
                    got = c.jump["before_clip"] if c.jump else f"none ({c.model})"
                    jump_rows.append((seed, want, got))
            audited = otio.adapters.write_to_string(tl)
            flagged = {
                (r.clip_name, r.audio_source.key())
                for r in result.results
                if r.status is Status.OUT_OF_SYNC
            }
            for label, speed in (("slip", False), ("slip+speed", True)):
                work = otio.adapters.read_from_string(audited)
                apply_fixes(work, apply_speed=speed)
                again = audit_timeline(work, opts, base_dir=truth.path.parent)
                now = {(r.clip_name, r.audio_source.key()): r for r in again.results}
                bad = [k for k in flagged if now[k].status is not Status.IN_SYNC]
                fix_rows.append((f"seed {seed} {label}", len(flagged), len(bad)))
    share = hits / total if total else 0.0
    print(f"dub clips within ±1 frame: {hits}/{total} = {share:.1%} (target >= 99.5 %)")
    for m in misses[:10]:
        print(f"  miss: {m}")
    for name, got, want in drift_rows:
        err = abs(got - want) / abs(want)
        print(f"drift {name}: {got:+.0f} ppm vs {want:+.0f} ppm, error {err:.1%} (target <= 10 %)")
    for seed, want, got in jump_rows:
        verdict = "ok" if got == want else "WRONG"
        print(f"jump seed {seed}: located before {got}, true {want}: {verdict}")
    for name, n, bad in fix_rows:
        print(f"fix -> re-audit {name}: {n} flagged, {n - bad} back within tolerance, {bad} not")
    print(
        f"audit time {t_audit:.1f} s (reference alignment {t_ref:.1f} s), "
        f"wall {time.perf_counter() - t0:.1f} s, estimator {args.estimator}"
    )


if __name__ == "__main__":
    main()
