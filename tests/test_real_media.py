"""A few real clips from ../shared/media audited end to end (skipped when absent).

The audit runs the default estimator, the attention model. Real-world files
(various codecs, sizes and rates) must go through the whole pipeline and come
back with a verdict and a message; the talking clips whose sync is trusted by
origin must come back in sync, and no clip, all published in sync, may be
flagged. The talking clips picked here are in the model's training split, so
this shows that the pipeline reads real files as training did, not how
accurate the model is: ``bench/bench_model.py`` measures that on the
validation split.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest

from otio_avsync.audit import audit_timeline
from otio_avsync.decode import read_video
from otio_avsync.model.corpus import trusted_talk
from otio_avsync.model.frontend import (
    FRAME_WIDTH,
    landmarks_available,
    track_mouth,
    track_mouth_landmarks,
)
from otio_avsync.results import Status
from otio_avsync.single import timeline_for_media

SHARED = Path(__file__).resolve().parents[2] / "shared" / "media"

pytestmark = [
    pytest.mark.realmedia,
    pytest.mark.skipif(
        not (SHARED / "manifest.json").is_file(), reason="../shared/media is not present"
    ),
]


def _pick(n_per_category: int = 2) -> list[Path]:
    records = json.loads((SHARED / "manifest.json").read_text())
    chosen: dict[str, list[Path]] = {}
    for rec in sorted(records, key=lambda r: r.get("duration_s") or 1e9):
        cat = rec.get("category")
        path = SHARED / rec["file"]
        if cat in ("TALK", "AV") and path.is_file() and 4 <= (rec.get("duration_s") or 0) <= 30:
            chosen.setdefault(cat, [])
            if len(chosen[cat]) < n_per_category:
                chosen[cat].append(path)
    return [p for paths in chosen.values() for p in paths]


def test_real_clips_end_to_end(tmp_path: Path) -> None:
    clips = _pick()
    assert clips, "manifest lists no usable real clips"
    tl = otio.schema.Timeline(name="real")
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    for path in clips:
        video.append(timeline_for_media(path).tracks[0][0].deepcopy())
    tl.tracks.append(video)
    result = audit_timeline(tl)
    assert len(result.results) >= len(clips)
    for r in result.results:
        assert r.status.analysable, (r.clip_name, r.status, r.message)
        assert r.message
        assert 0.0 <= r.confidence <= 1.0
        assert r.status is not Status.OUT_OF_SYNC, (r.clip_name, r.offset_ms, r.confidence)
    trusted = [r for r in result.results if trusted_talk(r.clip_name)]
    assert trusted, [p.name for p in clips]
    for r in trusted:
        assert r.status is Status.IN_SYNC, (r.clip_name, r.status, r.offset_ms, r.confidence)
    out = tmp_path / "real.otio"
    otio.adapters.write_to_file(tl, str(out))
    again = otio.adapters.read_from_file(str(out))
    assert all(len(c.markers) == 1 for c in again.find_clips())


@pytest.mark.skipif(not landmarks_available(), reason="MediaPipe is not installed")
def test_landmark_mouth_box_sits_on_the_mouth_of_a_real_face() -> None:
    """On a real talking face the face mesh tracks every frame, and its mouth crop lies
    inside the lower half of the face that the Haar cascade finds, narrower than it."""
    path = SHARED / "real" / "PC-AVS__misc_Input_00098.mp4"
    if not path.is_file():
        pytest.skip(f"{path.name} is not present")
    video = read_video(path, 0.0, 4.0, width=FRAME_WIDTH, gray=True)
    mesh = track_mouth_landmarks(video.frames)
    haar = track_mouth(video.frames)
    assert not np.isnan(mesh).any() and not np.isnan(haar).any()
    centre_x = (mesh[:, 0] + mesh[:, 2]) / 2
    centre_y = (mesh[:, 1] + mesh[:, 3]) / 2
    assert ((centre_x > haar[:, 0]) & (centre_x < haar[:, 2])).mean() > 0.95
    assert ((centre_y > haar[:, 1] - 0.05) & (centre_y < haar[:, 3])).mean() > 0.95
    assert np.median(mesh[:, 2] - mesh[:, 0]) < np.median(haar[:, 2] - haar[:, 0])
    # The crop follows the head, not the lips: it moves little from frame to frame.
    assert np.abs(np.diff(centre_y)).max() < 0.03
