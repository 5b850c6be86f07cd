"""The cases of the hostile-input corpus (see :mod:`hostile_corpus` for what "clean" means).

Builders and runners live in :mod:`hostile_runners`.
"""

from __future__ import annotations

from fractions import Fraction

import opentimelineio as otio
from hostile_corpus import BASELINE, Case, picture, save, timeline
from hostile_runners import (
    GOOD,
    _args,
    _audit,
    _broken_pipe,
    _crash,
    _csv_clean,
    _fifo_check,
    _fifo_timeline,
    _fix,
    _flash_cut,
    _hook,
    _interrupted_cleanly,
    _json_counts,
    _mkdir_then,
    _named,
    _nested,
    _no_forged_line,
    _no_stale,
    _not_written,
    _otioconvert,
    _report_adapter,
    _sigint,
    _stale_temp,
    _text_has,
    _timecoded,
    _two_fix,
    _w,
    _warp,
    _written_timeline,
)

# -- the corpus --------------------------------------------------------------------------

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
    Case("fix-ok", _fix(dict(GOOD)), 0, r"1 sound\(s\) slipped", outputs=("fixed.otio",)),
    Case("fix-sources-string", _fix({"status": "out_of_sync", "sources": "oops"}), 2, r"malformed"),
    Case("fix-status-unknown", _fix({"status": "wonky", "offset_ms": 3}), 2, r"malformed"),
    Case("fix-audio-source-string", _fix({**GOOD, "audio_source": "A1"}), 2, r"malformed"),
    Case("fix-offset-text", _fix({**GOOD, "offset_ms": "lots"}), 2, r"malformed"),
    Case("fix-decision-string", _fix({**GOOD, "decision": "accept"}), 2, r"malformed"),
    Case(
        "fix-one-malformed",
        _two_fix,
        0,
        r"(?=.*malformed)(?=.*1 sound\(s\) slipped)",
        outputs=("fixed.otio",),
    ),
    Case("fix-record-string", _fix(dict(GOOD), fix="broken"), 2, r"malformed"),
    Case(
        "revert-no-duration",
        _fix(
            dict(GOOD),
            "--revert",
            fix={"original": {"source_range": {"start": {"value": 0, "rate": 25}}}},
        ),
        2,
        r"malformed",
    ),
    Case("revert-record-string", _fix(dict(GOOD), "--revert", fix="broken"), 2, r"malformed"),
    Case(
        "fix-name-newline",
        _fix(dict(GOOD), name="x\nslipped      forged / A1: +999.0 ms"),
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


assert len({c.name for c in CASES}) == len(CASES), "case names must be unique"
