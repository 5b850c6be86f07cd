"""Small generated timelines for the scaling tests (executors, cache, Ray)."""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio

from otio_avsync.testmedia import make_slipped_timeline
from otio_avsync.timeline_io import read_timeline

#: Frames each sound is late: in sync, in sync, early (flagged), late (flagged).
SLIPS = [0, 1, -3, 5]


def scale_timeline(folder: Path) -> Path:
    """Four clips (V1 and A1, one media file each), made once per folder."""
    path = folder / "scale.otio"
    if not path.exists():
        make_slipped_timeline(folder, SLIPS, clip_s=4.0, handle_s=0.6, seed=11, name="scale")
    return path


def with_bad_media(folder: Path) -> Path:
    """The timeline with a fifth clip whose media is not a media file (it fails to decode)."""
    target = folder / "scale-bad.otio"
    if target.exists():
        return target
    tl = read_timeline(scale_timeline(folder))
    bad = folder / "broken.mp4"
    bad.write_bytes(b"not a movie" * 1000)
    for track in tl.tracks:
        clip = track[0].clone()
        clip.name = "broken"
        clip.media_reference = otio.schema.ExternalReference(
            target_url=bad.name, available_range=clip.media_reference.available_range
        )
        track.append(clip)
    otio.adapters.write_to_file(tl, str(target))
    return target


def markers_per_clip(timeline: otio.schema.Timeline) -> dict[str, int]:
    """How many of our markers each picture clip carries."""
    return {
        c.name: sum(1 for m in c.markers if "otio_avsync" in m.metadata)
        for c in timeline.video_tracks()[0].find_clips()
    }
