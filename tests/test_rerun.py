"""Re-running keeps the work: review decisions, earlier results, and the hook's media paths.

Also the track consensus of a cut whose clips are slipped by different amounts,
and the output meant for logs (progress lines, uncut tables, wording).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import opentimelineio as otio
import pytest
from clirun import cli

from otio_avsync.audit import AuditOptions, audit_timeline
from otio_avsync.testmedia import make_slipped_timeline
from otio_avsync.timeline_io import read_timeline, write_timeline
from otio_avsync.ui import model as rm

ROOT = Path(__file__).resolve().parents[1]
OTIO_BIN = Path(sys.executable).parent
BASELINE = AuditOptions(estimator="baseline")


@pytest.fixture(scope="module")
def cut(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("rerun")
    return make_slipped_timeline(folder, [0, 6], clip_s=5.0, handle_s=0.5, seed=21, name="rerun")


def _reviewed(cut, folder: Path) -> Path:
    """The cut audited, with a decision on each clip, saved beside its media."""
    tl = read_timeline(cut.path)
    audit_timeline(tl, BASELINE, base_dir=cut.path.parent)
    rows = {r.name: r for r in rm.load_rows(tl)}
    rm.set_decision(rows["rerun_00"], "reject")
    rm.set_decision(rows["rerun_01"], "accept")
    out = cut.path.parent / f"reviewed-{folder.name}.otio"
    write_timeline(tl, out)
    return out


def _meta(tl: otio.schema.Timeline) -> dict[str, dict]:
    from otio_avsync.metadata import plain

    return {c.name: plain(c.metadata["otio_avsync"]) for c in tl.video_tracks()[0].find_clips()}


def _marker_names(tl: otio.schema.Timeline) -> dict[str, str]:
    return {c.name: c.markers[0].name for c in tl.video_tracks()[0].find_clips()}


def test_reaudit_keeps_decisions_on_unchanged_estimates(cut, tmp_path: Path) -> None:
    reviewed = _reviewed(cut, tmp_path)
    out = tmp_path / "x.otio"
    run = cli("audit", str(reviewed), "-o", str(out), "--estimator", "baseline", "-q")
    assert run.returncode == 1, run.stderr
    meta = _meta(read_timeline(out))
    assert meta["rerun_00"]["decision"]["action"] == "reject"
    assert meta["rerun_01"]["decision"]["action"] == "accept"
    names = _marker_names(read_timeline(out))
    assert names["rerun_00"].endswith("[rejected]")
    assert "[accepted +2" in names["rerun_01"], names
    assert "previous_decision" not in run.stderr


def test_reaudit_sets_aside_a_decision_whose_estimate_changed(cut, tmp_path: Path) -> None:
    tl = read_timeline(_reviewed(cut, tmp_path))
    sound = tl.audio_tracks()[0].find_clips()[1]  # slip rerun_01's sound 4 frames back
    rng = sound.source_range
    sound.source_range = otio.opentime.TimeRange(
        rng.start_time + otio.opentime.RationalTime(4, rng.start_time.rate), rng.duration
    )
    notes = audit_timeline(tl, BASELINE, base_dir=cut.path.parent)
    meta = _meta(tl)
    assert meta["rerun_00"]["decision"]["action"] == "reject"  # unchanged: kept
    assert "decision" not in meta["rerun_01"]
    prev = meta["rerun_01"]["previous_decision"]
    assert prev["action"] == "accept" and prev["estimate_then"].startswith("out of sync +2")
    said = tl.metadata["otio_avsync"]["notes"]
    assert len(said) == 1 and "rerun_01" in said[0] and "previous_decision" in said[0]
    assert "[accepted" not in _marker_names(tl)["rerun_01"]
    assert notes.results  # the audit itself is whole


def test_missing_media_keeps_the_earlier_result(cut, tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(cut.path.parent / "media", folder / "media")
    audited = folder / "audited.otio"
    tl = read_timeline(cut.path)
    audit_timeline(tl, BASELINE, base_dir=cut.path.parent)
    write_timeline(tl, audited)
    shutil.rmtree(folder / "media")
    out = tmp_path / "again.otio"
    run = cli("audit", str(audited), "-o", str(out), "--estimator", "baseline", "-q")
    assert "previous_result" in run.stderr
    meta = _meta(read_timeline(out))
    for name, status in (("rerun_00", "in_sync"), ("rerun_01", "out_of_sync")):
        assert meta[name]["status"] == "media_missing"
        assert meta[name]["previous_result"]["status"] == status
        assert "earlier audit measured" in meta[name]["message"]


def _hook_env(**extra: str) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), **extra)


def test_hook_resolves_media_against_the_timeline_folder(cut, tmp_path: Path) -> None:
    """otiotool run elsewhere than the timeline's folder: relative media still found."""
    out = tmp_path / "out.otio"
    run = subprocess.run(
        [str(OTIO_BIN / "otiotool"), "-i", str(cut.path), "-o", str(out)],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
        env=_hook_env(OTIO_AVSYNC="1"),
    )
    assert run.returncode == 0, run.stderr
    statuses = {k: v["status"] for k, v in _meta(read_timeline(out)).items()}
    assert statuses == {"rerun_00": "in_sync", "rerun_01": "out_of_sync"}, statuses
    # The hook is no longer silent: it says what it is doing and what it found.
    assert "analysing 2 clips" in run.stderr and "2 results" in run.stderr


def test_hook_relinks_with_the_linker_arguments(cut, tmp_path: Path) -> None:
    """-m avsync_relink -M search=DIR -H avsync=1: the hook relinks before it audits."""
    tl = read_timeline(cut.path)
    for clip in tl.find_clips():
        clip.media_reference.target_url = "/offline/" + Path(clip.media_reference.target_url).name
    offline = tmp_path / "offline.otio"
    write_timeline(tl, offline)
    out = tmp_path / "linked.otio"
    run = subprocess.run(
        [
            str(OTIO_BIN / "otioconvert"), "-i", str(offline), "-o", str(out),
            "-m", "avsync_relink", "-M", f"search={cut.path.parent}", "-H", "avsync=1",
            "-H", "avsync_estimator=baseline",
        ],
        capture_output=True, text=True, timeout=600, env=_hook_env(),
    )
    assert run.returncode == 0, run.stderr
    statuses = {k: v["status"] for k, v in _meta(read_timeline(out)).items()}
    assert statuses == {"rerun_00": "in_sync", "rerun_01": "out_of_sync"}, statuses


# -- track consensus ----------------------------------------------------------------------


def _result(name: str, at_s: float, offset_ms: float, confidence: float):
    from otio_avsync.results import AudioSource, ClipResult, Status

    return ClipResult(
        name, Status.OUT_OF_SYNC, "", offset_ms=offset_ms, confidence=confidence, rate=25.0,
        audio_source=AudioSource("track", track="A1"), span_start_s=at_s, span_duration_s=4.0,
    )


def test_clips_slipped_by_different_amounts_disagree() -> None:
    """The demo's four clips: no single offset for the track, the spread instead."""
    from otio_avsync.consensus import track_consensus
    from otio_avsync.results import BT1359, Status

    demo = [("a", -3, 0.99), ("b", 116, 0.97), ("c", -82, 1.0), ("d", 317, 0.98)]
    results = [_result(n, 6.0 * i, v, c) for i, (n, v, c) in enumerate(demo)]
    [c] = track_consensus(results, tolerance=BT1359, min_confidence=0.5)
    assert c.clips_disagree and c.status is Status.UNCERTAIN
    assert c.offset_ms is None and c.spread_ms == (-82, 317)
    assert "clips disagree" in c.message and "-82 ms to +317 ms" in c.message
    meta = c.to_metadata()
    assert meta["clips_disagree"] is True and meta["offset_ms"] is None
    # Clips that agree within a frame still give one offset.
    same = [_result(n, 6.0 * i, 200 + d, 0.95) for i, (n, d) in enumerate([("a", 0), ("b", 20), ("c", -15)])]
    [one] = track_consensus(same, tolerance=BT1359, min_confidence=0.5)
    assert not one.clips_disagree and one.status is Status.OUT_OF_SYNC
    assert abs(one.offset_ms - 200) <= 20


def test_track_marker_carries_no_offset_when_clips_disagree(cut) -> None:
    from otio_avsync.annotate import annotate
    from otio_avsync.consensus import track_consensus
    from otio_avsync.results import BT1359

    tl = read_timeline(cut.path)
    results = [_result(n, 6.0 * i, v, 0.99) for i, (n, v) in enumerate([("a", -3), ("b", 116), ("c", -82), ("d", 317)])]
    tracks = track_consensus(results, tolerance=BT1359, min_confidence=0.5)
    annotate(tl, [], settings={}, tracks=tracks)
    [marker] = [m for m in tl.audio_tracks()[0].markers]
    assert marker.name == "avsync track clips disagree -82..+317 ms" and marker.color == "YELLOW"


# -- output for logs ------------------------------------------------------------------------


def test_progress_lines_for_logs() -> None:
    from otio_avsync.progress import ProgressLines

    now = [0.0]
    out = io.StringIO()
    lines = ProgressLines(out, every_s=5.0, clock=lambda: now[0])
    for i, t in enumerate([0.0, 1.0, 6.0, 7.0, 12.0]):
        now[0] = t
        lines(i, 4, f"clip {i}")
    text = out.getvalue().splitlines()
    assert text == [
        "otio-avsync: analysing 4 clips",
        "otio-avsync: 2/4 analysed, 0:06 elapsed, about 0:06 left",
        "otio-avsync: 4/4 analysed, 0:12 elapsed",
    ]


def test_cli_in_a_pipe_prints_progress_and_an_uncut_table(cut) -> None:
    run = cli("audit", str(cut.path), "--estimator", "baseline")
    assert run.returncode == 1
    assert "otio-avsync: analysing 2 clips" in run.stderr
    assert "2/2 analysed" in run.stderr
    assert "out_of_sync" in run.stdout and "out_of…" not in run.stdout and "…" not in run.stdout
    assert "2 results: in sync 1, out of sync 1; 1 flagged." in run.stdout
    assert "sound(s)" not in run.stdout and "1 clips" not in run.stdout


def test_offsets_never_read_minus_zero() -> None:
    from otio_avsync.annotate import marker_name
    from otio_avsync.results import ClipResult, Status

    r = ClipResult("a", Status.IN_SYNC, "", offset_ms=-3.2, offset_frames=-0.08, confidence=0.9, rate=25.0)
    assert marker_name(r) == "avsync 0f (-3 ms)"
    r = ClipResult("a", Status.IN_SYNC, "", offset_ms=-0.3, offset_frames=-0.01, confidence=0.9, rate=25.0)
    assert marker_name(r) == "avsync 0f (0 ms)"


def test_json_summary_unchanged_by_progress(cut) -> None:
    run = cli("audit", str(cut.path), "--estimator", "baseline", "--json")
    assert json.loads(run.stdout)["summary"] == {"in_sync": 1, "out_of_sync": 1}


# -- Raven ----------------------------------------------------------------------------------


def test_raven_colours_flagged_clips_and_a_rerun_removes_only_ours(cut) -> None:
    from otio_avsync.annotate import clear

    tl = read_timeline(cut.path)
    pictures = {c.name: c for c in tl.video_tracks()[0].find_clips()}
    pictures["rerun_00"].metadata["raven"] = {"color": "PURPLE", "note": "the editor's"}
    pictures["rerun_01"].metadata["raven"] = {"color": "CYAN"}
    audit_timeline(tl, BASELINE, base_dir=cut.path.parent)
    assert dict(pictures["rerun_00"].metadata["raven"]) == {"color": "PURPLE", "note": "the editor's"}
    assert pictures["rerun_01"].metadata["raven"]["color"] == "RED"
    # The media goes missing: a re-run turns the flagged clip ORANGE, the other too.
    bad = otio.schema.MissingReference()
    for clip in tl.find_clips():
        clip.media_reference = bad.clone()
    audit_timeline(tl, BASELINE, base_dir=cut.path.parent)
    assert pictures["rerun_00"].metadata["raven"]["color"] == "ORANGE"
    assert pictures["rerun_01"].metadata["raven"]["color"] == "ORANGE"
    # Clearing gives back the editor's own colours, and the clips' other Raven settings.
    clear(tl)
    assert dict(pictures["rerun_00"].metadata["raven"]) == {"color": "PURPLE", "note": "the editor's"}
    assert dict(pictures["rerun_01"].metadata["raven"]) == {"color": "CYAN"}
    # A clip that had no Raven colour loses the key entirely; one recoloured since is left alone.
    del pictures["rerun_00"].metadata["raven"]
    audit_timeline(tl, BASELINE, base_dir=cut.path.parent)
    pictures["rerun_01"].metadata["raven"]["color"] = "BLUE"
    clear(tl)
    assert "raven" not in pictures["rerun_00"].metadata
    assert pictures["rerun_01"].metadata["raven"]["color"] == "BLUE"


def test_a_clip_that_could_not_be_analysed_fails_the_run_by_default() -> None:
    """An ``error`` clip was not checked: the run does not pass (exit 3), unless allowed."""
    from otio_avsync.audit import AuditResult
    from otio_avsync.results import EXIT_FLAGGED, EXIT_OK, EXIT_UNCHECKED, ClipResult, Status

    broken = ClipResult("a", Status.ERROR, "the decoder failed")
    assert AuditResult([broken], AuditOptions()).exit_code == EXIT_UNCHECKED
    assert AuditResult([broken], AuditOptions(fail_on=(Status.ERROR,))).exit_code == EXIT_FLAGGED
    assert AuditResult([broken], AuditOptions(unchecked_ok=True)).exit_code == EXIT_OK


def test_decisions_of_a_clip_with_several_sounds_are_kept_per_sound() -> None:
    from otio_avsync import METADATA_KEY
    from otio_avsync.annotate import carry_over
    from otio_avsync.results import AudioSource, ClipResult, Status

    def res(track: str, offset: float, status: Status = Status.OUT_OF_SYNC) -> ClipResult:
        return ClipResult("c", status, "m", offset_ms=offset, offset_frames=offset / 40, confidence=0.9,
                          rate=25.0, audio_source=AudioSource("track", track=track))

    old_group = [res("A1", 120.0), res("dub-fra", 40.0, Status.IN_SYNC)]
    old = {**old_group[0].to_metadata(), "sources": [r.to_metadata() for r in old_group]}
    old["sources"][0]["decision"] = {"action": "accept", "offset_ms": 120.0}
    old["sources"][1]["decision"] = {"action": "reject", "offset_ms": None}
    old["decision"] = {"action": "accept", "offset_ms": 120.0, "source": "A1"}
    group = [res("A1", 121.0), res("dub-fra", 300.0)]
    meta = {**group[0].to_metadata(), "sources": [r.to_metadata() for r in group]}
    marker = otio.schema.Marker(name="avsync +3f (+121 ms)", metadata={METADATA_KEY: {}})
    notes = carry_over("c", old, meta, group, marker)
    assert meta["sources"][0]["decision"]["action"] == "accept"
    assert "decision" not in meta["sources"][1]
    assert meta["sources"][1]["previous_decision"]["action"] == "reject"
    assert meta["decision"] == {"action": "accept", "offset_ms": 120.0, "source": "A1"}
    assert marker.name.endswith("[accepted +120 ms]")
    assert len(notes) == 1 and "c (dub-fra)" in notes[0] and "+300 ms" in notes[0]
