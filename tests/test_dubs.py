"""Dub tracks on simulated dubs: reference alignment, track consensus, several languages, the fix.

The timelines come from :func:`otio_avsync.testdubs.make_dub_timeline` (same music and
effects as the original mix, another voice, known slips, drifts and a jump). The
picture estimate is not what is under test here, so the fast ``baseline`` estimator
stands in for the attention model.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import opentimelineio as otio
import pytest
from clirun import cli

from otio_avsync import METADATA_KEY
from otio_avsync.audit import AuditOptions, AuditResult, audit_timeline
from otio_avsync.errors import AvsyncError
from otio_avsync.estimators.base import AVInput
from otio_avsync.estimators.reference import ReferenceEstimator, likely_conform
from otio_avsync.fix import apply_fixes, revert_fixes
from otio_avsync.report import render_report, results_from_timeline
from otio_avsync.results import Status
from otio_avsync.testdubs import CONFORMS, DubCase, DubTruth, make_dub_timeline
from otio_avsync.timeline_io import read_timeline

FPS = 25
FRAME_MS = 1000.0 / FPS
CLIPS = 6
JUMP_AT = 3
DUBS = {
    "fra": DubCase(offset_ms=5000.0),  # the whole reel 5 s late
    "deu": DubCase(offset_ms=-5000.0),  # 5 s early
    "spa": DubCase(speed=CONFORMS["1001"][0]),  # 24 vs 23.976: +1000 ppm
    "por": DubCase(speed=CONFORMS["pal"][0], offset_ms=-300.0),  # 25 vs 24: +4 %
    "jpn": DubCase(offset_ms=40.0, jump_at=JUMP_AT, jump_ms=400.0),  # a jump after an edit
}
BASELINE = AuditOptions(estimator="baseline")


@dataclass
class Audited:
    truth: DubTruth
    timeline: otio.schema.Timeline
    result: AuditResult
    text: str  # the annotated timeline, serialised

    def fresh(self) -> otio.schema.Timeline:
        """An independent copy of the annotated timeline."""
        return otio.adapters.read_from_string(self.text)


def audit(timeline: otio.schema.Timeline, truth: DubTruth, **options: Any) -> AuditResult:
    opts = AuditOptions(estimator="baseline", **options) if options else BASELINE
    return audit_timeline(timeline, opts, base_dir=truth.path.parent)


def by_key(result: AuditResult) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for r in result.results:
        out.setdefault(r.audio_source.key(), {})[r.clip_name] = r
    return out


def tracks(result: AuditResult) -> dict[str, Any]:
    return {t.key: t for t in result.tracks}


def dub_key(truth: DubTruth, lang: str) -> str:
    (key,) = [k for k in truth.expected if k.endswith(f"DUB {lang}")]
    return key


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Audited:
    folder = tmp_path_factory.mktemp("dubs")
    truth = make_dub_timeline(folder, DUBS, clips=CLIPS, clip_s=4.0, head_s=6.0, fps=FPS)
    tl = read_timeline(truth.path)
    result = audit(tl, truth)
    return Audited(truth, tl, result, otio.adapters.write_to_string(tl))


# -- reference alignment -------------------------------------------------------------------


def test_reference_alignment_within_a_frame_including_5_s_slips(audited: Audited) -> None:
    truth, result = audited.truth, audited.result
    assert result.reference is not None and result.reference["key"] == truth.reference_track
    got = by_key(result)
    misses = {}
    for lang in DUBS:
        key = dub_key(truth, lang)
        for clip, r in got[key].items():
            exp = truth.expected[key][clip]
            if r.offset_ms is None or abs(r.offset_ms - exp) > FRAME_MS:
                misses[(key, clip)] = (r.offset_ms, exp, r.status.value)
            assert r.method.startswith("reference"), (key, clip, r.method)
    assert not misses
    # The 5 s slips are far outside the picture search (±2 s) and still exact to a ms.
    for lang in ("fra", "deu"):
        key = dub_key(truth, lang)
        for clip, r in got[key].items():
            assert r.status is Status.OUT_OF_SYNC
            assert abs(r.offset_ms - truth.expected[key][clip]) < 2.0, (key, clip)


def test_drift_is_measured_with_its_likely_cause(audited: Audited) -> None:
    t = tracks(audited.result)
    for lang, cause in (("spa", "1000/1001"), ("por", "25 fps")):
        key = dub_key(audited.truth, lang)
        want = audited.truth.cases[key].drift_ppm
        c = t[key]
        assert c.model == "drift", c.message
        assert abs(c.drift_ppm - want) <= 0.1 * abs(want), (lang, c.drift_ppm, want)
        assert c.drift_cause and cause in c.drift_cause, c.drift_cause
        assert "slow" in c.drift_cause  # the dub file plays slow: the sound gets later
    assert round(DubCase(speed=CONFORMS["1001"][0]).drift_ppm) == 1000
    assert likely_conform(-1001.0) and "fast" in likely_conform(-1001.0)
    assert likely_conform(300.0) is None and likely_conform(0.0) is None


def test_jump_is_located_between_the_right_clips(audited: Audited) -> None:
    key = dub_key(audited.truth, "jpn")
    c = tracks(audited.result)[key]
    names = audited.truth.clip_names
    assert c.model == "jump", c.message
    assert c.jump["after_clip"] == names[JUMP_AT - 1] and c.jump["before_clip"] == names[JUMP_AT]
    assert abs(c.jump["from_ms"] - 40.0) <= FRAME_MS and abs(c.jump["to_ms"] - 440.0) <= FRAME_MS


def test_global_offsets_give_constant_tracks(audited: Audited) -> None:
    t = tracks(audited.result)
    for lang in ("fra", "deu"):
        c = t[dub_key(audited.truth, lang)]
        assert c.model == "constant" and c.status is Status.OUT_OF_SYNC, c.message
        assert abs(c.offset_ms - DUBS[lang].offset_ms) < 2.0
    ref = t[audited.truth.reference_track]
    assert ref.status is Status.IN_SYNC and abs(ref.offset_ms) < FRAME_MS


# -- several languages at once --------------------------------------------------------------


def test_one_row_per_clip_per_language(audited: Audited) -> None:
    results = audited.result.results
    assert len(results) == CLIPS * (1 + len(DUBS))
    langs = {r.audio_source.language for r in results}
    assert langs == {"eng", *DUBS}
    pairs = {(r.clip_name, r.audio_source.language) for r in results}
    assert len(pairs) == len(results)
    csv_rows = render_report(results, "csv").strip().splitlines()
    assert len(csv_rows) == len(results) + 1 and "language" in csv_rows[0]
    # Read back from the annotated timeline: the same rows, with the alignment's details.
    back = results_from_timeline(audited.fresh())
    assert len(back) == len(results)
    aligned = [r for r in back if r.reference and r.reference.get("used")]
    assert len(aligned) == CLIPS * len(DUBS)
    assert all(r.row()["reference"] == audited.truth.reference_track for r in aligned)


def test_track_markers_and_metadata(audited: Audited) -> None:
    tl = audited.fresh()
    audio = {t.name: t for t in tl.tracks if t.kind == otio.schema.TrackKind.Audio}
    assert len(audio) == 1 + len(DUBS)
    for name, track in audio.items():
        meta = track.metadata[METADATA_KEY]
        assert meta["key"] == name and meta["language"]  # the user's hint is kept
        assert meta["status"] in ("in_sync", "out_of_sync") and meta["model"]
        (marker,) = [m for m in track.markers if METADATA_KEY in m.metadata]
        assert marker.comment and marker.metadata[METADATA_KEY]["track"] == name
        assert marker.marked_range.duration.to_seconds() >= CLIPS * 4.0 - 0.1
    por = audio[dub_key(audited.truth, "por")]
    assert por.markers[-1].name.startswith("avsync drift +")
    jpn = audio[dub_key(audited.truth, "jpn")]
    assert jpn.markers[-1].name.startswith("avsync jump")
    summary = tl.metadata[METADATA_KEY]
    assert summary["reference"]["key"] == audited.truth.reference_track
    assert len(summary["tracks"]) == 1 + len(DUBS)


def test_model_and_reference_disagreement_is_reported(tmp_path: Path) -> None:
    # The original mix itself is 3 s late (beyond the picture search): the dub, in sync
    # with the picture, aligns 3 s early against it while the picture model finds it in sync.
    truth = make_dub_timeline(
        tmp_path,
        {"ita": DubCase()},
        clips=4,
        clip_s=4.0,
        head_s=4.0,
        fps=FPS,
        seed=3,
        reference_offset_ms=3000.0,
    )
    result = audit(read_timeline(truth.path), truth, reference="eng")
    assert result.reference["key"] == truth.reference_track
    assert "eng" in result.reference["chosen"]
    dub = by_key(result)[dub_key(truth, "ita")]
    used = [r for r in dub.values() if r.reference["used"]]
    assert len(used) >= 2
    for r in used:
        assert abs(r.offset_ms + 3000.0) <= FRAME_MS
        assert r.reference["disagree"] and abs(r.reference["model_offset_ms"]) <= FRAME_MS
        assert "picture model finds" in r.message
    c = tracks(result)[dub_key(truth, "ita")]
    assert c.disagree and "disagree" in c.message


def test_reference_estimator_sub_ms_and_refuses_unrelated_sound() -> None:
    rate = 16000
    rng = np.random.default_rng(5)

    def events(n_s: float, seed: int) -> np.ndarray:
        r = np.random.default_rng(seed)
        out = np.zeros(round(n_s * rate))
        t = 0.3
        while t < n_s - 0.3:
            k = round(t * rate)
            burst = r.standard_normal(800) * np.exp(-np.arange(800) / 160)
            out[k : k + 800] += burst
            t += r.uniform(0.3, 1.0)
        tone = 0.05 * np.sin(2 * np.pi * 220 * np.arange(len(out)) / rate)  # a steady bed
        return out + tone

    ref = events(30.0, 1)  # the reference, from -10 s on the span's clock
    lag = 1.23456  # the sound is late by this
    start = round((10.0 - lag) * rate)
    sound = ref[start : start + 6 * rate] + 0.05 * rng.standard_normal(6 * rate)
    no_frames = np.zeros((0, 1, 1), np.uint8)

    def av(reference: np.ndarray) -> AVInput:
        return AVInput(
            frames=no_frames,
            frame_times=np.zeros(0),
            fps=25.0,
            audio=sound.astype(np.float32),
            rate=rate,
            duration_s=6.0,
            reference=reference.astype(np.float32),
            reference_start_s=-10.0,
        )

    est = ReferenceEstimator().estimate(av(ref), search_ms=10000.0)
    assert est.confidence >= 0.9
    # The middle of the span is 3 s in: the sound there is late by `lag` (no drift).
    assert abs(est.offset_ms - lag * 1000.0) < 0.5, est.offset_ms
    other = ReferenceEstimator().estimate(av(events(30.0, 2)), search_ms=10000.0)
    assert other.offset_ms is None or other.confidence < 0.5


# -- the fix -------------------------------------------------------------------------------


def _flagged(result: AuditResult) -> set[tuple[str, str]]:
    return {
        (r.clip_name, r.audio_source.key())
        for r in result.results
        if r.status is Status.OUT_OF_SYNC
    }


@pytest.mark.parametrize("apply_speed", [False, True], ids=["slip", "slip+speed"])
def test_fix_then_audit_is_in_sync_and_revert_is_exact(audited: Audited, apply_speed: bool) -> None:
    flagged = _flagged(audited.result)
    assert len(flagged) >= 3 * CLIPS  # fra, deu and most of por at least
    tl = audited.fresh()
    report = apply_fixes(tl, apply_speed=apply_speed)
    assert {(e.clip, e.sound) for e in report.slipped} >= flagged
    assert not report.not_fixable and not report.unfixed_flagged
    proposals = {p["track"]: p for p in report.speed_proposals}
    assert set(proposals) == {dub_key(audited.truth, "spa"), dub_key(audited.truth, "por")}
    por = proposals[dub_key(audited.truth, "por")]
    assert abs(por["time_scalar"] - 25 / 24) < 0.1 * (25 / 24 - 1) and por["applied"] is apply_speed
    fixed_text = otio.adapters.write_to_string(tl)
    warps = [
        e for c in tl.find_clips() for e in c.effects if isinstance(e, otio.schema.LinearTimeWarp)
    ]
    assert bool(warps) is apply_speed

    # Reverting (after a round trip through the file format) restores the audit exactly.
    back = otio.adapters.read_from_string(fixed_text)
    assert revert_fixes(back) == report.clips_changed
    assert otio.adapters.write_to_string(back) == audited.text

    # Re-auditing the fixed timeline: every flagged case is now within tolerance.
    again = audit(otio.adapters.read_from_string(fixed_text), audited.truth)
    now = {(r.clip_name, r.audio_source.key()): r for r in again.results}
    for k in flagged:
        r = now[k]
        assert r.status is Status.IN_SYNC and abs(r.offset_ms) <= FRAME_MS, (k, r.offset_ms)
    assert not _flagged(again)
    if apply_speed:  # the drift itself is gone
        t = tracks(again)
        for lang in ("spa", "por"):
            c = t[dub_key(audited.truth, lang)]
            assert c.model == "constant" and abs(c.offset_ms) < 2.0, c.message


def _source_meta(tl: otio.schema.Timeline, clip_name: str, key: str) -> tuple[Any, dict, int]:
    """(picture clip, its plain metadata, index of the sound under 'sources')."""
    from otio_avsync.metadata import plain

    (clip,) = [c for c in tl.find_clips() if c.name == clip_name and METADATA_KEY in c.metadata]
    meta = plain(clip.metadata[METADATA_KEY])
    (i,) = [i for i, m in enumerate(meta["sources"]) if m["audio_source"]["track"] == key]
    return clip, meta, i


def _audio_start(tl: otio.schema.Timeline, name: str) -> float:
    (clip,) = [c for c in tl.find_clips() if c.name == name]
    return clip.source_range.start_time.to_seconds()


def test_fix_follows_editor_decisions_and_holds_back_uncertain(audited: Audited) -> None:
    truth = audited.truth
    names = truth.clip_names
    fra, deu, jpn = (dub_key(truth, lang) for lang in ("fra", "deu", "jpn"))
    tl = audited.fresh()
    # Editor decisions as the review panel writes them.
    clip, meta, i = _source_meta(tl, names[0], fra)
    meta["sources"][i]["decision"] = {"action": "reject", "offset_ms": None}
    clip.metadata[METADATA_KEY] = meta
    clip, meta, i = _source_meta(tl, names[1], deu)
    meta["decision"] = {"action": "manual", "offset_ms": -4000.0, "source": deu}
    clip.metadata[METADATA_KEY] = meta
    # An uncertain answer on one clip, accepted by the editor on another.
    clip, meta, i = _source_meta(tl, names[4], jpn)
    meta["sources"][i]["status"] = "uncertain"
    clip.metadata[METADATA_KEY] = meta
    clip, meta, i = _source_meta(tl, names[5], jpn)
    meta["sources"][i]["status"] = "uncertain"
    meta["sources"][i]["decision"] = {"action": "accept", "offset_ms": None}
    clip.metadata[METADATA_KEY] = meta

    before = {
        n: _audio_start(tl, n)
        for n in (f"{names[0]}_fra", f"{names[1]}_deu", f"{names[4]}_jpn", f"{names[5]}_jpn")
    }
    work = copy.deepcopy(tl)
    report = apply_fixes(work)
    entries = {(e.clip, e.sound): e for e in report.entries}
    assert entries[(names[0], fra)].action == "skipped"
    assert "rejected" in entries[(names[0], fra)].reason
    assert _audio_start(work, f"{names[0]}_fra") == before[f"{names[0]}_fra"]
    # Manual: the sound is 4 s early, so the clip reads its media 4 s earlier.
    assert _audio_start(work, f"{names[1]}_deu") == pytest.approx(before[f"{names[1]}_deu"] - 4.0)
    assert (
        entries[(names[4], jpn)].action == "skipped"
        and "uncertain" in entries[(names[4], jpn)].reason
    )
    assert _audio_start(work, f"{names[4]}_jpn") == before[f"{names[4]}_jpn"]
    accepted = entries[(names[5], jpn)]
    assert accepted.action == "slipped"
    assert _audio_start(work, f"{names[5]}_jpn") == pytest.approx(
        before[f"{names[5]}_jpn"] + accepted.offset_ms / 1000.0
    )
    assert not report.unfixed_flagged  # the rejected one was the editor's call

    forced = copy.deepcopy(tl)
    report = apply_fixes(forced, force=True)
    assert {(e.clip, e.sound): e for e in report.entries}[(names[4], jpn)].action == "slipped"
    assert _audio_start(forced, f"{names[4]}_jpn") > before[f"{names[4]}_jpn"] + 0.4


def test_fix_reports_embedded_sound_as_not_fixable() -> None:
    clip = otio.schema.Clip(
        name="interview",
        media_reference=otio.schema.ExternalReference(target_url="interview.mov"),
        source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, 25), otio.opentime.RationalTime(250, 25)
        ),
        metadata={
            METADATA_KEY: {
                "status": "out_of_sync",
                "offset_ms": 200.0,
                "confidence": 0.9,
                "audio_source": {
                    "kind": "embedded",
                    "file": "interview.mov",
                    "stream_index": 1,
                    "language": "eng",
                },
            }
        },
    )
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    track.append(clip)
    tl = otio.schema.Timeline(name="own sound", tracks=[track])
    tl.metadata[METADATA_KEY] = {"summary": {"out_of_sync": 1}, "tracks": []}
    before = otio.adapters.write_to_string(tl)
    report = apply_fixes(tl)
    (entry,) = report.entries
    assert entry.action == "not_fixable" and "own audio stream" in entry.reason
    assert report.unfixed_flagged == [entry]
    assert otio.adapters.write_to_string(tl) == before
    assert revert_fixes(tl) == 0


def test_fixing_the_same_audit_twice_changes_nothing_more(audited: Audited) -> None:
    tl = audited.fresh()
    first = apply_fixes(tl)
    once = otio.adapters.write_to_string(tl)
    second = apply_fixes(tl)
    assert first.clips_changed > 0 and second.clips_changed == 0
    assert not second.slipped and not second.unfixed_flagged
    assert all("already fixed" in e.reason for e in second.entries if e.status == "out_of_sync")
    assert otio.adapters.write_to_string(tl) == once


def test_fix_needs_an_audited_timeline() -> None:
    with pytest.raises(AvsyncError, match="no audit"):
        apply_fixes(otio.schema.Timeline(name="raw"))


# -- the command line ------------------------------------------------------------------------


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_cli_fix_revert_and_errors(audited: Audited) -> None:
    folder = audited.truth.path.parent  # beside the media: relative URLs keep working
    src = folder / "audited.otio"
    src.write_text(audited.text)
    before = digest(src)
    fixed, reverted = folder / "fixed.otio", folder / "reverted.otio"
    proc = cli("fix", str(src), "-o", str(fixed))
    assert proc.returncode == 0, proc.stderr
    assert "slipped" in proc.stdout and "proposed" in proc.stdout
    assert digest(src) == before
    tl = otio.adapters.read_from_file(str(fixed))
    assert sum(
        isinstance(c.metadata.get(METADATA_KEY), Mapping) and "fix" in c.metadata[METADATA_KEY]
        for c in tl.find_clips()
    )
    proc = cli("fix", str(fixed), "-o", str(reverted), "--revert")
    assert proc.returncode == 0, proc.stderr
    assert otio.adapters.write_to_string(
        otio.adapters.read_from_file(str(reverted))
    ) == otio.adapters.write_to_string(otio.adapters.read_from_file(str(src)))

    proc = cli("fix", str(src), "-o", str(src))
    assert proc.returncode == 2 and "overwrite" in proc.stderr and "Traceback" not in proc.stderr
    proc = cli("fix", str(audited.truth.path), "-o", str(folder / "x.otio"))
    assert proc.returncode == 2 and "no audit" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    proc = cli(
        "audit", str(audited.truth.path), "--estimator", "baseline", "--reference-track", "klingon"
    )
    assert proc.returncode == 2 and "klingon" in proc.stderr and "Traceback" not in proc.stderr
    assert digest(src) == before


def test_consensus_says_why_it_is_uncertain() -> None:
    """One weak clip is too little evidence, not a disagreement between clips."""
    from otio_avsync.consensus import track_consensus
    from otio_avsync.results import BT1359, AudioSource, ClipResult

    def result(name: str, at_s: float, offset_ms: float, confidence: float) -> ClipResult:
        return ClipResult(
            name,
            Status.IN_SYNC,
            "",
            offset_ms=offset_ms,
            confidence=confidence,
            rate=25.0,
            audio_source=AudioSource("track", track="A2"),
            span_start_s=at_s,
            span_duration_s=4.0,
        )

    [one] = track_consensus([result("c1", 0.0, 13.0, 0.61)], tolerance=BT1359, min_confidence=0.5)
    assert one.status is Status.UNCERTAIN
    assert "disagree" not in one.message and "from 1 clip" in one.message
    scattered = [result(f"c{i}", 5.0 * i, v, 0.9) for i, v in enumerate([0, 400, -300, 900, -700])]
    [many] = track_consensus(scattered, tolerance=BT1359, min_confidence=0.5)
    assert many.status is Status.UNCERTAIN and "clips disagree" in many.message


# -- alignment under unrelated dialogue (no shared media needed) --------------------------


def _talk(n: int, rate: int, seed: int) -> np.ndarray:
    """Speech-like sound: voiced syllables (harmonics of a gliding pitch) and pauses."""
    rng = np.random.default_rng(seed)
    out = np.zeros(n)
    t = 0
    while t < n:
        length = int(rng.uniform(0.1, 0.35) * rate)
        if rng.random() < 0.75:
            k = np.arange(min(length, n - t))
            f0 = rng.uniform(90, 240) * (1 + 0.1 * k / rate)
            phase = 2 * np.pi * np.cumsum(f0) / rate
            tone = sum(np.sin(h * phase) / h for h in range(1, 12))
            out[t : t + len(k)] = tone * np.hanning(len(k)) * rng.uniform(0.5, 1.5)
        t += length + int(rng.uniform(0.0, 0.25) * rate)
    return out


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2)))


@pytest.mark.parametrize("bed_db", [-12.0, -20.0])
def test_reference_finds_a_quiet_bed_under_other_dialogue(bed_db: float) -> None:
    rate = 16000
    rng = np.random.default_rng(9)
    n = 40 * rate
    bed = np.convolve(rng.standard_normal(n), np.hanning(9), "same")  # coloured noise bed
    bed *= 10 ** (bed_db / 20) / _rms(bed)
    orig = _talk(n, rate, 1)
    orig = orig / _rms(orig) + bed
    dub = _talk(n, rate, 2)
    dub = dub / _rms(dub) + bed
    lag = 2.3456  # the dub clip is late by this
    h = 3.0
    a = round((15.0 - lag - h) * rate)
    sound = dub[a : a + round((8.0 + 2 * h) * rate)]
    r0 = round((15.0 - 10.0 - h) * rate)
    ref = orig[r0 : r0 + round((8.0 + 20.0 + 2 * h) * rate)]
    av = AVInput(
        frames=np.zeros((0, 1, 1), np.uint8),
        frame_times=np.zeros(0),
        fps=25.0,
        audio=sound.astype(np.float32),
        rate=rate,
        audio_start_s=-h,
        duration_s=8.0,
        reference=ref.astype(np.float32),
        reference_start_s=-10.0 - h,
    )
    est = ReferenceEstimator().estimate(av, search_ms=10000.0)
    assert est.confidence >= 0.5, est.evidence
    assert abs(est.offset_ms - lag * 1000.0) < 1.0, est.offset_ms
    # The same dialogue with no bed: nothing in common, and the estimator says so.
    none = ReferenceEstimator().estimate(
        AVInput(
            frames=av.frames,
            frame_times=av.frame_times,
            fps=25.0,
            audio=(sound - bed[a : a + len(sound)]).astype(np.float32),
            rate=rate,
            audio_start_s=-h,
            duration_s=8.0,
            reference=(ref - bed[r0 : r0 + len(ref)]).astype(np.float32),
            reference_start_s=-10.0 - h,
        ),
        search_ms=10000.0,
    )
    assert none.confidence < 0.5
    assert "no music or effects in common" in none.note


def test_dub_sharing_nothing_keeps_the_picture_estimate_and_says_so(tmp_path: Path) -> None:
    from scipy.io import wavfile

    truth = make_dub_timeline(
        tmp_path, {"ita": DubCase()}, clips=3, clip_s=4.0, head_s=4.0, fps=FPS, seed=4
    )
    (wav,) = [p for p in truth.media if p.name.endswith("_ita.wav")]
    rate, data = wavfile.read(wav)
    noise = np.random.default_rng(0).standard_normal(data.shape) * 3000
    wavfile.write(wav, rate, noise.astype(np.int16))  # a "dub" with nothing in common
    result = audit(read_timeline(truth.path), truth)
    for r in by_key(result)[dub_key(truth, "ita")].values():
        assert r.reference is not None and r.reference["used"] is False
        assert "shares no sound with A1 ORIG eng" in r.message
        assert "picture estimate alone" in r.message
        assert r.method.endswith("(picture only)")


def test_reference_taken_as_in_sync_is_said_in_the_message() -> None:
    from otio_avsync.dubbing import _combine
    from otio_avsync.estimators.base import Estimate
    from otio_avsync.results import BT1359, ClipResult

    res = ClipResult(clip_name="c", status=Status.UNCERTAIN, message="", rate=25.0)
    ref = ClipResult(clip_name="c", status=Status.UNCERTAIN, message="", rate=25.0)
    est = Estimate(480.0, 0.97, "reference", evidence={"z": 40.0, "ratio": 3.0})
    _combine(res, ref, est, "A1 ORIG", BT1359, 0.5, "none")
    assert res.status is Status.OUT_OF_SYNC and res.confidence >= 0.9
    assert abs(res.offset_ms - 480.0) < 1e-6
    assert "relative to the reference, taken as in sync" in res.message
