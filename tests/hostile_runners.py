"""Builders, runners and checks for the hostile-input cases (``hostile_cases``)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import opentimelineio as otio
from hostile_corpus import (
    BASELINE,
    Kit,
    Run,
    cli_env,
    invoke,
    picture,
    save,
    spawn,
    timeline,
)

from otio_avsync import METADATA_KEY

# -- small builders ----------------------------------------------------------------------


def _one(kit: Kit, folder: Path, media: str, *, name: str = "shot", **kw: object) -> Path:
    """A one-clip timeline of a kit file (its own sound: no audio track)."""
    return save(timeline(picture(name, str(kit[media]), **kw)), folder / "cut.otio")


def _audit(*extra: str, media: str = "flash.mkv", name: str = "shot", **kw: object):
    """prepare(): audit a one-clip timeline of ``media`` with --json and the baseline."""

    def prepare(kit: Kit, folder: Path) -> list[str]:
        return ["audit", str(_one(kit, folder, media, name=name, **kw)), "--json", *extra]

    return prepare


def _flash_cut(kit: Kit, folder: Path) -> Path:
    return _one(kit, folder, "flash.mkv")


def _args(*args: str, cut: bool = True):
    """prepare(): ``args`` with {cut} for a timeline of the in-sync clip, {k:NAME} for kit files."""

    def prepare(kit: Kit, folder: Path) -> list[str]:
        out = []
        for a in args:
            if a == "{cut}":
                a = str(_flash_cut(kit, folder))
            elif a.startswith("{k:"):
                a = str(kit[a[3:-1]])
            out.append(a)
        return out

    return prepare


def _timecoded(media: str, rate: float, tc: str):
    """EDL-style: no available_range; the clip starts 0.4 s after the file's start timecode."""

    def prepare(kit: Kit, folder: Path) -> list[str]:
        start = otio.opentime.from_timecode(tc, rate) + otio.opentime.from_seconds(0.4, rate)
        clip = otio.schema.Clip(
            name="tc",
            media_reference=otio.schema.ExternalReference(target_url=str(kit[media])),
            source_range=otio.opentime.TimeRange(
                start.round(), otio.opentime.from_seconds(3.0, rate).round()
            ),
        )
        return ["audit", str(save(timeline(clip), folder / "cut.otio")), "--json", *BASELINE]

    return prepare


def _nested(kit: Kit, folder: Path) -> list[str]:
    tl = otio.schema.Timeline(name="deep")
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    tl.tracks.append(v1)
    inner: otio.core.Composition = v1
    for _ in range(1500):
        stack = otio.schema.Stack()
        inner.append(stack)
        inner = stack
    inner.append(picture("deep", str(kit["flash.mkv"])))
    return ["audit", str(save(tl, folder / "cut.otio")), "--json", *BASELINE]


def _named(*names: str, report: str | None = None):
    """prepare(): a timeline of in-sync clips with hostile names, table output."""

    def prepare(kit: Kit, folder: Path) -> list[str]:
        clips = [picture(n, str(kit["flash.mkv"])) for n in names]
        args = ["audit", str(save(timeline(*clips), folder / "cut.otio")), *BASELINE]
        return args + (["--report", str(folder / report)] if report else [])

    return prepare


def _audited(
    kit: Kit, folder: Path, meta: object, *, name: str = "shot", fix: object = None
) -> Path:
    """An audited-looking timeline (metadata written by hand: no decoding)."""
    pic = picture(name, str(kit["flash.mkv"]))
    snd = picture("snd", str(kit["flash.mkv"]))
    pic.metadata[METADATA_KEY] = meta
    if fix is not None:
        snd.metadata[METADATA_KEY] = {"fix": fix}
    tl = timeline(pic, sound=[snd])
    tl.metadata[METADATA_KEY] = {"summary": {"out_of_sync": 1}, "audited_at": "x"}
    return save(tl, folder / "audited.otio")


GOOD = {
    "status": "out_of_sync",
    "offset_ms": 120.0,
    "audio_source": {"kind": "track", "track": "A1"},
}


def _fix(meta: object, *extra: str, fix: object = None, name: str = "shot"):
    def prepare(kit: Kit, folder: Path) -> list[str]:
        path = _audited(kit, folder, meta, name=name, fix=fix)
        return ["fix", str(path), "-o", str(folder / "fixed.otio"), *extra]

    return prepare


def _two_fix(kit: Kit, folder: Path) -> list[str]:
    good = picture("good", str(kit["flash.mkv"]))
    bad = picture("bad", str(kit["flash.mkv"]), start_s=0.0, dur_s=0.5)
    good.metadata[METADATA_KEY] = dict(GOOD)
    bad.metadata[METADATA_KEY] = {"status": "out_of_sync", "sources": "oops"}
    snd = picture("snd", str(kit["flash.mkv"]), dur_s=3.5, start_s=0.0)
    tl = timeline(bad, good, sound=[snd])
    tl.metadata[METADATA_KEY] = {"summary": {"out_of_sync": 2}, "audited_at": "x"}
    return ["fix", str(save(tl, folder / "audited.otio")), "-o", str(folder / "fixed.otio")]


# -- custom runners ----------------------------------------------------------------------


def _sigint(kit: Kit, folder: Path, args: list[str]) -> Run:
    proc = spawn(args, folder)
    time.sleep(4.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return Run(proc.returncode, out, err)


def _interrupted_cleanly(folder: Path, run: Run) -> str:
    made = list((folder / "out").iterdir())
    if run.rc == 130 and made:
        return f"interrupted, yet wrote {made}"
    if run.rc != 130 and not (folder / "out" / "cut.otio").is_file():
        return "finished without writing -o"
    return ""


def _broken_pipe(kit: Kit, folder: Path, args: list[str]) -> Run:
    proc = spawn(args, folder)
    assert proc.stdout is not None
    proc.stdout.close()  # the reader goes away before any output (`| head -0`)
    err = proc.stderr.read() if proc.stderr else ""
    proc.wait(timeout=120)
    return Run(proc.returncode, "", err)


def _crash(debug: bool):
    """A bug inside the audit: exit 2 with one line (the traceback only under --debug)."""

    def runner(kit: Kit, folder: Path, args: list[str]) -> Run:
        import otio_avsync.audit as audit

        def boom(*_a: object, **_k: object) -> None:
            raise RuntimeError("simulated bug")

        saved = audit.audit_timelines  # what the CLI runs, for one timeline or many
        audit.audit_timelines = boom
        try:
            run = invoke((["--debug"] if debug else []) + args, folder)
        finally:
            audit.audit_timelines = saved
            os.environ.pop("OTIO_AVSYNC_DEBUG", None)
        if debug:  # the traceback is wanted here: say so, and hide it from the generic check
            ok = "Traceback" in run.err and "simulated bug" in run.err
            run.err = run.err.replace("Traceback", "traceback") + ("" if ok else " NO-TRACEBACK")
        return run

    return runner


def _hook(args_map: dict[str, str]):
    """The OTIO hook inside a host program: an OTIO error it can catch, never SystemExit."""

    def runner(kit: Kit, folder: Path, args: list[str]) -> Run:
        from otio_avsync.errors import AvsyncError

        try:
            otio.adapters.read_from_file(args[0], hook_function_argument_map=args_map)
        except otio.exceptions.OTIOError as exc:
            return Run(2 if isinstance(exc, AvsyncError) else 5, "", str(exc))
        except SystemExit:
            return Run(99, "", "SystemExit inside OTIO")
        return Run(0, "", "")

    return runner


def _report_adapter(fmt: str):
    def runner(kit: Kit, folder: Path, args: list[str]) -> Run:
        tl = otio.adapters.read_from_file(args[0])
        try:
            otio.adapters.write_to_string(tl, "avsync_report", format=fmt)
        except otio.exceptions.OTIOError as exc:
            return Run(2, "", f"{type(exc).__mro__[2].__name__}: {exc}")
        return Run(0, "", "")

    return runner


def _otioconvert(extra: list[str]):
    def runner(kit: Kit, folder: Path, args: list[str]) -> Run:
        import sys

        cmd = [sys.executable, "-m", "opentimelineio.console.otioconvert", "-i", args[0], *extra]
        proc = subprocess.run(
            cmd, cwd=folder, env=cli_env(), capture_output=True, text=True, timeout=300
        )
        return Run(2 if proc.returncode else 0, proc.stdout, proc.stderr)

    return runner


def _stale_temp(kit: Kit, folder: Path) -> list[str]:
    stale = folder / ".avsync-tmp-999999999-dead"  # a write killed by SIGKILL left this
    stale.mkdir()
    (stale / "cut.otio").write_text("")
    return ["audit", str(_flash_cut(kit, folder)), "-o", str(folder / "out.otio"), *BASELINE, "-q"]


def _no_stale(folder: Path, run: Run) -> str:
    return (
        "the stale temporary is still there"
        if (folder / ".avsync-tmp-999999999-dead").exists()
        else ""
    )


def _fifo_timeline(kit: Kit, folder: Path) -> list[str]:
    os.mkfifo(folder / "pipe.mp4")
    return [
        "audit",
        str(save(timeline(picture("pipe", str(folder / "pipe.mp4"))), folder / "cut.otio")),
        "--json",
    ]


def _fifo_check(kit: Kit, folder: Path) -> list[str]:
    os.mkfifo(folder / "pipe.mp4")
    return ["check", str(folder / "pipe.mp4")]


def _csv_clean(folder: Path, run: Run) -> str:
    import csv

    rows = list(csv.DictReader((folder / "r.csv").open(encoding="utf-8")))
    bad = [r["clip"] for r in rows if r["clip"][:1] in "=+-@\t\r"]
    return f"formula cells written raw: {bad}" if bad else ""


def _text_has(*needles: str):
    def check(folder: Path, run: Run) -> str:
        missing = [n for n in needles if n not in run.out]
        return f"not shown verbatim: {missing}" if missing else ""

    return check


def _no_forged_line(folder: Path, run: Run) -> str:
    forged = [line for line in run.out.splitlines() if line.startswith("slipped      forged")]
    return f"a name forged an output line: {forged}" if forged else ""


def _json_counts(flagged: int):
    def check(folder: Path, run: Run) -> str:
        import json

        doc = json.loads(run.out)
        return "" if doc["flagged"] == flagged else f"JSON flagged {doc['flagged']} != {flagged}"

    return check


def _written_timeline(name: str):
    def check(folder: Path, run: Run) -> str:
        try:
            tl = otio.adapters.read_from_file(str(folder / name))
        except Exception as exc:
            return f"{name} cannot be read back: {exc}"
        clips = list(tl.find_clips())
        return "" if clips and METADATA_KEY in clips[0].metadata else f"{name} lacks the results"

    return check


def _not_written(name: str):
    def check(folder: Path, run: Run) -> str:
        return f"{name} was written after a usage error" if (folder / name).exists() else ""

    return check


def _mkdir_then(prepare_args):
    def prepare(kit: Kit, folder: Path) -> list[str]:
        (folder / "out").mkdir()
        return prepare_args(kit, folder)

    return prepare


def _w(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _warp(kit: Kit, folder: Path) -> list[str]:
    clip = picture("shot", str(kit["flash.mkv"]))
    clip.effects.append(otio.schema.LinearTimeWarp(time_scalar=2.0))
    return ["audit", str(save(timeline(clip), folder / "cut.otio")), "--json"]
