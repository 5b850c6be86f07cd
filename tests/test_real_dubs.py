"""Dubs made the way real dubs are made: real speech of other speakers over the same real bed.

Needs ``../shared/media`` (skipped when absent). The reels come from
:func:`otio_avsync.realdubs.make_real_dub_timeline` with the *held-out* speakers and
beds, which the alignment's thresholds were never chosen on.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from otio_avsync.audit import AuditOptions, audit_timeline
from otio_avsync.realdubs import (
    HELD_OUT_REPOSITORIES,
    DubSpec,
    make_real_dub_timeline,
    sources_from_manifest,
    speaker_of,
)
from otio_avsync.results import Status
from otio_avsync.timeline_io import read_timeline

SHARED = Path(__file__).resolve().parents[2] / "shared" / "media"
pytestmark = [
    pytest.mark.skipif(
        not (SHARED / "manifest.json").is_file(), reason="../shared/media is not present"
    ),
    pytest.mark.realmedia,
    pytest.mark.slow,
]
DUBS = {
    "fra": DubSpec(clip_slip_ms=4000.0),  # every clip slipped on its own
    "deu": DubSpec(remix="all", slip_ms=-6500.0),  # the whole track, M&E remixed
}


def _audit(tmp_path: Path, bed_db: float | None):
    truth = make_real_dub_timeline(
        tmp_path, sources_from_manifest(SHARED, "held"), DUBS, bed_db=bed_db, clips=6, seed=3
    )
    result = audit_timeline(
        read_timeline(truth.path), AuditOptions(estimator="baseline"), base_dir=truth.path.parent
    )
    dubs = [r for r in result.results if r.audio_source.key() != truth.reference_track]
    return truth, dubs


def test_sources_never_mix_splits_speakers_or_held_out_repositories() -> None:
    tune, held = sources_from_manifest(SHARED, "tune"), sources_from_manifest(SHARED, "held")
    assert tune.talk and held.talk and tune.beds and held.beds
    assert not {s for s, _ in tune.talk} & {s for s, _ in held.talk}
    assert not {p for _, p in tune.beds} & {p for _, p in held.beds}
    for _, path in (*tune.talk, *held.talk, *tune.beds, *held.beds):
        assert not any(repo.split("/")[1] in path.name for repo in HELD_OUT_REPOSITORIES)
    # Three projects ship the same HDTF recording under other names: one speaker.
    assert speaker_of("SadTalker__examples_ref_video_WDA_AlexandriaOcasioCortez_000.mp4") == (
        speaker_of("video-retalking__examples_face_3.mp4")
    )


def test_dub_under_unrelated_dialogue_is_found_within_a_frame(tmp_path: Path) -> None:
    truth, dubs = _audit(tmp_path, -18.0)
    assert len(dubs) == 2 * 6
    right = 0
    for r in dubs:
        exp = truth.expected[r.audio_source.key()][r.clip_name]
        answered = r.status in (Status.IN_SYNC, Status.OUT_OF_SYNC)
        if answered:
            assert abs(r.offset_ms - exp) <= 40.0, (r.clip_name, r.offset_ms, exp, r.message)
            assert "Aligned to the reference 'A1 ORIG'" in r.message
            right += 1
    assert right >= 11


def test_dub_that_shares_no_bed_is_never_confident_and_says_why(tmp_path: Path) -> None:
    _truth, dubs = _audit(tmp_path, None)
    for r in dubs:
        assert r.reference is not None and not r.reference["used"]
        assert r.status not in (Status.IN_SYNC, Status.OUT_OF_SYNC) or "picture only" in r.method
        assert "A1 ORIG" in r.message and "picture estimate alone" in r.message, r.message
