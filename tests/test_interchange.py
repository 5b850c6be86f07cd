"""EDL and FCP 7 XML out of the box: read, audited and written back with markers.

OTIO's EDL and FCP XML readers left its core package; they come with the pinned
``opentimelineio-plugins``. A CMX EDL does not state its frame rate (the reader
assumes 24): the audit reads it at its media's rate unless ``-a rate=N`` says.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import opentimelineio as otio
import pytest
from clirun import cli

from otio_avsync.testmedia import make_slipped_timeline
from otio_avsync.timeline_io import parse_adapter_args, read_timeline, write_timeline

SLIPS = [0, 5]  # frames at 25 fps: the second sound is 200 ms late


@pytest.fixture(scope="module")
def cut(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("interchange")
    return make_slipped_timeline(folder, SLIPS, clip_s=5.0, handle_s=0.5, seed=12, name="cut")


def _tc(rt: otio.opentime.RationalTime) -> str:
    return otio.opentime.to_timecode(rt, rt.rate, False)


def _write_edl(truth, path: Path) -> None:
    """A CMX 3600 EDL as an editing system writes it: V and A events, relative media paths."""
    tl = otio.adapters.read_from_file(str(truth.path))
    lines = ["TITLE: cut", "FCM: NON-DROP FRAME", ""]
    rec = otio.opentime.from_timecode("01:00:00:00", 25)
    event = 1
    pictures = list(tl.video_tracks()[0].find_clips())
    sounds = list(tl.audio_tracks()[0].find_clips())
    for pic, snd in zip(pictures, sounds, strict=True):
        for kind, clip in (("V", pic), ("A", snd)):
            src = clip.source_range
            lines += [
                f"{event:03d}  {clip.name.upper().replace('_', '')[:8]:<8} {kind}     C        "
                f"{_tc(src.start_time)} {_tc(src.end_time_exclusive())} "
                f"{_tc(rec)} {_tc(rec + src.duration)}",
                f"* FROM CLIP NAME:  {clip.name}",
                f"* FROM CLIP: {clip.media_reference.target_url}",
                "",
            ]
            event += 1
        rec += pic.source_range.duration
    path.write_text("\n".join(lines))


def _offsets(report: dict) -> dict[str, float]:
    return {r["clip"]: r["offset_ms"] for r in report["clips"]}


def _rates(report: dict) -> set[int]:
    """The frame rate each result was measured at (offset in frames against ms)."""
    return {round(1000 * r["offset_frames"] / r["offset_ms"]) for r in report["clips"] if abs(r["offset_ms"] or 0) > 100}


def test_adapters_for_edl_and_xml_are_installed() -> None:
    names = {a.name for a in otio.plugins.ActiveManifest().adapters}
    assert {"cmx_3600", "fcp_xml", "AAF"} <= names


def test_adapter_args_are_typed() -> None:
    assert parse_adapter_args(["rate=25", "x=23.976", "ignore_timecode_mismatch=true"]) == {
        "rate": 25,
        "x": 23.976,
        "ignore_timecode_mismatch": True,
    }


def test_edl_audited_at_its_media_rate_and_written_back(cut, tmp_path: Path) -> None:
    edl = cut.path.with_name("cut.edl")
    _write_edl(cut, edl)
    before = edl.read_bytes()
    out = tmp_path / "cut.avsync.edl"
    run = cli("audit", str(edl), "--estimator", "baseline", "--json", "-o", str(out))
    assert run.returncode == 1, run.stderr
    assert "read at 25 fps" in run.stderr
    report = json.loads(run.stdout)
    offsets = _offsets(report)
    assert abs(offsets["cut_00"]) <= 40 and abs(offsets["cut_01"] - 200) <= 20, offsets
    assert _rates(report) == {25}
    assert edl.read_bytes() == before
    text = out.read_text()
    assert text.count("* LOC:") == 2 and "AVSYNC +5F" in text, text
    back = read_timeline(out, adapter_args={"rate": 25})
    names = [m.name for c in back.find_clips() for m in c.markers]
    assert len(names) == 2 and all(n.startswith("AVSYNC") for n in names), names
    # An explicit rate wins: read at 24 fps, the same EDL measures otherwise.
    at24 = cli("audit", str(edl), "--estimator", "baseline", "--json", "-a", "rate=24")
    assert "read at" not in at24.stderr
    assert _rates(json.loads(at24.stdout)) == {24}
    bad = cli("audit", str(edl), "-a", "colour=red")
    assert bad.returncode == 2 and "does not take colour" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_fcp_xml_audited_and_written_back(cut, tmp_path: Path) -> None:
    xml = tmp_path / "cut.xml"
    tl = otio.adapters.read_from_file(str(cut.path))
    for clip in tl.find_clips():  # FCP XML wants absolute media URLs
        url = clip.media_reference.target_url
        clip.media_reference.target_url = (cut.path.parent / url).resolve().as_uri()
    otio.adapters.write_to_file(tl, str(xml))
    out = tmp_path / "cut.avsync.xml"
    run = cli("audit", str(xml), "--estimator", "baseline", "--json", "-o", str(out))
    assert run.returncode == 1, run.stderr
    offsets = _offsets(json.loads(run.stdout))
    assert abs(offsets["cut_00"]) <= 40 and abs(offsets["cut_01"] - 200) <= 40, offsets
    back = read_timeline(out)
    markers = {c.name: [m.name for m in c.markers] for c in back.video_tracks()[0].find_clips()}
    assert markers["cut_01"] and markers["cut_01"][0].startswith("avsync +5f"), markers
    assert markers["cut_00"] and markers["cut_00"][0].startswith("avsync"), markers


def test_outputs_respect_the_umask(cut, tmp_path: Path) -> None:
    """Outputs get the mode of any new file (0644 under umask 022), not mkstemp's 0600."""
    tl = read_timeline(cut.path)
    old = os.umask(0o022)
    try:
        write_timeline(tl, tmp_path / "a.otio")
        os.umask(0o002)
        write_timeline(tl, tmp_path / "b.otio")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.otio").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b.otio").stat().st_mode) == 0o664


def test_hook_on_an_edl_warns_about_its_rate(cut, tmp_path: Path) -> None:
    """otioconvert reads an EDL at 24 fps unless told; the hook says when the media differs."""
    import subprocess
    import sys

    edl = cut.path.with_name("hooked.edl")
    _write_edl(cut, edl)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    base = [
        str(Path(sys.executable).parent / "otioconvert"), "-i", str(edl), "-H", "avsync=1",
        "-H", "avsync_estimator=baseline",
    ]
    plain = subprocess.run([*base, "-o", str(tmp_path / "a.otio")], capture_output=True, text=True, env=env, timeout=600)
    assert plain.returncode == 0, plain.stderr
    assert "read it with -a rate=25" in plain.stderr
    told = subprocess.run(
        [*base, "-a", "rate=25", "-o", str(tmp_path / "b.otio")], capture_output=True, text=True, env=env, timeout=600
    )
    assert told.returncode == 0 and "rate=" not in told.stderr, told.stderr
    statuses = {c.name: c.metadata["otio_avsync"]["status"] for c in read_timeline(tmp_path / "b.otio").video_tracks()[0].find_clips()}
    assert statuses == {"cut_00": "in_sync", "cut_01": "out_of_sync"}
