"""Dub alignment on realistic dubs made from real speech and real beds, by bed level.

    python bench/bench_dubs.py [--media ../shared/media] [--split both] [--seeds 1]
                               [--levels=-6,-12,-18,-24,-30,none] [--estimator baseline]
                               [--no-anchors]

Per split (``tune``: the speakers and beds where thresholds were chosen; ``held``:
speakers and beds never looked at while tuning), bed level and seed, one reel
(:func:`otio_avsync.realdubs.make_real_dub_timeline`): ten real talking clips cut
back to back, the original mix as one continuous file over a continuous bed of
real non-speech recordings, and seven dub tracks of other speakers over the same
stems, each remixed another way:

====  ======================================  ==============================
dub   placement                               M&E remix
====  ======================================  ==============================
fra   every clip slipped within ±4 s          none
deu   the whole track slipped within ±9.5 s   none
ita   every clip slipped within ±4 s          EQ
spa   the whole track slipped within ±9.5 s   level rides
por   1000/1001 drift, slip within ±0.3 s     bus compressor
jpn   25/24 drift (PAL), slip within ±0.3 s   another stem balance
nld   a jump of 0.2-1.5 s after a drawn clip  all of the above
====  ======================================  ==============================

Reported per split and bed level: dub clips answered (confidence at least the
audit's threshold) and within ±1 frame of the truth, answered at all, confident
wrong answers; with no bed, every clip's message must say why it is uncertain.
Then the drift error of the drifting tracks (target within 5 %), where the
jumps were located, and the alignment's cost on a 60 s clip with ±10 s search.
Anchors on the same dub spans (each with 5 s of context, as a user would cut
them for a free tool): a plain GCC-PHAT on the ``fra`` and ``deu`` clips;
``syncstart`` and ``audio-offset-finder`` on the ``fra`` clips, where
``bench/anchors.py`` finds them installed: they need ffmpeg and a virtualenv of
their own (``$AVSYNC_ANCHOR_VENV``, default ``/work/anchors/venv``)::

    apt-get install -y ffmpeg
    python3 -m venv /work/anchors/venv
    /work/anchors/venv/bin/pip install syncstart==1.1.1 audio-offset-finder==0.5.5
``--beds music,effects`` measures music-only and effects-only beds too.

The picture estimator is ``baseline`` by default (fast; the dubs' figures do not
depend on it unless a dub shares nothing with the reference).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from fractions import Fraction
from pathlib import Path

import anchors  # bench/anchors.py: the free tools and a textbook GCC-PHAT
import numpy as np
from scipy.io import wavfile

from otio_avsync.audit import AuditOptions, audit_timeline
from otio_avsync.estimators.base import AVInput
from otio_avsync.estimators.reference import ReferenceEstimator
from otio_avsync.realdubs import DubSpec, load_audio, make_real_dub_timeline, sources_from_manifest
from otio_avsync.results import Status
from otio_avsync.timeline_io import read_timeline

ROOT = Path(__file__).resolve().parents[1]
SEARCH_S = 10.0
CONTEXT_S = 5.0
ANCHOR_TRACKS = ("fra", "deu")


def dubs(rng: np.random.Generator, clips: int) -> dict[str, DubSpec]:
    def slip(reach: float) -> float:
        return float(rng.uniform(-reach, reach))

    return {
        "fra": DubSpec(clip_slip_ms=4000.0),
        "deu": DubSpec(slip_ms=slip(9500.0)),
        "ita": DubSpec(remix="eq", clip_slip_ms=4000.0),
        "spa": DubSpec(remix="ride", slip_ms=slip(9500.0)),
        "por": DubSpec(remix="comp", slip_ms=slip(300.0), speed=Fraction(24000, 23976)),
        "jpn": DubSpec(remix="stems", slip_ms=slip(300.0), speed=Fraction(25, 24)),
        "nld": DubSpec(
            remix="all",
            slip_ms=slip(300.0),
            jump_at=int(rng.integers(3, clips - 2)),
            jump_ms=float(rng.choice([-1, 1]) * rng.uniform(200.0, 1500.0)),
        ),
    }


def anchor_rows(truth, reel_dir: Path, tools: bool, tmp: Path) -> list[tuple[str, float, dict]]:
    """Each anchor's answer on the dub spans of ``ANCHOR_TRACKS`` (5 s of context)."""
    import opentimelineio as otio

    rate = 16000
    tl = otio.adapters.read_from_file(str(truth.path))
    orig = load_audio(reel_dir / "media" / "reel_orig.wav", rate).astype(np.float32)
    rows = []
    for track in tl.tracks:
        lang = track.name.rsplit(" ", 1)[-1]
        if lang not in ANCHOR_TRACKS:
            continue
        dub = load_audio(reel_dir / "media" / f"reel_dub_{lang}.wav", rate).astype(np.float32)
        t = 0.0
        for item in track:
            dur = item.duration().to_seconds()
            if isinstance(item, otio.schema.Gap):
                t += dur
                continue
            a = item.source_range.start_time.to_seconds()
            exp = truth.expected[track.name][item.name.rsplit("_", 1)[0]]
            lo = max(0, round((a - CONTEXT_S) * rate))
            sound = dub[lo : round((a + dur + CONTEXT_S) * rate)]
            r0 = round((t - (a - lo / rate) - SEARCH_S) * rate)
            ref = orig[max(0, r0) : r0 + len(sound) + round(2 * SEARCH_S * rate)]
            if r0 < 0:
                ref = np.concatenate([np.zeros(-r0, np.float32), ref])
            got = {"GCC-PHAT": anchors.gcc_phat_lag_ms(sound, ref, rate, search_s=SEARCH_S)}
            if tools and lang == ANCHOR_TRACKS[0]:  # the slow tools: one track
                s_path, r_path = tmp / "sound.wav", tmp / "ref.wav"
                wavfile.write(s_path, rate, (sound * 32767).astype(np.int16))
                wavfile.write(r_path, rate, (ref * 32767).astype(np.int16))
                ok = anchors.available()
                if ok.get("syncstart"):
                    got["syncstart"] = anchors.syncstart_lag_ms(s_path, r_path, search_s=SEARCH_S)
                if ok.get("audio_offset_finder"):
                    got["audio-offset-finder"] = anchors.audio_offset_finder_lag_ms(
                        s_path, r_path, search_s=SEARCH_S
                    )
            rows.append((track.name, exp, got))
            t += dur
    return rows


def cost_60s(reel_dir: Path) -> float:
    """Median seconds to align 60 s of a dub (with 3 s handles) against ±10 s of reference."""
    rate = 16000
    orig = load_audio(reel_dir / "media" / "reel_orig.wav", rate).astype(np.float32)
    dub = load_audio(reel_dir / "media" / "reel_dub_deu.wav", rate).astype(np.float32)
    n = min(len(orig), len(dub))
    if n < 90 * rate:  # a short reel: loop it to reach 60 s + search
        reps = int(np.ceil(90 * rate / n))
        orig, dub = np.tile(orig[:n], reps), np.tile(dub[:n], reps)
    h = 3.0
    sound = dub[round(13 * rate) : round((13 + 60 + 2 * h) * rate)]
    ref = orig[round((13 + h - SEARCH_S - h) * rate) : round((13 + h + 60 + SEARCH_S + h) * rate)]
    av = AVInput(
        frames=np.zeros((0, 1, 1), np.uint8),
        frame_times=np.zeros(0),
        fps=25.0,
        audio=sound,
        rate=rate,
        audio_start_s=-h,
        duration_s=60.0,
        reference=ref,
        reference_start_s=-SEARCH_S - h,
    )
    est = ReferenceEstimator()
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        est.estimate(av, search_ms=SEARCH_S * 1000)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--media", type=Path, default=ROOT.parent / "shared" / "media")
    ap.add_argument("--split", choices=("tune", "held", "both"), default="both")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--levels", default="-6,-12,-18,-24,-30,none")
    ap.add_argument("--estimator", default="baseline")
    ap.add_argument("--beds", default="mix", help="bed kinds, comma-separated: mix, music, effects")
    ap.add_argument("--no-anchors", action="store_true")
    ap.add_argument(
        "--anchors-only", action="store_true", help="run only the anchors (no audit), for speed"
    )
    args = ap.parse_args()
    if not (args.media / "manifest.json").is_file():
        print(f"no real media at {args.media}: pass --media FOLDER", file=sys.stderr)
        return 2
    levels = [None if x.strip() == "none" else float(x) for x in args.levels.split(",")]
    splits = ["tune", "held"] if args.split == "both" else [args.split]
    tools = not args.no_anchors
    opts = AuditOptions(estimator=args.estimator)
    frame_ms = 40.0
    table: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    anchor_hits: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    drift_rows, jump_rows, wrong_rows, silent_rows = [], [], [], []
    cost = None
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for split in splits:
            sources = sources_from_manifest(args.media, split)
            for level, bed in [(lv, b) for b in args.beds.split(",") for lv in levels]:
                label = "none" if level is None else f"{level:+.0f} dB"
                label = label if bed == "mix" else f"{label} {bed}"
                for seed in range(args.seeds):
                    rng = np.random.default_rng([seed, 77, splits.index(split)])
                    reel = tmp / f"{split}_{label.replace(' ', '')}_{seed}"
                    specs = dubs(rng, 10)
                    truth = make_real_dub_timeline(
                        reel, sources, specs, bed_db=level, bed=bed, seed=seed * 100 + len(label)
                    )
                    result = (
                        audit_timeline(read_timeline(truth.path), opts, base_dir=truth.path.parent)
                        if not args.anchors_only
                        else None
                    )
                    row = table[(split, label)]
                    for r in result.results if result else []:
                        key = r.audio_source.key()
                        if key == truth.reference_track:
                            continue
                        exp = truth.expected[key][r.clip_name]
                        answered = r.status in (Status.IN_SYNC, Status.OUT_OF_SYNC)
                        right = r.offset_ms is not None and abs(r.offset_ms - exp) <= frame_ms
                        row["clips"] += 1
                        row["answered"] += answered
                        row["right"] += answered and right
                        row["pooled"] += bool(answered and (r.reference or {}).get("pooled"))
                        if answered and not right:
                            row["wrong"] += 1
                            wrong_rows.append(
                                f"{split} {label} {key} {r.clip_name}: {r.offset_ms:+.0f} ms vs "
                                f"{exp:+.0f} ({r.confidence:.2f}, {r.method})"
                            )
                        why = ("shares no sound", "cannot be placed", "silent")
                        said = any(w in r.message for w in why)
                        if level is None and not answered and not said:
                            silent_rows.append(f"{split} {key} {r.clip_name}: {r.message}")
                    cons = {c.key: c for c in result.tracks} if result else {}
                    for key, spec in truth.cases.items():
                        c = cons.get(key)
                        if c is None:
                            continue
                        if spec.speed != 1:
                            drift_rows.append(
                                (f"{split} {label} {key}", c.drift_ppm, spec.drift_ppm, c.model)
                            )
                        if spec.jump_at is not None:
                            want = truth.clip_names[spec.jump_at]
                            got = c.jump["before_clip"] if c.jump else f"none ({c.model})"
                            jump_rows.append((f"{split} {label} {key}", want, got))
                    for _track, exp, got in anchor_rows(truth, reel, tools, tmp):
                        hits = anchor_hits[(split, label)]
                        hits["clips"] += 1
                        for name, lag in got.items():
                            hits[name] += lag is not None and abs(lag - exp) <= frame_ms
                            hits[f"{name} tried"] += 1
                    if cost is None:
                        cost = cost_60s(reel)
                    print(f"  done {split} {label} seed {seed}", file=sys.stderr, flush=True)
    _print(table, anchor_hits, drift_rows, jump_rows, wrong_rows, silent_rows, cost)
    print(f"wall {time.perf_counter() - t_start:.0f} s, picture estimator {args.estimator}")
    return 0


def _print(table, anchor_hits, drift_rows, jump_rows, wrong_rows, silent_rows, cost) -> None:
    print("\nrealistic dubs: answered and within ±1 frame (40 ms), by split and bed level")
    print(
        f"{'split':6} {'bed':14} {'clips':>5} {'right':>14} {'answered':>9} {'wrong':>5}  anchors"
    )
    for (split, label), row in table.items():
        n = max(row["clips"], 1)
        hits = anchor_hits.get((split, label), {})
        anchor_text = ", ".join(
            f"{k} {v}/{hits.get(k + ' tried', 0)}"
            for k, v in hits.items()
            if k != "clips" and not k.endswith(" tried")
        )
        print(
            f"{split:6} {label:14} {n:5d} {row['right']:5d} = {row['right'] / n:6.1%} "
            f"{row['answered'] / n:9.1%} {row['wrong']:5d}  {anchor_text}"
        )
    total = sum(r["answered"] for r in table.values())
    wrong = sum(r["wrong"] for r in table.values())
    print(f"confident wrong answers: {wrong} of {total} answered ({wrong / max(total, 1):.2%})")
    pooled = sum(r["pooled"] for r in table.values())
    print(f"answered through the track's other clips (weak on their own): {pooled}")
    for w in wrong_rows[:12]:
        print(f"  wrong: {w}")
    print(f"no-bed clips whose message does not say why: {len(silent_rows)}")
    for s in silent_rows[:5]:
        print(f"  {s}")
    for name, got, want, model in drift_rows:
        err = abs((got or 0.0) - want) / abs(want)
        print(f"drift {name}: {got or 0:+.0f} ppm vs {want:+.0f} ppm ({model}), error {err:.1%}")
    for name, want, got in jump_rows:
        print(f"jump {name}: located before {got}, true {want}: {'ok' if got == want else 'WRONG'}")
    if cost is not None:
        print(f"alignment cost, 60 s dub clip, ±10 s search (median of 5): {cost:.3f} s")


if __name__ == "__main__":
    sys.exit(main())
