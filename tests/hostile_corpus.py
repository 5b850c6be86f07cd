"""The hostile-input corpus: a new user's bad day, generated here, run as tests and as a bench.

Every case builds its input in a folder of its own (from shared generated media:
tiny 160x90 clips of a few seconds made by :mod:`otio_avsync.testmedia`, no
downloads), runs the command line (in this interpreter, or as a real process for
signals and pipes) and is *handled cleanly* when:

- the exit status is the one expected (0 in sync, 1 flagged, 3 not everything
  checked, 2 usage error or bug; 130 interrupted);
- no traceback is printed, and the output says what happened (``expect``);
- every input file is byte for byte unchanged and no file appears that the case
  did not ask for (no stray temporaries);
- no clip whose truth is unknown or whose media is damaged is reported
  ``in_sync`` or ``out_of_sync`` with a confidence above 0.5.

``tests/test_hostile.py`` runs each case as a test; ``bench/bench_hostile.py`` runs
them all and prints how many were handled cleanly.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import opentimelineio as otio

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ("--estimator", "baseline")
TEMP_MARK = "/.avsync-tmp-"


# -- shared media ------------------------------------------------------------------------


@dataclass
class Kit:
    """Generated media shared by every case (read-only for the cases)."""

    folder: Path
    files: dict[str, Path] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Path:
        return self.files[name]


def make_kit(folder: Path) -> Kit:
    """Tiny clips: talking, flashing, silent, still, without sound, sound only,
    timecoded at three rates, and damaged copies (cut short, garbage, empty)."""
    from otio_avsync.testmedia import ClipSpec, make_clip

    folder.mkdir(parents=True, exist_ok=True)
    kit = Kit(folder)
    base = ClipSpec(duration_s=4.0, width=160, height=90, scene="flash", seed=41, container="mkv")
    specs = {
        "flash.mkv": base,
        "flash.mp4": replace(base, container="mp4"),
        "talk.mkv": replace(base, scene="mouth", seed=42),
        "late.mkv": replace(base, seed=43, offset_ms=320.0),
        "silent.mkv": replace(base, seed=44, silent=True),
        "still.mkv": replace(base, seed=45, still=True),
        "mute.mkv": replace(base, seed=46, languages=()),
        "sound.mkv": replace(base, seed=47, video=False),
        "tc25.mov": replace(base, container="mov", timecode="01:00:00:00"),
        "tc23976.mov": replace(
            base, container="mov", fps=Fraction(24000, 1001), timecode="01:00:00:00"
        ),
        "tc2997df.mov": replace(
            base, container="mov", fps=Fraction(30000, 1001), timecode="01:00:00;00"
        ),
    }
    for name, spec in specs.items():
        kit.files[name] = make_clip(folder / name, spec).path
    kit.files["talk_vfr.mkv"] = vfr_copy(kit["talk.mkv"], folder / "talk_vfr.mkv")
    talk = kit["talk.mkv"].read_bytes()
    for pct in (10, 40):
        kit.files[f"talk_cut{pct}.mkv"] = _write(
            folder / f"talk_cut{pct}.mkv", talk[: len(talk) * pct // 100]
        )
    mp4 = kit["flash.mp4"].read_bytes()
    kit.files["flash_cut50.mp4"] = _write(folder / "flash_cut50.mp4", mp4[: len(mp4) // 2])
    kit.files["garbage.mp4"] = _write(folder / "garbage.mp4", os.urandom(20000))
    kit.files["empty.mp4"] = _write(folder / "empty.mp4", b"")
    return kit


def vfr_copy(src: Path, dst: Path, seed: int = 1) -> Path:
    """A variable-frame-rate copy of ``src``: frames held 20 to 42 ms at random, sound as is.

    Each output frame shows the source frame on screen at its time, so the copy is
    in sync within one source frame (sample and hold: the picture is at most 40 ms late).
    """
    import av
    import numpy as np

    with av.open(str(src)) as inp:
        frames = [(float(f.time), f.to_ndarray(format="rgb24")) for f in inp.decode(video=0)]
    with av.open(str(src)) as inp:
        sound = list(inp.decode(audio=0))
    height, width = frames[0][1].shape[:2]
    rng = np.random.default_rng(seed)
    with av.open(str(dst), "w", format="matroska") as out:
        video = out.add_stream("libx264", rate=1000)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.time_base = Fraction(1, 1000)
        audio = out.add_stream("aac", rate=sound[0].sample_rate)
        times = np.array([t for t, _ in frames])
        t, end = 0.0, frames[-1][0] + 0.04
        while t < end:
            i = max(0, int(np.searchsorted(times, t + 1e-9)) - 1)
            frame = av.VideoFrame.from_ndarray(frames[i][1], format="rgb24")
            frame.pts, frame.time_base = round(t * 1000), Fraction(1, 1000)
            out.mux(video.encode(frame))
            t += float(rng.choice([0.02, 1 / 30, 0.04, 1 / 24]))
        out.mux(video.encode(None))
        for f in sound:
            f.pts = None
            out.mux(audio.encode(f))
        out.mux(audio.encode(None))
    return dst


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# -- timelines ---------------------------------------------------------------------------


def rt(seconds: float, rate: float) -> otio.opentime.RationalTime:
    return otio.opentime.from_seconds(seconds, rate).round()


def tr(start_s: float, dur_s: float, rate: float) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(rt(start_s, rate), rt(dur_s, rate))


def picture(
    name: str,
    url: str | None,
    *,
    start_s: float = 0.5,
    dur_s: float = 3.0,
    rate: float = 25.0,
    available: otio.opentime.TimeRange | str | None = "auto",
) -> otio.schema.Clip:
    """A picture clip of ``url`` (None: a MissingReference); ``available`` "auto" = 0..4 s."""
    if url is None:
        ref: otio.core.MediaReference = otio.schema.MissingReference()
    else:
        rng = tr(0.0, 4.0, rate) if available == "auto" else available
        ref = otio.schema.ExternalReference(target_url=url, available_range=rng)
    return otio.schema.Clip(name=name, media_reference=ref, source_range=tr(start_s, dur_s, rate))


def timeline(
    *clips: otio.schema.Clip, sound: list[otio.schema.Clip] | None = None, name: str = "hostile"
) -> otio.schema.Timeline:
    tl = otio.schema.Timeline(name=name)
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    for c in clips:
        v1.append(c)
    tl.tracks.append(v1)
    if sound is not None:
        a1 = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
        for c in sound:
            a1.append(c)
        tl.tracks.append(a1)
    return tl


def save(tl: otio.schema.Timeline, path: Path) -> Path:
    otio.adapters.write_to_file(tl, str(path))
    return path


# -- running -----------------------------------------------------------------------------


@dataclass
class Run:
    rc: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def invoke(args: list[str], cwd: Path) -> Run:
    """The command line in this interpreter (fast: the model loads once)."""
    from otio_avsync.cli import run

    out, err = io.StringIO(), io.StringIO()
    old_argv, old_cwd = sys.argv, os.getcwd()
    sys.argv = ["otio-avsync", *args]
    old_columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "250"  # a wide table: names are checked verbatim
    rc = 0
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                run()
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
            except BaseException as exc:  # a crash: recorded as one, with its traceback
                import traceback

                err.write("".join(traceback.format_exception(exc)))
                rc = -1
    finally:
        sys.argv = old_argv
        os.chdir(old_cwd)
        if old_columns is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old_columns
    return Run(rc, out.getvalue(), err.getvalue())


def cli_env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("OTIO_AVSYNC", None)
    return env


def spawn(args: list[str], cwd: Path, **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "otio_avsync", *args],
        cwd=cwd,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


# -- cases -------------------------------------------------------------------------------


@dataclass
class Case:
    """One hostile input and what clean handling of it looks like."""

    name: str
    #: prepare(kit, folder) -> the command line arguments (inputs written into folder).
    prepare: Callable[[Kit, Path], list[str]]
    rc: int | tuple[int, ...]
    #: A regular expression the output (stdout + stderr) must match: the message.
    expect: str = ""
    #: Files (relative to the case folder) the run is meant to create.
    outputs: tuple[str, ...] = ()
    #: Clip statuses the --json output must show, by clip name (a subset).
    statuses: dict[str, str | tuple[str, ...]] = field(default_factory=dict)
    #: Clips whose truth is unknown or whose media is damaged ("*" = all).
    untrusted: tuple[str, ...] = ()
    #: Custom run (signals, pipes, hooks): run(kit, folder, args) -> Run.
    runner: Callable[[Kit, Path, list[str]], Run] | None = None
    #: Extra check after the run: check(folder, run) -> a problem or "".
    check: Callable[[Path, Run], str] | None = None
    slow: bool = False


@dataclass
class Outcome:
    case: Case
    run: Run | None
    problems: list[str]
    seconds: float

    @property
    def clean(self) -> bool:
        return not self.problems


def _digest(folder: Path, kit: Kit) -> dict[str, str]:
    """Hashes of every file under the case folder and of the kit's media."""
    out = {}
    for root in (folder, kit.folder):
        for p in sorted(root.rglob("*")):
            if TEMP_MARK in str(p):  # our stale temporaries may (and should) go
                continue
            if p.is_file() and not p.is_symlink() and not p.is_fifo():
                out[str(p)] = hashlib.sha1(p.read_bytes()).hexdigest()
    return out


def _entries(folder: Path, kit: Kit) -> set[str]:
    return {str(p) for root in (folder, kit.folder) for p in root.rglob("*")}


def execute(case: Case, kit: Kit, folder: Path) -> Outcome:
    """Run one case and list every way it was not handled cleanly."""
    folder.mkdir(parents=True, exist_ok=True)
    args = case.prepare(kit, folder)
    before = _digest(folder, kit)
    listed = _entries(folder, kit)
    t0 = time.perf_counter()
    try:
        result = (case.runner or (lambda _k, f, a: invoke(a, f)))(kit, folder, args)
    except BaseException as exc:  # the case's program let something escape: a defect
        import traceback

        result = Run(-1, "", "".join(traceback.format_exception(exc)))
    seconds = time.perf_counter() - t0
    problems = []
    wanted = case.rc if isinstance(case.rc, tuple) else (case.rc,)
    if result.rc not in wanted:
        problems.append(f"exit status {result.rc}, expected {wanted}")
    if "Traceback" in result.text:
        problems.append("a traceback was printed")
    if case.expect and not re.search(case.expect, result.text, re.IGNORECASE | re.DOTALL):
        problems.append(f"no message matching {case.expect!r}")
    after = _digest(folder, kit)
    changed = [p for p, h in before.items() if after.get(p) != h]
    if changed:
        problems.append(f"input changed or removed: {changed}")
    made = {str(folder / o) for o in case.outputs}
    stray = sorted(
        p for p in _entries(folder, kit) - listed if not any(p.startswith(m) for m in made)
    )
    if stray:
        problems.append(f"stray files: {stray}")
    missing = [o for o in case.outputs if not (folder / o).exists()]
    if missing and not problems:
        problems.append(f"outputs not written: {missing}")
    problems += _verdict_problems(case, result)
    if case.check is not None:
        extra = case.check(folder, result)
        if extra:
            problems.append(extra)
    return Outcome(case, result, problems, seconds)


def _verdict_problems(case: Case, result: Run) -> list[str]:
    try:
        doc = json.loads(result.out) if result.out.lstrip().startswith("{") else None
    except json.JSONDecodeError:
        doc = None
    if doc is None:
        return ["no JSON report on stdout"] if (case.statuses or case.untrusted) else []
    problems = []
    clips = {c["clip"]: c for c in doc["clips"]}
    for name, want in case.statuses.items():
        allowed = want if isinstance(want, tuple) else (want,)
        got = clips.get(name, {}).get("status")
        if got not in allowed:
            problems.append(f"{name!r}: status {got}, expected {allowed}")
    for c in doc["clips"]:
        if (
            ("*" in case.untrusted or c["clip"] in case.untrusted)
            and c["status"]
            in (
                "in_sync",
                "out_of_sync",
            )
            and c["confidence"] > 0.5
        ):
            problems.append(
                f"{c['clip']!r}: {c['status']} at {c['confidence']:.0%} on unknown or damaged media"
            )
        if not c.get("message"):
            problems.append(f"{c['clip']!r}: no message")
    return problems
