"""Tests of otio_avsync.decode on small media files generated with PyAV.

Pictures encode their frame number in brightness (left half: number % 16, right
half: number // 16), so a test can tell exactly which frames came back; sound is
silence with one short click at a known time.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from otio_avsync.decode import (
    AudioSamples,
    MediaInfo,
    iter_video_frames,
    probe,
    read_audio,
    read_video,
    timecode_to_seconds,
)
from otio_avsync.errors import MediaError

NTSC = Fraction(30000, 1001)
W, H = 64, 48


def _have_encoder(name: str) -> bool:
    if name not in av.codecs_available:
        return False
    try:
        av.Codec(name, "w")
    except Exception:
        return False
    return True


def _require(*encoders: str) -> None:
    """Skip the calling test when this PyAV build lacks an encoder it needs."""
    missing = [e for e in encoders if not _have_encoder(e)]
    if missing:
        pytest.skip(f"encoder missing in this PyAV build: {', '.join(missing)}")


# --------------------------------------------------------------------------- media makers


def _level(k: int) -> int:
    return 20 + 14 * k


def _picture(i: int, w: int = W, h: int = H) -> np.ndarray:
    img = np.empty((h, w, 3), np.uint8)
    img[:, : w // 2] = _level(i % 16)
    img[:, w // 2 :] = _level(i // 16)
    return img


def _frame_number(gray: np.ndarray) -> int:
    """Inverse of _picture for a decoded gray frame (centre of each half)."""
    h, w = gray.shape[:2]
    rows = slice(h // 4, 3 * h // 4)
    lo = gray[rows, w // 8 : 3 * w // 8].mean()
    hi = gray[rows, 5 * w // 8 : 7 * w // 8].mean()
    return round((float(hi) - 20) / 14) * 16 + round((float(lo) - 20) / 14)


def _numbers(frames: np.ndarray) -> list[int]:
    return [_frame_number(f) for f in frames]


def _add_video(
    container: av.container.OutputContainer,
    codec: str = "libx264",
    fps: Fraction | int = 25,
    *,
    w: int = W,
    h: int = H,
    pix_fmt: str = "yuv420p",
    gop: int | None = None,
    options: dict[str, str] | None = None,
) -> av.video.stream.VideoStream:
    _require(codec)
    opts = dict(options or {})
    if codec == "libx264":
        opts.setdefault("preset", "ultrafast")
        opts.setdefault("bf", "2")  # B-frames: decode order != display order
    if codec == "libx265":
        opts.setdefault("x265-params", "log-level=none")
        opts.setdefault("preset", "ultrafast")
    stream = container.add_stream(codec, rate=fps, options=opts)
    stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
    if gop is not None:
        stream.codec_context.gop_size = gop
    return stream


def _encode_video(
    container: av.container.OutputContainer,
    stream: av.video.stream.VideoStream,
    count: int,
    *,
    pts: list[int] | None = None,
    time_base: Fraction | None = None,
    first: int = 0,
) -> None:
    fps = Fraction(stream.codec_context.framerate or stream.average_rate or 25)
    for i in range(count):
        frame = av.VideoFrame.from_ndarray(_picture(i, stream.width, stream.height), format="rgb24")
        if pts is not None:
            frame.pts, frame.time_base = pts[i], time_base
        else:
            frame.pts, frame.time_base = first + i, 1 / fps
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


def _write_video(path: Path, count: int, fps: Fraction | int = 25, **kw) -> Path:
    with av.open(str(path), "w") as container:
        stream = _add_video(container, fps=fps, **kw)
        _encode_video(container, stream, count)
    return path


def _click(rate: int, seconds: float, at: float, channels: int = 1, gains=None) -> np.ndarray:
    """(channels, n) float32 silence with a 0.2 ms Gaussian click at ``at``."""
    n = round(seconds * rate)
    t = (np.arange(n) - at * rate) / rate
    mono = (0.8 * np.exp(-0.5 * (t / 0.0002) ** 2)).astype(np.float32)
    gains = gains if gains is not None else [1.0] * channels
    return np.stack([mono * g for g in gains]).astype(np.float32)


def _add_audio(
    container: av.container.OutputContainer,
    codec: str,
    rate: int = 48000,
    layout: str = "mono",
    language: str | None = None,
) -> av.audio.stream.AudioStream:
    _require(codec)
    stream = container.add_stream(codec, rate=rate, layout=layout)
    if language:
        stream.metadata["language"] = language
    return stream


def _encode_audio(
    container: av.container.OutputContainer,
    stream: av.audio.stream.AudioStream,
    data: np.ndarray,
    rate: int,
    first_sample: int = 0,
) -> None:
    _encode_audio_pieces(container, stream, rate, [(first_sample, data)])


def _encode_audio_pieces(container, stream, rate, pieces) -> None:
    """Encode (first_sample, (channels, n) data) pieces, gaps between them, then flush."""
    layout = stream.codec_context.layout.name
    for first, data in pieces:
        for i in range(0, data.shape[1], 1024):
            block = np.ascontiguousarray(data[:, i : i + 1024].T).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(block, format="flt", layout=layout)
            frame.sample_rate = rate
            frame.pts, frame.time_base = first + i, Fraction(1, rate)
            for packet in stream.encode(frame):
                container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


def _write_audio(
    path: Path,
    codec: str,
    rate: int = 48000,
    *,
    seconds: float = 2.0,
    at: float = 1.0,
    layout: str = "mono",
    gains=None,
) -> Path:
    channels = av.AudioLayout(layout).nb_channels
    with av.open(str(path), "w") as container:
        stream = _add_audio(container, codec, rate, layout)
        _encode_audio(container, stream, _click(rate, seconds, at, channels, gains), rate)
    return path


def _click_time(audio: AudioSamples) -> float:
    return audio.start_s + int(np.argmax(np.abs(audio.samples))) / audio.rate


def _expected_frames(fps: Fraction, count: int, start: float, duration: float) -> list[int]:
    """The frame-overlap rule: the frame showing at start, then all that start inside.

    Bounds within a microsecond of a frame time count as that frame time (the
    float sums of a test's bounds are not exact).
    """
    eps = Fraction(1, 10**6)
    times = [Fraction(i) / fps for i in range(count)]
    start_f = Fraction(start)
    end_f = start_f + Fraction(duration)
    before = [i for i, t in enumerate(times) if t <= start_f + eps]
    inside = [i for i, t in enumerate(times) if start_f + eps < t < end_f - eps]
    return before[-1:] + inside


# --------------------------------------------------------------------------- video


@pytest.mark.parametrize(
    "fps",
    [Fraction(24000, 1001), 24, 25, NTSC, 30, 50, Fraction(60000, 1001)],
    ids=str,
)
def test_frame_rates_are_exact_and_ranges_select_the_right_frames(tmp_path, fps):
    fps = Fraction(fps)
    count = math.ceil(fps)  # about one second
    path = _write_video(tmp_path / "v.mp4", count, fps, gop=10)
    info = probe(path)
    assert isinstance(info, MediaInfo)
    assert info.video is not None and info.audio == ()
    assert info.video.fps == fps and isinstance(info.video.fps, Fraction)
    assert not info.video.variable_fps
    assert (info.video.width, info.video.height) == (W, H)
    assert info.duration_s == pytest.approx(count / fps, abs=1e-3)
    frame = float(1 / fps)
    ranges = [(0.0, 0.2), (0.31, 0.25), (5 * frame, 4 * frame), (0.5, 0.5)]
    for start, duration in ranges:
        got = read_video(path, start, duration, width=W)
        want = _expected_frames(fps, count, start, duration)
        assert _numbers(got.frames) == want, (start, duration)
        assert got.times == pytest.approx([float(i / fps) for i in want], abs=1e-6)
        assert got.complete


@pytest.mark.parametrize("container", ["mp4", "mkv", "ts"])
def test_seeking_into_a_long_file_with_long_gops(tmp_path, container):
    count = 250  # 10 s at 25 fps, keyframe every 2 s
    codec = "mpeg2video" if container == "ts" else "libx264"
    path = _write_video(tmp_path / f"long.{container}", count, 25, codec=codec, gop=50)
    for start, duration in [(6.3, 0.5), (1.96, 0.1), (9.9, 1.0)]:
        got = read_video(path, start, duration, width=32)
        assert _numbers(got.frames) == _expected_frames(Fraction(25), count, start, duration)
        assert got.complete
    # Past the end: nothing, and not an error.
    assert len(read_video(path, 12.0, 1.0).frames) == 0


def test_read_video_shapes_aspect_and_raw_iteration(tmp_path):
    path = tmp_path / "anamorphic.mp4"
    with av.open(str(path), "w") as container:
        stream = _add_video(container, fps=25)
        stream.codec_context.sample_aspect_ratio = Fraction(4, 3)  # shows 85.3 x 48
        _encode_video(container, stream, 10)
    gray = read_video(path, 0, 0.2, width=64)
    assert gray.frames.dtype == np.uint8 and gray.frames.shape == (5, 36, 64)
    rgb = read_video(path, 0, 0.2, width=32, height=20, gray=False)
    assert rgb.frames.shape == (5, 20, 32, 3)
    plain = _write_video(tmp_path / "plain.mp4", 10)
    assert read_video(plain, 0, 0.1).frames.shape == (3, 120, 160)  # 4:3 at width 160
    raw = list(iter_video_frames(plain, 0.1, 0.2))
    assert [(f.width, f.height) for f in raw] == [(W, H)] * 6
    assert [round(f.time, 6) for f in raw] == [0.08, 0.12, 0.16, 0.2, 0.24, 0.28]
    assert _numbers(read_video(plain, 0.21, 0.0, width=W).frames) == [5]  # the frame showing
    after = read_video(plain, 0.5, 1.0)  # the last frame ends at 0.4
    assert after.frames.shape == (0, 120, 160) and after.times.shape == (0,) and after.complete


@pytest.mark.parametrize(
    ("codec", "ext", "pix_fmt", "size", "options"),
    [
        ("libx265", "mp4", "yuv420p", (W, H), None),
        ("mpeg2video", "mpg", "yuv420p", (W, H), None),
        ("prores", "mov", "yuv422p10le", (W, H), None),
        ("dnxhd", "mxf", "yuv422p", (256, 144), {"profile": "dnxhr_lb"}),
        ("mjpeg", "avi", "yuvj420p", (W, H), None),
    ],
)
def test_professional_and_legacy_codecs(tmp_path, codec, ext, pix_fmt, size, options):
    path = tmp_path / f"v.{ext}"
    with av.open(str(path), "w") as container:
        stream = _add_video(
            container, codec, 25, w=size[0], h=size[1], pix_fmt=pix_fmt, options=options
        )
        _encode_video(container, stream, 20)
    info = probe(path)
    assert info.video is not None and info.video.fps == 25
    assert info.video.codec in {"hevc", "mpeg2video", "prores", "dnxhd", "mjpeg"}
    got = read_video(path, 0.3, 0.2, width=64)
    assert _numbers(got.frames) == [7, 8, 9, 10, 11, 12]  # 7 shows at 0.3; 0.5 is out
    assert got.times == pytest.approx([0.28, 0.32, 0.36, 0.40, 0.44, 0.48], abs=1e-6)


@pytest.mark.parametrize("ext", ["mkv", "mp4"])
def test_variable_frame_rate_times_come_from_timestamps(tmp_path, ext):
    stamps = [0, 40, 80, 100, 200, 233, 266, 300, 400, 420, 440, 460, 700, 740, 780]
    path = tmp_path / f"vfr.{ext}"
    with av.open(str(path), "w") as container:
        stream = _add_video(container, fps=25)
        stream.codec_context.time_base = Fraction(1, 1000)
        _encode_video(container, stream, len(stamps), pts=stamps, time_base=Fraction(1, 1000))
    info = probe(path)
    assert info.video is not None and info.video.variable_fps
    everything = read_video(path, 0, 1.0, width=W)
    assert _numbers(everything.frames) == list(range(len(stamps)))
    assert everything.times == pytest.approx([s / 1000 for s in stamps], abs=1e-9)
    # 0.15 s shows the frame from 0.1 s; 0.4 s is the first frame left out.
    part = read_video(path, 0.15, 0.25, width=W)
    assert _numbers(part.frames) == [3, 4, 5, 6, 7]
    part = read_video(path, 0.5, 0.25, width=W)  # long hold: frame 11 shows until 0.7
    assert _numbers(part.frames) == [11, 12, 13]


def test_video_start_offset_and_container_origin(tmp_path):
    # Video starting 0.2 s after the sound: frame times keep that offset.
    path = tmp_path / "late_video.mkv"
    with av.open(str(path), "w") as container:
        video = _add_video(container, fps=25)
        audio = _add_audio(container, "flac", 48000)
        _encode_video(container, video, 25, first=5)
        _encode_audio(container, audio, _click(48000, 1.5, 1.0), 48000)
    info = probe(path)
    assert info.origin_s == pytest.approx(0.0, abs=1e-3)
    assert info.video.start_s == pytest.approx(0.2, abs=1e-3)
    got = read_video(path, 0.0, 0.4, width=W)
    assert _numbers(got.frames) == [0, 1, 2, 3, 4]
    assert got.times == pytest.approx([0.2, 0.24, 0.28, 0.32, 0.36], abs=1e-6)
    assert _click_time(read_audio(path, 0.5, 1.0)) == pytest.approx(1.0, abs=1e-3)


def test_transport_stream_keeps_picture_and_sound_in_step(tmp_path):
    # The TS muxer shifts every stream so AAC's priming starts at 0: the picture
    # then starts 21 ms after the origin and the click keeps its place against it.
    path = tmp_path / "av.ts"
    with av.open(str(path), "w") as container:
        video = _add_video(container, "mpeg2video", 25, gop=25)
        audio = _add_audio(container, "aac", 48000)
        _encode_video(container, video, 75)
        _encode_audio(container, audio, _click(48000, 3.0, 2.0), 48000)
    info = probe(path)
    assert info.origin_s > 0  # TS timestamps do not start at zero
    assert min(s.start_s for s in info.streams) == 0.0
    video_start = info.video.start_s
    got = read_video(path, video_start + 1.0, 0.1, width=W)
    assert _numbers(got.frames) == [25, 26, 27]
    assert got.times[0] - video_start == pytest.approx(1.0, abs=1e-6)
    sound = read_audio(path, 1.5, 1.0)
    assert _click_time(sound) - video_start == pytest.approx(2.0, abs=1e-3)


# --------------------------------------------------------------------------- audio

AUDIO_CASES = [
    ("pcm_s16le", "wav", 48000),
    ("pcm_s16le", "mov", 44100),
    ("aac", "mp4", 48000),
    ("aac", "mov", 44100),
    ("libmp3lame", "mp3", 44100),
    ("libopus", "mkv", 48000),
    ("libopus", "webm", 48000),
    ("flac", "flac", 44100),
    ("flac", "mkv", 48000),
]


@pytest.mark.parametrize(("codec", "ext", "rate"), AUDIO_CASES, ids=lambda v: str(v))
def test_click_lands_within_a_millisecond(tmp_path, codec, ext, rate):
    path = _write_audio(tmp_path / f"click.{ext}", codec, rate)
    info = probe(path)
    assert len(info.audio) == 1 and info.video is None
    assert info.audio[0].sample_rate == rate and info.audio[0].channels == 1
    whole = read_audio(path, 0.0, 2.0)
    assert whole.samples.dtype == np.float32 and whole.samples.shape == (32000,)
    assert whole.rate == 16000 and whole.complete
    assert _click_time(whole) == pytest.approx(1.0, abs=1e-3)
    # A window that needs a seek, at another output rate.
    window = read_audio(path, 0.7, 0.6, rate=8000)
    assert window.samples.shape == (4800,) and window.start_s == 0.7
    assert _click_time(window) == pytest.approx(1.0, abs=1e-3)
    assert float(np.abs(window.samples).max()) > 0.3


def test_audio_padding_odd_lengths_and_range_past_the_end(tmp_path):
    path = _write_audio(tmp_path / "pcm.wav", "pcm_s16le", 48000)
    before = read_audio(path, -0.5, 1.0)  # starts before the stream: zeros first
    assert before.samples.shape == (16000,)
    assert np.all(before.samples[:8000] == 0)
    odd = read_audio(path, 0.9, 1 / 3)
    assert odd.samples.shape == (5333,)
    assert _click_time(odd) == pytest.approx(1.0, abs=1e-3)
    past = read_audio(path, 1.5, 2.0)  # runs 1.5 s past the end: zero-padded
    assert past.samples.shape == (32000,) and past.complete
    assert np.all(past.samples[8000 + 100 :] == 0)


def test_gaps_in_the_sound_stay_silent_and_later_sound_keeps_its_time(tmp_path):
    path = tmp_path / "gap.mkv"
    rate = 48000
    with av.open(str(path), "w") as container:
        stream = _add_audio(container, "flac", rate)
        tone = np.full((1, rate // 2), 0.25, np.float32)  # 0.0-0.5 s
        _encode_audio_pieces(container, stream, rate, [(0, tone), (rate, _click(rate, 1.0, 0.5))])
    got = read_audio(path, 0.0, 2.0)
    assert _click_time(got) == pytest.approx(1.5, abs=1e-3)
    assert np.all(got.samples[int(0.52 * 16000) : int(0.98 * 16000)] == 0)  # the gap
    assert got.samples[4000] == pytest.approx(0.25, abs=0.01)


def test_stereo_and_surround_are_downmixed(tmp_path):
    stereo = _write_audio(tmp_path / "st.flac", "flac", 48000, layout="stereo", gains=[1, 0])
    got = read_audio(stereo, 0.5, 1.0)
    assert _click_time(got) == pytest.approx(1.0, abs=1e-3)
    assert float(np.abs(got.samples).max()) == pytest.approx(0.4, abs=0.02)  # mean of L, R
    surround = _write_audio(
        tmp_path / "51.mp4", "aac", 48000, layout="5.1", gains=[0, 0, 1, 0, 0, 0]
    )
    info = probe(surround)
    assert info.audio[0].channels == 6
    got = read_audio(surround, 0.5, 1.0)
    assert _click_time(got) == pytest.approx(1.0, abs=1e-3)
    loud = _write_audio(tmp_path / "loud.flac", "flac", 48000, layout="5.1", gains=[1.2] * 6)
    got = read_audio(loud, 0.5, 1.0)
    assert float(got.samples.max()) <= 1.0 and float(got.samples.max()) > 0.3


@pytest.mark.parametrize("ext", ["mkv", "mp4"])
def test_several_audio_streams_with_languages_and_late_start(tmp_path, ext):
    path = tmp_path / f"multi.{ext}"
    with av.open(str(path), "w") as container:
        video = _add_video(container, fps=25)
        english = _add_audio(container, "aac", 48000, "stereo", language="eng")
        french = _add_audio(container, "aac", 48000, "mono", language="fra")
        french.metadata["title"] = "French dub"
        _encode_video(container, video, 50)
        _encode_audio(container, english, _click(48000, 2.0, 1.0, 2), 48000)
        # French starts 0.1 s after the picture; its click is 0.5 s into it.
        _encode_audio(container, french, _click(48000, 1.5, 0.5), 48000, first_sample=4800)
    info = probe(path)
    assert [(s.index, s.kind) for s in info.streams] == [(0, "video"), (1, "audio"), (2, "audio")]
    assert [s.language for s in info.audio] == ["eng", "fra"]
    assert info.audio[1].title == "French dub" and info.audio[0].title is None
    assert [s.channels for s in info.audio] == [2, 1]
    assert info.video.start_s == pytest.approx(0.0, abs=1e-6)
    assert info.audio[1].start_s == pytest.approx(0.1, abs=0.03)  # mp4 edit lists round
    first = read_audio(path, 0.0, 2.0)
    assert first.stream.index == 1
    assert _click_time(first) == pytest.approx(1.0, abs=1e-3)
    french_audio = read_audio(path, 0.0, 2.0, stream_index=2)
    assert french_audio.stream.language == "fra"
    assert _click_time(french_audio) == pytest.approx(0.6, abs=1e-3)
    assert np.all(french_audio.samples[:1000] == 0)  # nothing before the stream starts
    for start in (0.3, 0.55):  # windows that need seeks among three streams
        window = read_audio(path, start, 0.5, stream_index=2)
        assert _click_time(window) == pytest.approx(0.6, abs=1e-3)
        window = read_audio(path, start + 0.4, 0.5, stream_index=1)
        assert _click_time(window) == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(MediaError, match="stream 0 is video"):
        read_audio(path, 0, 1, stream_index=0)
    with pytest.raises(MediaError, match="index 7"):
        read_audio(path, 0, 1, stream_index=7)
    with pytest.raises(MediaError, match="stream 2 is audio"):
        read_video(path, 0, 1, stream_index=2)


def test_cover_art_is_not_the_picture(tmp_path):
    _require("libmp3lame", "mjpeg")
    path = tmp_path / "song.mp3"
    with av.open(str(path), "w") as container:
        audio = _add_audio(container, "libmp3lame", 44100)
        cover = container.add_stream("mjpeg", rate=1)
        cover.width, cover.height, cover.pix_fmt = 32, 32, "yuvj420p"
        cover.disposition = av.stream.Disposition.attached_pic
        image = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 128, np.uint8), format="rgb24")
        for packet in [*cover.encode(image), *cover.encode()]:
            container.mux(packet)
        _encode_audio(container, audio, _click(44100, 1.5, 1.0), 44100)
    info = probe(path)
    assert info.video is None and [s.kind for s in info.streams] == ["audio"]
    assert info.audio[0].codec == "mp3"
    assert _click_time(read_audio(path, 0.5, 1.0)) == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(MediaError, match="no video stream"):
        read_video(path, 0, 1)


# --------------------------------------------------------------------------- timecode


@pytest.mark.parametrize(
    ("where", "timecode"), [("container", "01:00:00:00"), ("stream", "01:00:00;02")]
)
def test_start_timecode_is_read_back(tmp_path, where, timecode):
    path = tmp_path / "tc.mov"
    with av.open(str(path), "w") as container:
        if where == "container":
            container.metadata["timecode"] = timecode
        stream = _add_video(container, fps=NTSC)
        if where == "stream":
            stream.metadata["timecode"] = timecode
        _encode_video(container, stream, 5)
    info = probe(path)
    assert info.timecode == timecode
    assert [s.kind for s in info.streams] == ["video"]  # the tmcd track is not listed
    assert timecode_to_seconds(info.timecode, info.video.fps) == pytest.approx(
        3600.0 if ";" in timecode else 3603.6, abs=0.1
    )


@pytest.mark.parametrize(
    ("timecode", "fps", "seconds"),
    [
        ("00:00:00:00", 25, 0.0),
        ("01:00:00:00", 25, 3600.0),
        ("00:00:01:12", 24, 1.5),
        ("01:00:00:00", Fraction(24000, 1001), 86400 * 1001 / 24000),
        ("01:00:00:00", NTSC, 108000 * 1001 / 30000),
        ("00:01:00;02", NTSC, 1800 * 1001 / 30000),
        ("00:10:00;00", NTSC, 17982 * 1001 / 30000),
        ("01:00:00;00", NTSC, 107892 * 1001 / 30000),
        ("00:00:59;29", NTSC, 1799 * 1001 / 30000),
        ("00:01:00;04", Fraction(60000, 1001), 3600 * 1001 / 60000),
        ("01:00:00;00", Fraction(60000, 1001), 215784 * 1001 / 60000),
        ("10:00:00:00", 50, 36000.0),
    ],
)
def test_timecode_to_seconds(timecode, fps, seconds):
    assert timecode_to_seconds(timecode, fps) == pytest.approx(seconds, abs=1e-9)


def test_timecode_to_seconds_rejects_bad_input():
    for bad, fps in [
        ("1:00:00", 25),
        ("garbage", 25),
        ("00:00:00:25", 25),
        ("00:01:00;00", NTSC),
        ("00:00:00;00", 25),
    ]:
        with pytest.raises(ValueError):
            timecode_to_seconds(bad, fps)
    assert timecode_to_seconds("01:00:00:00", 29.97) == pytest.approx(3603.6)


# --------------------------------------------------------------------------- errors


def test_missing_and_non_media_files(tmp_path):
    missing = tmp_path / "nope.mov"
    for call in (probe, lambda p: read_video(p, 0, 1), lambda p: read_audio(p, 0, 1)):
        with pytest.raises(MediaError, match="file not found") as caught:
            call(missing)
        assert str(missing) in str(caught.value)
    text = tmp_path / "x.mp4"
    text.write_text("this is not a movie\n" * 50)
    with pytest.raises(MediaError, match=r"x\.mp4") as caught:
        probe(text)
    assert not isinstance(caught.value, av.FFmpegError)
    with pytest.raises(MediaError, match=r"x\.mp4"):
        read_video(text, 0, 1)
    with pytest.raises(MediaError, match="directory"):
        probe(tmp_path)


def test_missing_stream_kinds(tmp_path):
    video_only = _write_video(tmp_path / "v.mp4", 10)
    with pytest.raises(MediaError, match=r"v\.mp4: no audio stream"):
        read_audio(video_only, 0, 1)
    sound_only = _write_audio(tmp_path / "a.wav", "pcm_s16le")
    with pytest.raises(MediaError, match=r"a\.wav: no video stream"):
        read_video(sound_only, 0, 1)


def _truncate(path: Path, fraction: float = 0.5) -> Path:
    data = path.read_bytes()
    cut = path.with_name("cut_" + path.name)
    cut.write_bytes(data[: int(len(data) * fraction)])
    return cut


@pytest.mark.parametrize("ext", ["mkv", "mp4", "faststart.mp4", "ts"])
def test_truncated_files_are_incomplete_or_media_errors(tmp_path, ext):
    path = tmp_path / f"full.{ext}"
    options = {"movflags": "+faststart"} if ext.startswith("faststart") else {}
    with av.open(str(path), "w", options=options) as container:
        video = _add_video(container, fps=25, gop=10)
        audio = _add_audio(container, "aac", 48000)
        _encode_video(container, video, 100)
        _encode_audio(container, audio, _click(48000, 4.0, 1.0), 48000)
    cut = _truncate(path)
    if ext == "mp4":  # the index (moov) sits at the end: the cut file cannot be opened
        with pytest.raises(MediaError, match=r"cut_full\.mp4"):
            probe(cut)
        with pytest.raises(MediaError, match=r"cut_full\.mp4"):
            read_audio(cut, 0, 1)
        return
    info = probe(cut)
    video = read_video(cut, 0.0, 4.0, width=W)
    numbers = _numbers(video.frames)
    assert 0 < len(numbers) < 100 and numbers[0] == 0
    assert numbers == sorted(set(numbers))  # B-frames cut off may leave holes at the end
    start = info.video.start_s
    assert video.times - start == pytest.approx([n / 25 for n in numbers], abs=1e-6)
    sound = read_audio(cut, 0.0, 4.0)
    assert sound.samples.shape == (64000,)
    if ext != "ts":  # a cut transport stream does not say how long it was
        assert not video.complete and not sound.complete
    window = read_audio(cut, 0.5, 1.0)
    if float(np.abs(window.samples).max()) > 0.3:  # the click survived the cut
        assert _click_time(window) - start == pytest.approx(1.0, abs=1e-3)


def test_corrupt_bytes_never_raise_raw_ffmpeg_errors(tmp_path):
    path = _write_video(tmp_path / "v.mkv", 100, 25, gop=10)
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(1)
    middle = len(data) // 2
    data[middle : middle + 2000] = rng.integers(0, 256, 2000, dtype=np.uint8).tobytes()
    broken = tmp_path / "broken.mkv"
    broken.write_bytes(bytes(data))
    try:
        got = read_video(broken, 0, 4)
        assert got.frames.ndim == 3 and len(got.frames) == len(got.times)
        tail = read_video(broken, 3.0, 1.0)
        assert tail.frames.ndim == 3
    except MediaError as error:
        assert "broken.mkv" in str(error)
    garbage = tmp_path / "garbage.mkv"
    garbage.write_bytes(bytes(data[:64]) + rng.integers(0, 256, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(MediaError, match=r"garbage\.mkv"):
        read_video(garbage, 0, 1)
