"""The cases of the hostile-input corpus (see :mod:`hostile_corpus` for what "clean" means)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
from hostile_corpus import (
    BASELINE,
    Case,
    Kit,
    Run,
    cli_env,
    invoke,
    picture,
    save,
    spawn,
    timeline,
    tr,
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


_GOOD = {
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
    good.metadata[METADATA_KEY] = dict(_GOOD)
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

        saved = audit.audit_timeline
        audit.audit_timeline = boom
        try:
            run = invoke((["--debug"] if debug else []) + args, folder)
        finally:
            audit.audit_timeline = saved
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


# -- the corpus --------------------------------------------------------------------------

U = "usage|no such|not found|invalid|does not exist|cannot|refusing|not a|unknown|no otio"

CASES: list[Case] = [
    # The command line itself.
    Case("no-command", _args(), 2, r"Usage"),
    Case("unknown-command", _args("frobnicate"), 2, r"No such command"),
    Case("audit-no-timeline", _args("audit"), 2, r"Missing argument"),
    Case("timeline-missing", _args("audit", "nope.otio"), 2, r"timeline not found"),
    Case("timeline-is-folder", _args("audit", "."), 2, r"folder|directory"),
    Case(
        "timeline-garbage",
        lambda k, f: ["audit", str(_w(f / "bad.otio", b"\x00garbage{"))],
        2,
        r"cannot read timeline",
    ),
    Case(
        "timeline-empty-file",
        lambda k, f: ["audit", str(_w(f / "bad.otio", b""))],
        2,
        r"cannot read",
    ),
    Case(
        "timeline-unknown-suffix",
        lambda k, f: ["audit", str(_w(f / "cut.xyz", b"x"))],
        2,
        r"no OTIO adapter",
    ),
    Case(
        "timeline-not-a-timeline",
        lambda k, f: ["audit", str(save(otio.schema.Clip(name="c"), f / "c.otio"))],
        2,
        r"does not contain a timeline",
    ),
    Case("tolerance-zero", _args("audit", "{cut}", "--tolerance", "0,0"), 2, r"accepts no offset"),
    Case("tolerance-negative", _args("audit", "{cut}", "--tolerance", "-5,40"), 2, r"positive"),
    Case("tolerance-word", _args("audit", "{cut}", "--tolerance", "loose"), 2, r"neither a preset"),
    Case("tolerance-infinite", _args("audit", "{cut}", "--tolerance", "inf,5"), 2, r"finite"),
    Case("search-zero", _args("audit", "{cut}", "--search", "0"), 2, r"--search"),
    Case(
        "min-confidence-2", _args("audit", "{cut}", "--min-confidence", "2"), 2, r"--min-confidence"
    ),
    Case("estimator-unknown", _args("audit", "{cut}", "--estimator", "magic"), 2, r"--estimator"),
    Case("fail-on-unknown", _args("audit", "{cut}", "--fail-on", "bad"), 2, r"--fail-on"),
    Case(
        "reference-unknown",
        _args("audit", "{cut}", "--reference-track", "klingon", *BASELINE),
        2,
        r"klingon",
    ),
    # Outputs are checked before anything is decoded.
    Case("report-pdf", _args("audit", "{cut}", "--report", "r.pdf"), 2, r"report format"),
    Case(
        "report-folder-missing",
        _args("audit", "{cut}", "--report", "nope/r.json"),
        2,
        r"does not exist",
    ),
    Case("report-twice", _args("audit", "{cut}", "-r", "r.json", "-r", "./r.json"), 2, r"twice"),
    Case(
        "report-is-folder",
        _mkdir_then(_args("audit", "{cut}", "-r", "out")),
        2,
        r"is a folder|is a directory|report format",
        outputs=("out",),
    ),
    Case("report-is-input", _args("audit", "{cut}", "-r", "cut.otio"), 2, r"report format"),
    Case(
        "output-folder-missing", _args("audit", "{cut}", "-o", "nope/o.otio"), 2, r"does not exist"
    ),
    Case("output-proc", _args("audit", "{cut}", "-o", "/proc/x.otio"), 2, r"cannot write"),
    Case(
        "output-under-a-file", _args("audit", "{cut}", "-o", "cut.otio/o.otio"), 2, r"not a folder"
    ),
    Case(
        "output-is-folder",
        _mkdir_then(_args("audit", "{cut}", "-o", "out")),
        2,
        r"is a folder|is a directory",
        outputs=("out",),
    ),
    Case(
        "output-unknown-suffix",
        _args("audit", "{cut}", "-o", "o.xyz"),
        2,
        r"no OTIO adapter writes",
    ),
    Case("output-is-input", _args("audit", "{cut}", "-o", "cut.otio"), 2, r"refusing to overwrite"),
    Case(
        "bad-report-keeps-o-unwritten",
        _args("audit", "{cut}", "-o", "o.otio", "-r", "nope/r.csv"),
        2,
        r"does not exist",
        check=_not_written("o.otio"),
    ),
    Case(
        "output-otioz",
        _args("audit", "{cut}", "-o", "o.otioz", "-q", *BASELINE),
        0,
        outputs=("o.otioz",),
        check=_written_timeline("o.otioz"),
    ),
    Case(
        "output-otiod",
        _args("audit", "{cut}", "-o", "o.otiod", "-q", *BASELINE),
        0,
        outputs=("o.otiod",),
        check=_written_timeline("o.otiod"),
    ),
    Case(
        "output-upper-suffix",
        _args("audit", "{cut}", "-o", "o.OTIO", "-q", *BASELINE),
        0,
        outputs=("o.OTIO",),
    ),
    Case("stale-temporary-cleaned", _stale_temp, 0, outputs=("out.otio",), check=_no_stale),
    # check on things that are not media.
    Case("check-missing", _args("check", "nope.mp4"), 2, r"file not found"),
    Case("check-folder", _args("check", "."), 2, r"directory|folder"),
    Case("check-fifo", _fifo_check, 2, r"not a regular file"),
    Case("check-garbage", _args("check", "{k:garbage.mp4}"), 2, r"not a media file"),
    Case("check-empty", _args("check", "{k:empty.mp4}"), 2, r"not a media file|cannot"),
    Case("check-sound-only", _args("check", "{k:sound.mkv}"), 2, r"no video stream"),
    Case(
        "check-mp4-cut-short", _args("check", "{k:flash_cut50.mp4}"), 2, r"not a media file|cannot"
    ),
    Case(
        "check-audio-missing",
        _args("check", "{k:flash.mkv}", "--audio", "nope.wav"),
        2,
        r"not found",
    ),
    Case(
        "check-no-sound",
        _args("check", "{k:mute.mkv}", "--json", *BASELINE),
        3,
        statuses={"mute.mkv": "no_audio"},
    ),
    Case(
        "check-allow-unchecked",
        _args("check", "{k:mute.mkv}", "--allow-unchecked", *BASELINE),
        0,
        r"could not be checked",
    ),
    # Media a timeline points at.
    Case("in-sync", _audit(*BASELINE), 0, statuses={"shot": "in_sync"}),
    Case("sound-late", _audit(*BASELINE, media="late.mkv"), 1, statuses={"shot": "out_of_sync"}),
    Case(
        "media-missing",
        lambda k, f: [
            "audit",
            str(save(timeline(picture("gone", str(f / "gone.mp4"))), f / "cut.otio")),
            "--json",
        ],
        3,
        statuses={"gone": "media_missing"},
    ),
    Case(
        "offline-reference",
        lambda k, f: ["audit", str(save(timeline(picture("off", None)), f / "cut.otio")), "--json"],
        3,
        statuses={"off": "media_missing"},
    ),
    Case(
        "missing-allow-unchecked",
        lambda k, f: [
            "audit",
            str(save(timeline(picture("gone", str(f / "gone.mp4"))), f / "cut.otio")),
            "--allow-unchecked",
        ],
        0,
        r"1 could not be checked",
    ),
    Case(
        "fail-on-missing",
        lambda k, f: [
            "audit",
            str(save(timeline(picture("gone", "gone.mp4")), f / "cut.otio")),
            "--json",
            "--fail-on",
            "media_missing",
        ],
        1,
        statuses={"gone": "media_missing"},
        check=_json_counts(1),
    ),
    Case(
        "fail-on-missing-table",
        lambda k, f: [
            "audit",
            str(save(timeline(picture("gone", "gone.mp4")), f / "cut.otio")),
            "--fail-on",
            "media_missing",
        ],
        1,
        r"1 flagged",
    ),
    Case(
        "http-media",
        lambda k, f: [
            "audit",
            str(save(timeline(picture("web", "https://example.com/a.mp4")), f / "cut.otio")),
            "--json",
        ],
        3,
        statuses={"web": "media_missing"},
    ),
    Case(
        "garbage-media",
        _audit(media="garbage.mp4"),
        3,
        statuses={"shot": "error"},
        untrusted=("*",),
    ),
    Case("empty-media", _audit(media="empty.mp4"), 3, statuses={"shot": "error"}, untrusted=("*",)),
    Case(
        "mp4-cut-short",
        _audit(media="flash_cut50.mp4"),
        3,
        statuses={"shot": "error"},
        untrusted=("*",),
    ),
    Case("fifo-media", _fifo_timeline, 3, statuses={"pipe": "media_missing"}),
    Case(
        "folder-as-media",
        lambda k, f: [
            "audit",
            str(save(timeline(picture("dir", str(f))), f / "cut.otio")),
            "--json",
        ],
        3,
        statuses={"dir": "media_missing"},
    ),
    Case(
        "sound-only-as-picture",
        _audit(media="sound.mkv"),
        3,
        statuses={"shot": ("unsupported", "error")},
    ),
    Case("no-sound", _audit(*BASELINE, media="mute.mkv"), 3, statuses={"shot": "no_audio"}),
    Case(
        "silent-sound",
        _audit(media="silent.mkv"),
        3,
        statuses={"shot": "uncertain"},
        untrusted=("*",),
    ),
    Case(
        "still-picture",
        _audit(media="still.mkv"),
        3,
        statuses={"shot": "uncertain"},
        untrusted=("*",),
    ),
    Case(
        "talk-cut-10pc",
        _audit(media="talk_cut10.mkv", start_s=0.0, dur_s=4.0),
        3,
        statuses={"shot": "uncertain"},
        untrusted=("*",),
        slow=True,
    ),
    Case(
        "talk-cut-40pc",
        _audit(media="talk_cut40.mkv", start_s=0.0, dur_s=4.0),
        3,
        statuses={"shot": "uncertain"},
        untrusted=("*",),
        slow=True,
    ),
    Case(
        "talk-cut-40pc-baseline",
        _audit(*BASELINE, media="talk_cut40.mkv", start_s=0.0, dur_s=4.0),
        3,
        r"ends .* into the",
        statuses={"shot": "uncertain"},
        untrusted=("*",),
    ),
    Case(
        "clip-past-media-end",
        _audit(*BASELINE, start_s=2.0, dur_s=6.0, available=None),
        3,
        r"ends .* into the",
        statuses={"shot": "uncertain"},
        untrusted=("*",),
    ),
    Case("timecode-25", _timecoded("tc25.mov", 25.0, "01:00:00:00"), 0, statuses={"tc": "in_sync"}),
    Case(
        "timecode-23976",
        _timecoded("tc23976.mov", float(Fraction(24000, 1001)), "01:00:00:00"),
        0,
        statuses={"tc": "in_sync"},
    ),
    Case(
        "timecode-2997df",
        _timecoded("tc2997df.mov", float(Fraction(30000, 1001)), "01:00:00;00"),
        0,
        statuses={"tc": "in_sync"},
    ),
    # Variable frame rate: the model pairs frame k with the sound at k / fps, so VFR
    # picture is resampled to a constant rate first (it was uncertain, or 51 ms early).
    Case(
        "vfr-copy",
        _audit(media="talk_vfr.mkv", start_s=0.0, dur_s=4.0),
        0,
        statuses={"shot": "in_sync"},
    ),
    Case(
        "vfr-copy-baseline",
        _audit(*BASELINE, media="talk_vfr.mkv", start_s=0.0, dur_s=4.0),
        0,
        statuses={"shot": "in_sync"},
    ),
    Case(
        "empty-timeline",
        lambda k, f: ["audit", str(save(otio.schema.Timeline(name="e"), f / "cut.otio"))],
        3,
        r"No picture clip",
    ),
    Case("deep-nesting", _nested, 0, statuses={"deep": "in_sync"}),
    Case("zero-length-clip", _audit(*BASELINE, dur_s=0.0), 3, statuses={"shot": "unsupported"}),
    Case("time-warp", lambda k, f: _warp(k, f), 3, statuses={"shot": "unsupported"}),
    # Names: never markup, never a formula, never a forged line.
    Case("name-closing-tag", _named("[/]"), 0, check=_text_has("[/]")),
    Case(
        "name-brackets",
        _named("interview [take 2].mp4"),
        0,
        check=_text_has("interview [take 2].mp4"),
    ),
    Case(
        "name-link",
        _named("[link=https://example.com]click[/link]"),
        0,
        check=_text_has("[link=https://example.com]"),
    ),
    Case("name-bold-red", _named("[bold red]boom"), 0, check=_text_has("[bold red]boom")),
    Case("name-newline", _named("one\ntwo"), 0, check=_text_has("one\\ntwo")),
    Case("name-unicode", _named("Szene 1 ünïcødé 場面 🎬"), 0),
    Case(
        "csv-formulas",
        _named('=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "\tTAB", report="r.csv"),
        0,
        outputs=("r.csv",),
        check=_csv_clean,
    ),
    # fix and --revert on what an audit (or a hand) left behind.
    Case(
        "fix-unaudited",
        lambda k, f: ["fix", str(_flash_cut(k, f)), "-o", str(f / "o.otio")],
        2,
        r"carries no audit",
    ),
    Case(
        "fix-output-is-input",
        lambda k, f: ["fix", str(_flash_cut(k, f)), "-o", str(f / "cut.otio")],
        2,
        r"refusing",
    ),
    Case("fix-ok", _fix(dict(_GOOD)), 0, r"1 sound\(s\) slipped", outputs=("fixed.otio",)),
    Case("fix-sources-string", _fix({"status": "out_of_sync", "sources": "oops"}), 2, r"malformed"),
    Case("fix-status-unknown", _fix({"status": "wonky", "offset_ms": 3}), 2, r"malformed"),
    Case("fix-audio-source-string", _fix({**_GOOD, "audio_source": "A1"}), 2, r"malformed"),
    Case("fix-offset-text", _fix({**_GOOD, "offset_ms": "lots"}), 2, r"malformed"),
    Case("fix-decision-string", _fix({**_GOOD, "decision": "accept"}), 2, r"malformed"),
    Case(
        "fix-one-malformed",
        _two_fix,
        0,
        r"(?=.*malformed)(?=.*1 sound\(s\) slipped)",
        outputs=("fixed.otio",),
    ),
    Case("fix-record-string", _fix(dict(_GOOD), fix="broken"), 2, r"malformed"),
    Case(
        "revert-no-duration",
        _fix(
            dict(_GOOD),
            "--revert",
            fix={"original": {"source_range": {"start": {"value": 0, "rate": 25}}}},
        ),
        2,
        r"malformed",
    ),
    Case("revert-record-string", _fix(dict(_GOOD), "--revert", fix="broken"), 2, r"malformed"),
    Case(
        "fix-name-newline",
        _fix(dict(_GOOD), name="x\nslipped      forged / A1: +999.0 ms"),
        0,
        outputs=("fixed.otio",),
        check=_no_forged_line,
    ),
    # Bugs, hooks, adapters, signals, pipes.
    Case(
        "internal-error",
        _args("audit", "{cut}"),
        2,
        r"internal error.*--debug",
        runner=_crash(False),
    ),
    Case("internal-error-debug", _args("audit", "{cut}"), 2, r"simulated bug", runner=_crash(True)),
    Case(
        "hook-bad-tolerance",
        lambda k, f: [str(_flash_cut(k, f))],
        2,
        r"tolerance",
        runner=_hook({"avsync": "1", "avsync_tolerance": "loose"}),
    ),
    Case(
        "hook-bad-estimator",
        lambda k, f: [str(_flash_cut(k, f))],
        2,
        r"estimator",
        runner=_hook({"avsync": "1", "avsync_estimator": "magic"}),
    ),
    Case(
        "report-adapter-no-results",
        lambda k, f: [str(_flash_cut(k, f))],
        2,
        r"no otio-avsync results",
        runner=_report_adapter("json"),
    ),
    Case(
        "report-adapter-pdf",
        lambda k, f: [str(_flash_cut(k, f))],
        2,
        r"WritingNotSupportedError.*unknown format",
        runner=_report_adapter("pdf"),
    ),
    Case(
        "otioconvert-report-no-results",
        lambda k, f: [str(_flash_cut(k, f))],
        2,
        r"no otio-avsync results",
        runner=_otioconvert(["-o", "r.avsync"]),
        slow=True,
    ),
    Case(
        "otioconvert-hook-bad-tolerance",
        lambda k, f: [str(_flash_cut(k, f))],
        2,
        r"tolerance",
        runner=_otioconvert(["-o", "x.otio", "-H", "avsync=1", "-H", "avsync_tolerance=loose"]),
        slow=True,
    ),
    Case(
        "broken-pipe",
        _args("audit", "{cut}", "--json", *BASELINE),
        0,
        runner=_broken_pipe,
        slow=True,
    ),
    Case(
        "sigint",
        _mkdir_then(
            lambda k, f: ["audit", str(_flash_cut(k, f)), "-o", str(f / "out" / "cut.otio")]
        ),
        (130, 0),
        runner=_sigint,
        outputs=("out",),
        check=_interrupted_cleanly,
        slow=True,
    ),
]


def _w(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _warp(kit: Kit, folder: Path) -> list[str]:
    clip = picture("shot", str(kit["flash.mkv"]))
    clip.effects.append(otio.schema.LinearTimeWarp(time_scalar=2.0))
    return ["audit", str(save(timeline(clip), folder / "cut.otio")), "--json"]


assert len({c.name for c in CASES}) == len(CASES), "case names must be unique"
_ = tr  # re-exported for cases written elsewhere
