"""The timeline walk: which picture and which sound each job gets, in timeline time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import opentimelineio as otio
import pytest

from otio_avsync.jobs import build_jobs, placed_clips, resolve_media_path
from otio_avsync.results import Status

RATE = 24.0


def rt(frames: float, rate: float = RATE) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, rate)


def tr(start: float, dur: float, rate: float = RATE) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(rt(start, rate), rt(dur, rate))


@dataclass
class _Stream:
    index: int
    language: str | None


@dataclass
class _Info:
    video: object
    audio: tuple


def fake_probe(path: Path) -> _Info:
    """Files named *silent* have no audio; *dual* have two languages."""
    name = Path(path).name
    if "silent" in name:
        return _Info(video=object(), audio=())
    if "dual" in name:
        return _Info(video=object(), audio=(_Stream(1, "eng"), _Stream(2, "fra")))
    return _Info(video=object(), audio=(_Stream(1, None),))


def clip(
    name: str, url: str | None, src: otio.opentime.TimeRange, avail_start: float = 0
) -> otio.schema.Clip:
    ref = (
        otio.schema.ExternalReference(url, available_range=tr(avail_start, 100000))
        if url is not None
        else otio.schema.MissingReference()
    )
    return otio.schema.Clip(name=name, media_reference=ref, source_range=src)


@pytest.fixture
def media(tmp_path: Path) -> Path:
    for name in ("a.mov", "b.mov", "dub.wav", "silent.mov", "dual.mov"):
        (tmp_path / name).write_bytes(b"x")
    return tmp_path


def timeline(*tracks: otio.schema.Track) -> otio.schema.Timeline:
    tl = otio.schema.Timeline(name="t")
    tl.global_start_time = rt(86400)  # 01:00:00:00
    for t in tracks:
        tl.tracks.append(t)
    return tl


def test_resolve_media_path(tmp_path: Path) -> None:
    f = tmp_path / "x y.mov"
    assert resolve_media_path(f.as_uri(), None) == f
    assert resolve_media_path("x y.mov", tmp_path) == f
    assert resolve_media_path(str(f), "/elsewhere") == f
    assert resolve_media_path("http://host/x.mov", tmp_path) is None
    assert resolve_media_path("", tmp_path) is None


def test_sync_sound_and_dub_track(media: Path) -> None:
    v = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    v.append(clip("shot1", "a.mov", tr(100, 48)))
    v.append(clip("shot2", "b.mov", tr(200, 48)))
    a1 = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    a1.append(clip("shot1", "a.mov", tr(98, 48)))
    a1.append(clip("shot2", "b.mov", tr(200, 48)))
    a2 = otio.schema.Track(name="dub", kind=otio.schema.TrackKind.Audio)
    a2.append(otio.schema.Gap(source_range=tr(0, 24)))
    a2.append(clip("dub", "dub.wav", tr(1000, 72)))
    jobs = build_jobs(timeline(v, a1, a2), base_dir=media, probe=fake_probe)
    by = {(j.clip_name, j.source.track): j for j in jobs}
    assert set(by) == {("shot1", "A1"), ("shot1", "dub"), ("shot2", "A1"), ("shot2", "dub")}
    j = by[("shot1", "A1")]
    assert j.status is None and j.source.kind == "sync_sound"
    assert j.span_start_s == 0 and j.span_duration_s == 2.0
    assert j.picture.media_time_s == pytest.approx(100 / RATE)
    assert j.sound[0].media_time_s == pytest.approx(98 / RATE)
    assert j.record_tc == "01:00:00:00"
    d = by[("shot1", "dub")]
    assert d.source.kind == "track"
    # The dub starts one second in: only the second half of shot1 has dub sound.
    assert d.sound[0].timeline_start_s == pytest.approx(1.0)
    assert d.sound[0].media_time_s == pytest.approx(1000 / RATE)
    d2 = by[("shot2", "dub")]
    assert d2.sound[0].media_time_s == pytest.approx((1000 + 24) / RATE)
    assert by[("shot2", "A1")].record_tc == "01:00:02:00"


def test_audio_spanning_several_clips(media: Path) -> None:
    v = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    v.append(clip("long", "a.mov", tr(0, 96)))
    a = otio.schema.Track(kind=otio.schema.TrackKind.Audio)
    a.append(clip("p1", "a.mov", tr(0, 30)))
    a.append(otio.schema.Gap(source_range=tr(0, 10)))
    a.append(clip("p2", "b.mov", tr(500, 56)))
    (job,) = build_jobs(timeline(v, a), base_dir=media, probe=fake_probe)
    assert [s.clip_name for s in job.sound] == ["p1", "p2"]
    assert job.sound[1].timeline_start_s == pytest.approx(40 / RATE)
    assert job.source.kind == "track" and job.source.clips == ["p1", "p2"]


def test_embedded_streams_when_no_audio_track(media: Path) -> None:
    v = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    v.append(clip("dual", "dual.mov", tr(10, 48)))
    v.append(clip("mute", "silent.mov", tr(10, 48)))
    jobs = build_jobs(timeline(v), base_dir=media, probe=fake_probe)
    dual = [j for j in jobs if j.clip_name == "dual"]
    assert [(j.source.stream_index, j.source.language) for j in dual] == [(1, "eng"), (2, "fra")]
    assert all(j.source.kind == "embedded" and j.status is None for j in dual)
    (mute,) = [j for j in jobs if j.clip_name == "mute"]
    assert mute.status is Status.NO_AUDIO


def test_unanalysable_clips_get_status_not_crash(media: Path) -> None:
    v = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    v.append(clip("offline", None, tr(0, 24)))
    v.append(clip("gone", "nothere.mov", tr(0, 24)))
    warped = clip("warped", "a.mov", tr(0, 24))
    warped.effects.append(otio.schema.LinearTimeWarp(time_scalar=2.0))
    v.append(warped)
    frozen = clip("frozen", "a.mov", tr(0, 24))
    frozen.effects.append(otio.schema.FreezeFrame())
    v.append(frozen)
    gen = otio.schema.Clip(
        name="bars",
        media_reference=otio.schema.GeneratorReference(
            generator_kind="SMPTEBars", available_range=tr(0, 24)
        ),
        source_range=tr(0, 24),
    )
    v.append(gen)
    v.append(clip("empty", "a.mov", tr(0, 0)))
    v.append(clip("ok", "a.mov", tr(0, 24)))
    jobs = {j.clip_name: j for j in build_jobs(timeline(v), base_dir=media, probe=fake_probe)}
    assert jobs["offline"].status is Status.MEDIA_MISSING
    assert jobs["gone"].status is Status.MEDIA_MISSING and "nothere.mov" in jobs["gone"].message
    assert jobs["warped"].status is Status.UNSUPPORTED and "speed" in jobs["warped"].message
    assert jobs["frozen"].status is Status.UNSUPPORTED
    assert jobs["bars"].status is Status.UNSUPPORTED
    assert jobs["empty"].status is Status.UNSUPPORTED
    assert jobs["ok"].status is None


def test_missing_audio_media_is_reported(media: Path) -> None:
    v = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    v.append(clip("s", "a.mov", tr(0, 24)))
    a = otio.schema.Track(kind=otio.schema.TrackKind.Audio)
    a.append(clip("s", None, tr(0, 24)))
    (job,) = build_jobs(timeline(v, a), base_dir=media, probe=fake_probe)
    assert job.status is Status.MEDIA_MISSING and "audio" in job.message


def test_transitions_trim_the_analysed_span(media: Path) -> None:
    v = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    v.append(clip("A", "a.mov", tr(0, 48)))
    v.append(otio.schema.Transition(in_offset=rt(6), out_offset=rt(6)))
    v.append(clip("B", "b.mov", tr(0, 48)))
    jobs = {j.clip_name: j for j in build_jobs(timeline(v), base_dir=media, probe=fake_probe)}
    assert jobs["A"].span_start_s == 0 and jobs["A"].span_duration_s == pytest.approx(42 / RATE)
    assert jobs["B"].span_start_s == pytest.approx(54 / RATE)
    assert jobs["B"].span_duration_s == pytest.approx(42 / RATE)
    assert jobs["B"].picture.media_time_s == pytest.approx(6 / RATE)


def test_nested_stack_clips_are_placed_in_timeline_time(media: Path) -> None:
    inner_v = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    inner_v.append(clip("nested", "a.mov", tr(100, 48)))
    stack = otio.schema.Stack(name="compound", source_range=tr(12, 24))
    stack.append(inner_v)
    v = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    v.append(otio.schema.Gap(source_range=tr(0, 24)))
    v.append(stack)
    pcs = placed_clips(timeline(v))
    (pc,) = [p for p in pcs if p.clip.name == "nested"]
    # The stack shows frames 12..36 of its content, placed at timeline frame 24:
    # the clip's frame 0 would sit at 24 - 12 = 12; what is visible is 24..48.
    assert pc.start_s == pytest.approx(12 / RATE)
    (job,) = build_jobs(timeline(v), base_dir=media, probe=fake_probe, max_span_s=None)
    assert job.status is None


def test_long_clips_analyse_the_middle(media: Path) -> None:
    v = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    v.append(clip("long", "a.mov", tr(0, 24 * 600)))
    (job,) = build_jobs(timeline(v), base_dir=media, probe=fake_probe, max_span_s=60)
    assert job.span_duration_s == 60 and job.span_start_s == pytest.approx(270)
    assert job.picture.media_time_s == pytest.approx(270)
    assert job.span_media_start.to_seconds() == pytest.approx(270)
