"""One media file (and optionally a separate sound file) as a one-clip timeline.

``otio-avsync check`` uses this so that single files go through exactly the
same pipeline as timelines.
"""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio

from otio_avsync.errors import MediaError


def timeline_for_media(media: str | Path, audio: str | Path | None = None) -> otio.schema.Timeline:
    """timeline_for_media(media, audio=None) -> Timeline

    The picture of ``media`` on V1; ``audio``'s sound on A1 over the same range
    when given, else nothing on A1 (so the media's own streams are used).
    """
    from otio_avsync.render import probe_media

    media = Path(media).resolve()
    info = probe_media(media)
    if info.video is None:
        raise MediaError(f"{media} has no video stream to check")
    fps = info.video.fps or 25
    rate = float(fps)
    duration = otio.opentime.from_seconds(info.duration_s, rate).round()
    rng = otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate), duration)
    tl = otio.schema.Timeline(name=media.name)
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    video.append(
        otio.schema.Clip(
            name=media.name,
            media_reference=otio.schema.ExternalReference(media.as_uri(), available_range=rng),
            source_range=rng,
        )
    )
    tl.tracks.append(video)
    if audio is not None:
        audio = Path(audio).resolve()
        ainfo = probe_media(audio)
        if not ainfo.audio:
            raise MediaError(f"{audio} has no audio stream to check against")
        arange = otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, rate),
            otio.opentime.from_seconds(ainfo.duration_s, rate).round(),
        )
        clip_range = otio.opentime.TimeRange(rng.start_time, min(rng.duration, arange.duration))
        track = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
        track.append(
            otio.schema.Clip(
                name=audio.name,
                media_reference=otio.schema.ExternalReference(
                    audio.as_uri(), available_range=arange
                ),
                source_range=clip_range,
            )
        )
        tl.tracks.append(track)
    return tl
