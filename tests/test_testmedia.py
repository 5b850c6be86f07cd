"""Tests of the synthetic media generator: the ground truth must match the bytes written.

Everything is decoded with PyAV directly (not with otio_avsync.decode) so these
tests check the generator independently of the code it exists to test.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import opentimelineio as otio
import pytest

from otio_avsync import testmedia as tm
from otio_avsync.testmedia import ClipSpec, make_clip, make_demo, make_slipped_timeline

SMALL = {"width": 160, "height": 90}
ONSET_THRESHOLD = 0.25  # events peak at 0.5 full scale; distractors stay near 0.1


# --------------------------------------------------------------------------- helpers


def decode_audio(path: Path, index: int = 0) -> tuple[np.ndarray, int, float]:
    """Decoded audio (channels, samples) as float, its rate and the first sample's time.

    Asserts that frames are contiguous (within the container's timestamp
    resolution), so sample index / rate + start is a time.
    """
    with av.open(str(path)) as container:
        stream = container.streams.audio[index]
        sr = stream.codec_context.sample_rate
        chunks = []
        start = None
        expected_next = None
        for frame in container.decode(stream):
            arr = frame.to_ndarray()
            if np.issubdtype(arr.dtype, np.integer):
                arr = arr / float(np.iinfo(arr.dtype).max)
            arr = (
                arr.reshape(-1, frame.samples)
                if frame.format.is_planar
                else arr.reshape(frame.samples, -1).T
            )
            t = float(frame.pts * frame.time_base)
            if start is None:
                start = t
            else:
                # Matroska rounds timestamps to 1 ms: allow the container's resolution.
                slack = max(1.5 / sr, float(stream.time_base))
                assert abs(t - expected_next) < slack, "gap or overlap in decoded audio"
            expected_next = t + frame.samples / sr
            chunks.append(arr.astype(np.float64))
    assert start is not None, "no audio decoded"
    return np.concatenate(chunks, axis=1), sr, start


def onset_after(audio: np.ndarray, sr: int, start: float, t: float) -> float:
    """Time of the first sample at or after ``t`` whose magnitude exceeds the threshold."""
    env = np.max(np.abs(audio), axis=0)
    i0 = max(0, round((t - start) * sr))
    hits = np.nonzero(env[i0:] > ONSET_THRESHOLD)[0]
    assert hits.size, f"no onset after {t:.3f} s"
    return start + (i0 + hits[0]) / sr


def motion_energy(path: Path) -> tuple[np.ndarray, list[float]]:
    """Mean absolute luma difference per frame (0 for the first) and frame times."""
    energy, times = [], []
    prev = None
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            gray = frame.to_ndarray(format="gray").astype(np.float32)
            energy.append(0.0 if prev is None else float(np.mean(np.abs(gray - prev))))
            times.append(float(frame.pts * frame.time_base))
            prev = gray
    return np.array(energy), times


def onset_strength(energy: np.ndarray) -> np.ndarray:
    return np.maximum(np.diff(energy, prepend=energy[:1]), 0.0)


def file_timecode(path: Path) -> str | None:
    """Start timecode as FFmpeg exposes it for mov/mp4 (stream), mkv and mxf (container)."""
    with av.open(str(path)) as container:
        meta = {k.lower(): v for k, v in container.metadata.items()}
        for stream in container.streams:
            meta.update(
                {k.lower(): v for k, v in stream.metadata.items() if k.lower() == "timecode"}
            )
        return meta.get("timecode")


def measured_offset_ms(path: Path, media_start_s: float = 0.0, media_end_s: float = 1e9) -> float:
    """Median (sound onset - picture onset) over picture events in a time window of a file."""
    energy, times = motion_energy(path)
    strength = onset_strength(energy)
    audio, sr, a0 = decode_audio(path)
    diffs = []
    for i in np.nonzero(strength > 2.5)[0]:
        t = times[i]
        if media_start_s + 0.3 <= t <= media_end_s - 0.5:
            diffs.append(onset_after(audio, sr, a0, t - 0.3) - t)
    assert len(diffs) >= 2, "too few picture events detected"
    return float(np.median(diffs)) * 1000.0


# --------------------------------------------------------------------------- clips

CODEC_MATRIX = [
    ("mp4", "h264", "aac"),
    ("mp4", "hevc", "mp3"),
    ("mp4", "mpeg2video", "aac"),
    ("mp4", "mjpeg", "aac"),
    ("mov", "prores_ks", "pcm_s16le"),
    ("mov", "dnxhd", "pcm_s24le"),
    ("mov", "h264", "aac"),
    ("mkv", "h264", "libopus"),
    ("mkv", "mpeg4", "flac"),
    ("mkv", "libvpx-vp9", "libopus"),
    ("mxf", "mpeg2video", "pcm_s16le"),
    ("mxf", "dnxhd", "pcm_s24le"),
]


@pytest.mark.parametrize(("container", "vcodec", "acodec"), CODEC_MATRIX)
def test_codec_container_matrix(tmp_path: Path, container: str, vcodec: str, acodec: str) -> None:
    if vcodec not in tm.available_video_codecs() or acodec not in tm.available_audio_codecs():
        pytest.skip(f"{vcodec}/{acodec} not encodable in this build")
    size = {"width": 256, "height": 144} if vcodec == "dnxhd" else SMALL  # DNxHR minimum
    spec = ClipSpec(
        duration_s=2.0,
        container=container,
        video_codec=vcodec,
        audio_codec=acodec,
        languages=("eng", "fra"),
        timecode="01:00:10:00",
        channels=1 if acodec == "mp3" else 2,
        **size,
    )
    truth = make_clip(tmp_path / f"clip.{container}", spec)
    assert truth.path.exists()
    with av.open(str(truth.path)) as c:
        assert len(c.streams.video) == 1
        assert len(c.streams.audio) == 2
        video = c.streams.video[0]
        assert video.average_rate == Fraction(25)
        assert (video.codec_context.width, video.codec_context.height) == (
            size["width"],
            size["height"],
        )
        for audio in c.streams.audio:
            assert audio.codec_context.sample_rate == 48000
            assert audio.codec_context.channels == spec.channels
        if container != "mxf":  # the MXF muxer does not store stream languages
            assert [s.metadata.get("language") for s in c.streams.audio] == ["eng", "fra"]
        assert abs(c.duration / 1e6 - 2.0) < 0.05
        frames = sum(1 for _ in c.decode(video=0))
    assert frames == truth.frame_count == 50
    assert file_timecode(truth.path) == "01:00:10:00"


@pytest.mark.parametrize(
    "fps",
    [
        Fraction(24000, 1001),
        Fraction(24),
        Fraction(25),
        Fraction(30000, 1001),
        Fraction(30),
        Fraction(50),
        Fraction(60000, 1001),
    ],
    ids=str,
)
def test_frame_rates_are_exact(tmp_path: Path, fps: Fraction) -> None:
    truth = make_clip(tmp_path / "r.mov", ClipSpec(duration_s=1.2, fps=fps, **SMALL))
    with av.open(str(truth.path)) as c:
        assert c.streams.video[0].average_rate == fps
        n = sum(1 for _ in c.decode(video=0))
    assert n == truth.frame_count == round(1.2 * fps)
    # Event times are frame-aligned.
    for t in truth.event_times_s:
        assert abs(t * fps - round(t * fps)) < 1e-6


def test_mpeg2_rejects_illegal_rate_and_accepts_ntsc(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="MPEG-2"):
        make_clip(tmp_path / "a.mp4", ClipSpec(video_codec="mpeg2video", fps=Fraction(15)))
    truth = make_clip(
        tmp_path / "b.mpg.mp4",
        ClipSpec(duration_s=1.2, video_codec="mpeg2video", fps=Fraction(30000, 1001), **SMALL),
    )
    with av.open(str(truth.path)) as c:
        assert c.streams.video[0].average_rate == Fraction(30000, 1001)


@pytest.mark.parametrize("offset_ms", [0.0, 120.0, -80.0])
@pytest.mark.parametrize(
    ("container", "acodec"),
    [("mp4", "aac"), ("mkv", "aac"), ("mov", "pcm_s16le"), ("mkv", "libopus"), ("mp4", "mp3")],
)
def test_decoded_sound_onsets_match_truth(
    tmp_path: Path, container: str, acodec: str, offset_ms: float
) -> None:
    """Every sound event (beeps, knocks, syllables) starts at event + offset, +-2 ms.

    This is also the AAC/MP3/Opus priming check: a muxer that failed to signal the
    encoder delay would shift every onset by 13-26 ms.
    """
    spec = ClipSpec(
        duration_s=3.0, offset_ms=offset_ms, container=container, audio_codec=acodec, **SMALL
    )
    truth = make_clip(tmp_path / f"o.{container}", spec)
    audio, sr, start = decode_audio(truth.path)
    assert abs(start) < 1e-6, "decoded audio does not start at 0"
    assert len(truth.sound_times_s) == len(truth.event_times_s) >= 2
    for t_pic, t_snd in zip(truth.event_times_s, truth.sound_times_s, strict=True):
        assert t_snd == pytest.approx(t_pic + offset_ms / 1000)
        got = onset_after(audio, sr, start, t_snd - 0.15)
        assert abs(got - t_snd) <= 0.002, f"onset {got:.4f} s, expected {t_snd:.4f} s"


def test_first_event_clear_of_the_start_and_gaps_irregular() -> None:
    spec = ClipSpec(duration_s=30.0)
    frames = tm._event_frames(spec, np.random.default_rng([spec.seed, 1]))
    times = np.array(frames) / 25.0
    assert times[0] >= tm.FIRST_EVENT_MIN_S
    assert times[-1] <= spec.duration_s - tm.TAIL_S
    gaps = np.diff(times)
    assert gaps.min() >= 0.35 - 0.04 and gaps.max() <= 1.3 + 0.04
    assert gaps.std() > 0.15  # irregular: no periodic correlation peaks


def test_negative_offset_near_start_clips_sound(tmp_path: Path) -> None:
    track = np.zeros(10)
    tm._place(track, np.arange(1.0, 6.0), -2)  # starts 2 samples before the track
    assert track[:4].tolist() == [3.0, 4.0, 5.0, 0.0]
    tm._place(track, np.ones(5), 8)  # runs past the end
    assert track[8:].tolist() == [1.0, 1.0]
    truth = make_clip(tmp_path / "n.mp4", ClipSpec(duration_s=2.0, offset_ms=-900.0, **SMALL))
    assert truth.sound_times_s[0] < 0
    audio, sr, _ = decode_audio(truth.path)
    assert abs(audio.shape[1] / sr - 2.0) < 0.03


@pytest.mark.parametrize("scene", ["flash", "ball", "mouth", "mixed"])
def test_picture_events_are_motion_onsets(tmp_path: Path, scene: str) -> None:
    truth = make_clip(tmp_path / "m.mp4", ClipSpec(duration_s=4.0, scene=scene, seed=5, **SMALL))
    energy, _ = motion_energy(truth.path)
    strength = onset_strength(energy)
    events = [round(t * 25) for t in truth.event_times_s]
    assert len(events) >= 3
    assert set(truth.event_kinds) == ({scene} if scene != "mixed" else set(tm._KINDS))
    others = np.delete(strength, events)
    assert others.max() > 0.05, "distractor clutter should move"
    for frame in events:
        assert strength[frame] > 2.5 * others.max(), f"weak picture event at frame {frame}"
        assert int(np.argmax(energy[frame - 2 : frame + 3])) == 2


def test_distractors_present_but_weaker(tmp_path: Path) -> None:
    busy = make_clip(tmp_path / "d.mp4", ClipSpec(duration_s=3.0, scene="flash", **SMALL))
    audio, sr, _ = decode_audio(busy.path)
    t0 = busy.sound_times_s[0]
    before = audio[:, : round((t0 - 0.05) * sr)]
    rms = float(np.sqrt(np.mean(before**2)))
    assert 0.01 < rms < 0.06  # music bed + noise present, well under the events
    assert np.max(np.abs(before)) < ONSET_THRESHOLD * 0.8
    assert np.max(np.abs(audio)) > 0.4  # events peak near 0.5
    quiet = make_clip(
        tmp_path / "q.mp4", ClipSpec(duration_s=3.0, scene="flash", distractors=False, **SMALL)
    )
    audio_q, _, _ = decode_audio(quiet.path)
    assert np.max(np.abs(audio_q[:, : round((t0 - 0.05) * sr)])) < 1e-3
    energy, _ = motion_energy(quiet.path)
    assert np.median(energy) < 0.05  # no clutter: nothing moves between flashes


def test_still_and_silent_clips(tmp_path: Path) -> None:
    still = make_clip(tmp_path / "s.mp4", ClipSpec(duration_s=2.0, still=True, **SMALL))
    assert still.event_times_s == ()
    energy, _ = motion_energy(still.path)
    assert energy.max() < 0.3
    audio, sr, start = decode_audio(still.path)
    assert onset_after(audio, sr, start, 0.0) == pytest.approx(still.sound_times_s[0], abs=0.002)

    silent = make_clip(tmp_path / "q.mp4", ClipSpec(duration_s=2.0, silent=True, **SMALL))
    assert silent.sound_times_s == () and len(silent.event_times_s) >= 1
    audio, _, _ = decode_audio(silent.path)
    assert 0 < np.sqrt(np.mean(audio**2)) < 0.002 and np.max(np.abs(audio)) < 0.01
    energy, _ = motion_energy(silent.path)
    assert energy.max() > 5  # the picture still has its events


def test_languages_channels_and_stream_choices(tmp_path: Path) -> None:
    dub = make_clip(
        tmp_path / "dub.mkv",
        ClipSpec(
            duration_s=2.5,
            container="mkv",
            scene="mouth",
            channels=6,
            languages=("eng", "deu", "jpn"),
            **SMALL,
        ),
    )
    with av.open(str(dub.path)) as c:
        assert [s.metadata.get("language") for s in c.streams.audio] == ["eng", "deu", "jpn"]
        assert all(s.codec_context.channels == 6 for s in c.streams.audio)
        assert c.streams.audio[0].codec_context.layout.name == "5.1"
    eng, sr, s0 = decode_audio(dub.path, 0)
    deu, _, s1 = decode_audio(dub.path, 1)
    for t in dub.sound_times_s:  # same timing in every dub...
        assert abs(onset_after(eng, sr, s0, t - 0.1) - t) <= 0.002
        assert abs(onset_after(deu, sr, s1, t - 0.1) - t) <= 0.002
    n = min(eng.shape[1], deu.shape[1])
    centre = 2  # ...but a different voice (FC carries the dialogue)
    corr = np.corrcoef(eng[centre, :n], deu[centre, :n])[0, 1]
    assert corr < 0.5

    mono = make_clip(tmp_path / "mono.mp4", ClipSpec(duration_s=1.5, channels=1, **SMALL))
    with av.open(str(mono.path)) as c:
        assert c.streams.audio[0].codec_context.channels == 1

    mute = make_clip(tmp_path / "mute.mp4", ClipSpec(duration_s=1.5, languages=(), **SMALL))
    with av.open(str(mute.path)) as c:
        assert len(c.streams.audio) == 0 and len(c.streams.video) == 1
    assert mute.sound_times_s == ()

    wav_like = make_clip(
        tmp_path / "audio.mov",
        ClipSpec(
            duration_s=1.5, video=False, container="mov", audio_codec="pcm_s16le", sample_rate=44100
        ),
    )
    with av.open(str(wav_like.path)) as c:
        assert len(c.streams.video) == 0 and len(c.streams.audio) == 1
        assert c.streams.audio[0].codec_context.sample_rate == 44100
    assert wav_like.frame_count == 0


def test_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no_such_codec"):
        make_clip(tmp_path / "x.mp4", ClipSpec(video_codec="no_such_codec"))
    with pytest.raises(ValueError, match="pcm_q99"):
        make_clip(tmp_path / "x.mp4", ClipSpec(audio_codec="pcm_q99"))
    with pytest.raises(ValueError, match="scene"):
        make_clip(tmp_path / "x.mp4", ClipSpec(scene="fireworks"))
    with pytest.raises(ValueError, match="hevc"):  # MXF cannot carry HEVC
        make_clip(
            tmp_path / "x.mxf",
            ClipSpec(
                duration_s=1.2,
                container="mxf",
                video_codec="hevc",
                audio_codec="pcm_s16le",
                **SMALL,
            ),
        )
    assert not (tmp_path / "x.mxf").exists()


def test_seed_determinism(tmp_path: Path) -> None:
    a = make_clip(tmp_path / "a.mp4", ClipSpec(duration_s=3.0, seed=7, **SMALL))
    b = make_clip(tmp_path / "b.mp4", ClipSpec(duration_s=3.0, seed=7, **SMALL))
    c = make_clip(tmp_path / "c.mp4", ClipSpec(duration_s=3.0, seed=8, **SMALL))
    assert a.event_times_s == b.event_times_s and a.event_kinds == b.event_kinds
    assert a.event_times_s != c.event_times_s


# --------------------------------------------------------------------------- timelines


def _clips(track: otio.schema.Track) -> list[otio.core.Item]:
    return list(track)


def test_slipped_timeline_structure(tmp_path: Path) -> None:
    slips = [0, 3, -2]
    truth = make_slipped_timeline(tmp_path / "tl", slips, clip_s=2.0, handle_s=1.0, seed=1)
    assert truth.path.exists() and truth.rate == 25
    assert truth.expected == {
        "slipped_00": 0.0,
        "slipped_01": 120.0,
        "slipped_02": -80.0,
    }
    timeline = otio.adapters.read_from_file(str(truth.path))
    assert timeline.global_start_time == otio.opentime.from_timecode("01:00:00:00", 25)
    v1, a1 = timeline.tracks
    assert (v1.name, v1.kind, a1.name, a1.kind) == ("V1", "Video", "A1", "Audio")
    assert len(v1) == len(a1) == 3
    starts = set()
    for i, (pic, snd) in enumerate(zip(_clips(v1), _clips(a1), strict=True)):
        assert pic.name == f"slipped_{i:02d}"
        ref = pic.media_reference
        assert isinstance(ref, otio.schema.ExternalReference)
        assert not os.path.isabs(ref.target_url)
        media = truth.path.parent / ref.target_url
        assert media.exists()
        assert snd.media_reference.target_url == ref.target_url
        avail = ref.available_range
        tc = file_timecode(media)
        assert avail.start_time == otio.opentime.from_timecode(tc, 25)
        assert avail.start_time.value > 0
        starts.add(avail.start_time.value)
        with av.open(str(media)) as c:
            n_frames = sum(1 for _ in c.decode(video=0))
        assert avail.duration.value == n_frames == 100  # clip 2 s + 2 x 1 s handles
        assert pic.source_range.start_time.value == avail.start_time.value + 25
        assert pic.source_range.duration.value == snd.source_range.duration.value == 50
        assert snd.source_range.start_time.value == pic.source_range.start_time.value - slips[i]
        assert pic.range_in_parent() == snd.range_in_parent()
    assert len(starts) == 3  # a different start timecode per clip


def test_slipped_timeline_sign_end_to_end(tmp_path: Path) -> None:
    """Map picture and sound onsets of the slipped clip to timeline time: sound is late."""
    truth = make_slipped_timeline(
        tmp_path / "tl", [4], clip_s=3.0, handle_s=0.5, scene="flash", relative_urls=False
    )
    timeline = otio.adapters.read_from_file(str(truth.path))
    pic, snd = timeline.tracks[0][0], timeline.tracks[1][0]
    media = Path(pic.media_reference.target_url)
    assert media.is_absolute() and media.exists()
    origin = pic.media_reference.available_range.start_time
    # Picture onsets inside V1's source range, as timeline times.
    energy, times = motion_energy(media)
    strength = onset_strength(energy)
    v_start = (pic.source_range.start_time - origin).to_seconds()
    a_start = (snd.source_range.start_time - origin).to_seconds()
    dur = pic.source_range.duration.to_seconds()
    audio, sr, a0 = decode_audio(media)
    lags = []
    for i in np.nonzero(strength > 2.5)[0]:
        t_media = times[i]
        if not v_start + 0.2 <= t_media <= v_start + dur - 0.5:
            continue
        t_timeline = t_media - v_start
        # The sound heard at timeline time T comes from media time a_start + T.
        sound_media = onset_after(audio, sr, a0, a_start + t_timeline - 0.3)
        lags.append(sound_media - a_start - t_timeline)
    assert lags
    assert np.median(lags) * 1000 == pytest.approx(truth.expected["slipped_00"], abs=3)
    assert truth.expected["slipped_00"] == 160.0


def test_slip_beyond_handles_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="handle"):
        make_slipped_timeline(tmp_path, [30], clip_s=2.0, handle_s=1.0)


def test_demo_timeline(tmp_path: Path) -> None:
    truth = make_demo(tmp_path / "demo")
    timeline = otio.adapters.read_from_file(str(truth.path))
    v1, a1 = timeline.tracks
    names = [c.name for c in v1]
    assert len(names) >= 6
    assert set(truth.expected) < set(names)
    assert sorted(truth.expected.values()) == [-80.0, 0.0, 120.0, 160.0, 320.0]
    unanalysable = [n for n in names if n not in truth.expected]
    assert len(unanalysable) >= 1
    for clip, below in zip(v1, a1, strict=True):
        ref = clip.media_reference
        exists = (
            isinstance(ref, otio.schema.ExternalReference)
            and (truth.path.parent / ref.target_url).exists()
        )
        assert exists == (clip.name in truth.expected)
        if isinstance(below, otio.schema.Gap):
            # The fallback clip: no A1 audio, its media's own sound is late.
            assert truth.expected[clip.name] == 160.0
            media = truth.path.parent / ref.target_url
            assert measured_offset_ms(media) == pytest.approx(160.0, abs=3)
        elif clip.name in truth.expected:
            slip = clip.source_range.start_time.value - below.source_range.start_time.value
            assert truth.expected[clip.name] == slip * 40.0
    assert any(isinstance(c.media_reference, otio.schema.MissingReference) for c in v1)
    assert sum(isinstance(c, otio.schema.Gap) for c in a1) == 1
