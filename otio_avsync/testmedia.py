"""Synthetic media and timelines with a known audio/video offset.

The tests, the ``demo`` command and the benchmarks need media whose true sync
error is known exactly.  Every picture event (a flash, a ball impact, a mouth
opening) has a matching sound event (beep, knock, voiced syllable); the sound
is placed sample-accurately at ``picture time + offset_ms / 1000``.

Sign convention (the package's, everywhere): ``offset_ms > 0`` means the sound
is LATE relative to the picture.

Events come at irregular random gaps (0.35–1.3 s) so that cross-correlation of
the audio onset envelope against visual motion energy has a single clear peak.
Distractors (slow moving clutter, a music bed whose soft chord changes avoid
the events, background noise about 30 dB under the events) are present but
weaker than the events, so estimators are tested on something less trivial
than clicks on silence.

The first event is never earlier than :data:`FIRST_EVENT_MIN_S` and the last
one ends :data:`TAIL_S` before the end of the clip, so offsets within about
±500 ms never push the first sound before the start of the file.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import opentimelineio as otio
from scipy import signal

__all__ = [
    "FIRST_EVENT_MIN_S",
    "MPEG2_RATES",
    "TAIL_S",
    "TRUTH_METADATA_KEY",
    "ClipSpec",
    "ClipTruth",
    "TimelineTruth",
    "available_audio_codecs",
    "available_video_codecs",
    "make_clip",
    "make_demo",
    "make_slipped_timeline",
]

#: Earliest possible picture event (seconds from the start of the file).
FIRST_EVENT_MIN_S = 0.5
#: No picture event later than this before the end of the clip.
TAIL_S = 0.45
#: Frame rates MPEG-2 video can signal (frame_rate_code 1..8).
MPEG2_RATES = frozenset(
    {
        Fraction(24000, 1001),
        Fraction(24),
        Fraction(25),
        Fraction(30000, 1001),
        Fraction(30),
        Fraction(50),
        Fraction(60000, 1001),
        Fraction(60),
    }
)
#: OTIO metadata key under which generated timelines record their ground truth.
#: Deliberately not ``otio_avsync`` so audit results never mix with the truth.
TRUTH_METADATA_KEY = "otio_avsync_testmedia"

_SCENES = ("flash", "ball", "mouth", "mixed")
_KINDS = ("flash", "ball", "mouth")
_LAYOUTS = {1: "mono", 2: "stereo", 6: "5.1"}
_EVENT_GAP_S = (0.35, 1.3)
_FLASH_TAU_S = 0.06  # decay of a flash / impact glow, seconds
_EVENT_PEAK = 0.5  # peak amplitude of event sounds (full scale = 1)
_NOISE_DB = -30.0  # background noise (RMS) relative to the event peak
_BED_RMS = 0.015  # music bed level before fold-down: about 25 dB under the event peak
_SILENT_NOISE_RMS = 5e-4  # about -66 dBFS: "silent" clips still are not digital zero


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class ClipSpec:
    """What to generate; every field has a cheap, widely decodable default."""

    duration_s: float = 8.0
    fps: Fraction = Fraction(25)
    width: int = 320
    height: int = 180
    sample_rate: int = 48000
    channels: int = 2  # 1, 2 or 6 (5.1: FL FR FC LFE BL BR)
    offset_ms: float = 0.0  # sound late > 0, baked into the file
    scene: str = "mixed"  # "flash" | "ball" | "mouth" | "mixed"
    distractors: bool = True
    seed: int = 0
    container: str = "mp4"  # "mp4" | "mov" | "mkv" | "mxf"
    video_codec: str = "h264"
    audio_codec: str = "aac"
    languages: tuple[str, ...] = ("eng",)  # one audio stream per entry; () = no audio
    video: bool = True  # False = audio-only file
    timecode: str | None = None  # start timecode, e.g. "01:00:00:00"
    silent: bool = False  # audio streams hold only very quiet noise
    still: bool = False  # a static picture: no motion, no picture events


@dataclass(frozen=True)
class ClipTruth:
    """Ground truth of one generated file."""

    path: Path
    spec: ClipSpec
    #: Picture event times (frame-aligned, seconds from the start of the file).
    #: Empty for ``still`` and audio-only clips: they have no picture events
    #: (their sound events still happen, see sound_times_s).
    event_times_s: tuple[float, ...]
    offset_ms: float
    #: Kind of each scheduled event ("flash", "ball" or "mouth"); parallel to
    #: event_times_s and sound_times_s whenever those are not empty.
    event_kinds: tuple[str, ...] = ()
    #: Sound event start times (seconds), i.e. event time + offset; a negative
    #: one was clipped at the start of the file.  Empty for silent / no-audio clips.
    sound_times_s: tuple[float, ...] = ()
    #: Number of video frames written (0 for audio-only files).
    frame_count: int = 0


@dataclass(frozen=True)
class TimelineTruth:
    """Ground truth of a generated timeline."""

    path: Path  # the .otio file written
    expected: dict[str, float]  # picture clip name -> expected offset_ms (sound late > 0)
    rate: Fraction  # timeline rate
    #: Media files written for the timeline (absolute paths).
    media: tuple[Path, ...] = field(default=())


# --------------------------------------------------------------------------- codecs


@dataclass(frozen=True)
class _VideoCodecSetup:
    pix_fmt: str
    options: dict[str, str]
    bits_per_pixel: float = 0.0  # for codecs steered by bit rate (0 = codec default / crf)


_VIDEO_SETUP: dict[str, _VideoCodecSetup] = {
    "libx264": _VideoCodecSetup("yuv420p", {"preset": "veryfast", "crf": "20"}),
    "libx265": _VideoCodecSetup(
        "yuv420p", {"preset": "ultrafast", "crf": "24", "x265-params": "log-level=error"}
    ),
    "mpeg2video": _VideoCodecSetup("yuv420p", {}, 0.25),
    "mpeg4": _VideoCodecSetup("yuv420p", {}, 0.25),
    "prores_ks": _VideoCodecSetup("yuv422p10le", {"profile": "0"}),  # ProRes 422 Proxy
    "dnxhd": _VideoCodecSetup("yuv422p", {"profile": "dnxhr_lb"}),
    "mjpeg": _VideoCodecSetup("yuvj420p", {}, 0.8),
    "libvpx-vp9": _VideoCodecSetup(
        "yuv420p", {"deadline": "realtime", "cpu-used": "8", "crf": "32"}, 0.1
    ),
    "libsvtav1": _VideoCodecSetup("yuv420p", {"preset": "12"}),
}

# Preferred sample formats, best first; the first one the encoder offers wins.
_AUDIO_FORMAT_PREFERENCE = ("fltp", "flt", "s16", "s16p", "s32", "s32p")
_OPUS_RATES = frozenset({8000, 12000, 16000, 24000, 48000})


def _encoder(name: str, kind: str) -> av.codec.Codec:
    """The encoder behind ``name``, or a ValueError naming the missing codec."""
    if name not in av.codecs_available:
        raise ValueError(f"{kind} codec {name!r} is not available in this PyAV/FFmpeg build")
    try:
        codec = av.codec.Codec(name, "w")
    except Exception as exc:  # UnknownCodecError and friends
        raise ValueError(f"no {kind} encoder for {name!r} in this PyAV/FFmpeg build") from exc
    if codec.type != kind:
        raise ValueError(f"{name!r} is a {codec.type} codec, not a {kind} codec")
    return codec


def available_video_codecs() -> tuple[str, ...]:
    """Video codec names :func:`make_clip` can encode in this build (for tests/benchmarks)."""
    names = ["h264", "hevc", "mpeg2video", "prores_ks", "dnxhd", "mjpeg", "mpeg4"]
    names += ["libvpx-vp9", "libsvtav1"]
    out = []
    for name in names:
        try:
            _encoder(name, "video")
        except ValueError:
            continue
        out.append(name)
    return tuple(out)


def available_audio_codecs() -> tuple[str, ...]:
    """Audio codec names :func:`make_clip` can encode in this build."""
    names = ["aac", "pcm_s16le", "pcm_s24le", "mp3", "libopus", "flac"]
    out = []
    for name in names:
        try:
            _encoder(name, "audio")
        except ValueError:
            continue
        out.append(name)
    return tuple(out)


_CONTAINER_FORMATS = {"mp4": "mp4", "mov": "mov", "mkv": "matroska", "mxf": "mxf", "webm": "webm"}


def _validate(spec: ClipSpec) -> None:
    """Reject specs that cannot be honoured before anything is written."""
    if spec.scene not in _SCENES:
        raise ValueError(f"scene must be one of {_SCENES}, not {spec.scene!r}")
    if spec.channels not in _LAYOUTS:
        raise ValueError(f"channels must be 1, 2 or 6, not {spec.channels}")
    if spec.duration_s <= FIRST_EVENT_MIN_S + TAIL_S:
        raise ValueError(f"duration_s must exceed {FIRST_EVENT_MIN_S + TAIL_S} s")
    if not spec.video and not spec.languages:
        raise ValueError("a clip needs a video stream or at least one audio language")
    if spec.fps <= 0:
        raise ValueError("fps must be positive")
    if spec.width % 2 or spec.height % 2 or spec.width < 16 or spec.height < 16:
        raise ValueError("width and height must be even and at least 16")
    if spec.container not in _CONTAINER_FORMATS:
        raise ValueError(f"container must be one of {tuple(_CONTAINER_FORMATS)}")
    fmt = _CONTAINER_FORMATS[spec.container]
    if fmt not in av.formats_available:
        raise ValueError(f"container {spec.container!r} (muxer {fmt!r}) is not available")
    if spec.video:
        vcodec = _encoder(spec.video_codec, "video")
        if vcodec.name == "mpeg2video" and Fraction(spec.fps) not in MPEG2_RATES:
            raise ValueError(f"{spec.fps} fps is not a legal MPEG-2 frame rate")
        if vcodec.name == "dnxhd" and (spec.width < 256 or spec.height < 120):
            raise ValueError("dnxhd (DNxHR) needs at least 256x120 pixels")
    if spec.languages:
        acodec = _encoder(spec.audio_codec, "audio")
        if acodec.name == "libopus" and spec.sample_rate not in _OPUS_RATES:
            raise ValueError(f"opus cannot encode {spec.sample_rate} Hz")
        if acodec.name == "libmp3lame" and spec.channels > 2:
            raise ValueError("mp3 carries at most 2 channels")


# --------------------------------------------------------------------------- events


def _event_frames(spec: ClipSpec, rng: np.random.Generator) -> list[int]:
    """Frame indices of picture events at irregular gaps (irregular = unambiguous lag)."""
    fps = float(spec.fps)
    n_frames = _frame_count(spec)
    last_t = spec.duration_s - TAIL_S
    t = FIRST_EVENT_MIN_S + rng.uniform(0.0, 0.3)
    frames: list[int] = []
    while t <= last_t:
        frame = math.ceil(t * fps - 1e-9)
        if frame < n_frames and (not frames or frame > frames[-1]):
            frames.append(frame)
        t += rng.uniform(*_EVENT_GAP_S)
    return frames


def _event_kinds(scene: str, count: int, rng: np.random.Generator) -> list[str]:
    """Kind per event; "mixed" cycles through a shuffled order so every kind occurs."""
    if scene != "mixed":
        return [scene] * count
    kinds: list[str] = []
    while len(kinds) < count:
        kinds.extend(rng.permutation(_KINDS).tolist())
    return kinds[:count]


def _frame_count(spec: ClipSpec) -> int:
    return max(1, round(spec.duration_s * float(spec.fps)))


# --------------------------------------------------------------------------- audio


def _sound_beep(sr: int, freq: float, rng: np.random.Generator) -> np.ndarray:
    """A beep with a click front: the click pins the onset to the sample."""
    n = int(0.09 * sr)
    t = np.arange(n) / sr
    env = np.exp(-t / 0.035)
    env[: max(1, int(0.0005 * sr))] *= np.linspace(0.0, 1.0, max(1, int(0.0005 * sr)))
    tone = np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(2 * np.pi * 2.01 * freq * t)
    click_n = max(2, int(0.003 * sr))
    click = rng.standard_normal(click_n) * np.exp(-np.arange(click_n) / (0.0008 * sr))
    out = 0.75 * tone * env
    out[:click_n] += 0.6 * click
    return _normalise(out, _EVENT_PEAK)


def _sound_knock(sr: int, freq: float, rng: np.random.Generator) -> np.ndarray:
    """A ball impact: broadband crack plus a short low thud."""
    n = int(0.12 * sr)
    t = np.arange(n) / sr
    crack = rng.standard_normal(n) * np.exp(-t / 0.004)
    thud = np.sin(2 * np.pi * freq * t * (1.0 + 0.4 * np.exp(-t / 0.02))) * np.exp(-t / 0.045)
    out = 0.8 * crack + thud
    ramp = max(1, int(0.0003 * sr))
    out[:ramp] *= np.linspace(0.0, 1.0, ramp)
    return _normalise(out, _EVENT_PEAK)


_VOWELS = ((730, 1090), (270, 2290), (300, 870), (530, 1840), (640, 1190), (490, 1350))


def _sound_syllable(sr: int, f0: float, duration_s: float, rng: np.random.Generator) -> np.ndarray:
    """A plosive + voiced vowel ("ba", "ta"...): speech-like but with a sharp onset."""
    n = int(duration_s * sr)
    t = np.arange(n) / sr
    pitch = f0 * (1.0 + 0.08 * np.exp(-t / 0.08)) * (1.0 + 0.01 * np.sin(2 * np.pi * 5.5 * t))
    phase = np.cumsum(pitch) / sr
    source = 2.0 * (phase % 1.0) - 1.0  # sawtooth, rich in harmonics like a glottal source
    f1, f2 = _VOWELS[int(rng.integers(len(_VOWELS)))]
    voiced = np.zeros(n)
    for formant, gain in ((f1, 1.0), (f2, 0.6), (2600.0, 0.25)):
        b, a = _resonator(formant, 90.0 + formant * 0.06, sr)
        voiced += gain * signal.lfilter(b, a, source)
    attack = max(1, int(0.002 * sr))
    release = int(min(0.06, duration_s / 3) * sr)
    env = np.ones(n)
    env[:attack] = np.linspace(0.0, 1.0, attack)
    env[n - release :] = np.linspace(1.0, 0.0, release) ** 2
    voiced = voiced / (np.max(np.abs(voiced)) + 1e-12) * env
    # The plosive: band-limited (survives lossy codecs), normalised so it always
    # carries the onset, whatever the noise draw; the vowel follows at similar level.
    burst_n = max(8, int(0.008 * sr))
    noise = rng.standard_normal(burst_n + 64)
    bb, ba = signal.butter(2, [500.0 / (sr / 2), min(0.45, 4000.0 / (sr / 2))], "bandpass")
    burst = signal.lfilter(bb, ba, noise)[64:] * np.exp(-np.arange(burst_n) / (0.002 * sr))
    burst[: max(1, int(0.0003 * sr))] *= np.linspace(0.0, 1.0, max(1, int(0.0003 * sr)))
    burst /= np.max(np.abs(burst[: int(0.002 * sr) + 1])) + 1e-12
    out = 0.8 * voiced
    out[:burst_n] += burst
    out[0] = 0.0
    return _normalise(out, _EVENT_PEAK * 0.9)


def _resonator(freq: float, bandwidth: float, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Two-pole resonator (a formant)."""
    r = math.exp(-math.pi * bandwidth / sr)
    theta = 2 * math.pi * freq / sr
    a = np.array([1.0, -2 * r * math.cos(theta), r * r])
    b = np.array([1.0 - r])
    return b, a


def _normalise(x: np.ndarray, peak: float) -> np.ndarray:
    return (x * (peak / (np.max(np.abs(x)) + 1e-12))).astype(np.float32)


def _place(track: np.ndarray, sound: np.ndarray, start: int) -> None:
    """Add ``sound`` at sample ``start``, clipping what falls outside the track."""
    n = track.shape[0]
    skip = max(0, -start)
    begin = max(0, start)
    end = min(n, start + sound.shape[0])
    if end > begin:
        track[begin:end] += sound[skip : skip + end - begin]


def _music_bed(
    spec: ClipSpec, n: int, avoid_s: Sequence[float], rng: np.random.Generator
) -> np.ndarray:
    """A steady chord bed, stereo (2, n); soft chord changes kept away from events."""
    sr = spec.sample_rate
    chords = ((0, 4, 7), (5, 9, 12), (7, 11, 14), (-3, 0, 4), (2, 5, 9))
    root = 196.0 * 2 ** (rng.integers(0, 5) / 12)
    # Chord change times: irregular, and >= 0.2 s from any sound event onset.
    changes = [0.0]
    t = rng.uniform(1.2, 2.4)
    while t < n / sr:
        while any(abs(t - a) < 0.2 for a in avoid_s):
            t += 0.05
        changes.append(t)
        t += rng.uniform(1.6, 3.1)
    changes.append(n / sr + 1.0)
    out = np.zeros((2, n), np.float64)
    fade = int(0.35 * sr)
    time = np.arange(n) / sr
    for i in range(len(changes) - 1):
        a = max(0, int(changes[i] * sr) - fade // 2)
        b = min(n, int(changes[i + 1] * sr) + fade // 2)
        if b <= a:
            continue
        seg_t = time[a:b]
        env = np.ones(b - a)
        if i > 0:  # raised-cosine fade in/out: a soft change, no onset
            k = min(fade, b - a)
            env[:k] = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, k))
        k = min(fade, b - a)
        env[-k:] *= 0.5 + 0.5 * np.cos(np.linspace(0, np.pi, k))
        chord = chords[int(rng.integers(len(chords)))]
        for j, semitone in enumerate(chord):
            f = root * 2 ** (semitone / 12)
            note = sum(
                (0.5**h) * np.sin(2 * np.pi * f * (h + 1) * seg_t + rng.uniform(0, 6.28))
                for h in range(3)
            )
            pan = (j + 1) / (len(chord) + 1)
            out[0, a:b] += note * env * (1.0 - pan)
            out[1, a:b] += note * env * pan
    # Gentle slow swell so the bed is not perfectly static.
    out *= 1.0 + 0.15 * np.sin(2 * np.pi * time / 4.7 + rng.uniform(0, 6.28))
    rms = np.sqrt(np.mean(out**2)) + 1e-12
    return out * (_BED_RMS / rms)


def _render_audio(
    spec: ClipSpec,
    event_frames: Sequence[int],
    kinds: Sequence[str],
    voice: int,
) -> np.ndarray:
    """The whole audio of one stream, shape (channels, samples), float32."""
    sr = spec.sample_rate
    n = round(spec.duration_s * sr)
    fx_rng = np.random.default_rng([spec.seed, 11])  # effects shared by all dubs
    voice_rng = np.random.default_rng([spec.seed, 23, voice])
    bed_rng = np.random.default_rng([spec.seed, 37])
    noise_rng = np.random.default_rng([spec.seed, 41, voice])

    fx = np.zeros(n, np.float64)  # beeps and knocks (centre, shared by dubs)
    dialogue = np.zeros(n, np.float64)  # syllables (centre, per language)
    sound_starts: list[float] = []
    f0 = (135.0, 210.0, 105.0, 170.0)[voice % 4] * (1 + 0.03 * (voice // 4))
    beep_freq = 1000.0
    if not spec.silent:
        for frame, kind in zip(event_frames, kinds, strict=True):
            t = frame / spec.fps + Fraction(spec.offset_ms) / 1000
            start = round(t * sr)
            sound_starts.append(float(t))
            if kind == "flash":
                fx_sound = _sound_beep(sr, beep_freq * 2 ** (fx_rng.integers(0, 4) / 12), fx_rng)
                _place(fx, fx_sound, start)
            elif kind == "ball":
                _place(fx, _sound_knock(sr, 140.0 + fx_rng.uniform(0, 40), fx_rng), start)
            else:
                dur = _mouth_duration(spec.seed, frame)
                _place(dialogue, _sound_syllable(sr, f0, dur, voice_rng), start)

    out = np.zeros((6, n), np.float64)  # FL FR FC LFE BL BR, folded down below
    out[2] += fx + dialogue
    if spec.distractors and not spec.silent:
        bed = _music_bed(spec, n, sound_starts, bed_rng)
        out[0] += bed[0]
        out[1] += bed[1]
        out[4] += 0.5 * bed[0]
        out[5] += 0.5 * bed[1]
        b, a = signal.butter(2, 120.0 / (sr / 2))
        out[3] += signal.lfilter(b, a, bed[0] + bed[1]) + 0.3 * signal.lfilter(b, a, fx)
    mix = _fold(out, spec.channels)
    if spec.silent:
        mix += noise_rng.standard_normal(mix.shape) * _SILENT_NOISE_RMS
    elif spec.distractors:
        mix += noise_rng.standard_normal(mix.shape) * (_EVENT_PEAK * 10 ** (_NOISE_DB / 20))
    return mix.astype(np.float32)


def _fold(six: np.ndarray, channels: int) -> np.ndarray:
    """Fold the 5.1 working mix to the requested channel count."""
    if channels == 6:
        return six
    fl, fr, fc, lfe, bl, br = six
    left = fl + fc + 0.7 * bl + 0.3 * lfe
    right = fr + fc + 0.7 * br + 0.3 * lfe
    if channels == 2:
        return np.stack([left, right])
    return (0.5 * (left + right))[None, :]


def _mouth_duration(seed: int, frame: int) -> float:
    """Syllable length (s) for an event, shared by picture and every dub."""
    return float(np.random.default_rng([seed, 53, frame]).uniform(0.16, 0.3))


# --------------------------------------------------------------------------- video


@dataclass
class _Layout:
    """Pixel rectangles of the scene elements (None = element absent)."""

    flash: tuple[int, int, int, int] | None = None  # y0, y1, x0, x1
    ball_zone: tuple[int, int, int, int] | None = None
    floor: tuple[int, int, int, int] | None = None
    face: tuple[int, int, int] | None = None  # cy, cx, radius
    ball_r: int = 0


def _layout(spec: ClipSpec) -> _Layout:
    w, h = spec.width, spec.height
    lay = _Layout()
    scene = spec.scene

    def rect(y0: float, y1: float, x0: float, x1: float) -> tuple[int, int, int, int]:
        return round(y0 * h), round(y1 * h), round(x0 * w), round(x1 * w)

    if scene == "flash":
        lay.flash = rect(0.2, 0.8, 0.25, 0.75)
    elif scene == "ball":
        lay.ball_zone = rect(0.05, 0.82, 0.1, 0.9)
        lay.floor = rect(0.82, 0.95, 0.1, 0.9)
        lay.ball_r = max(3, round(0.09 * h))
    elif scene == "mouth":
        lay.face = (round(0.5 * h), round(0.5 * w), round(0.42 * h))
    else:
        lay.flash = rect(0.18, 0.72, 0.03, 0.27)
        lay.face = (round(0.45 * h), round(0.5 * w), round(0.27 * h))
        lay.ball_zone = rect(0.05, 0.8, 0.68, 0.97)
        lay.floor = rect(0.8, 0.93, 0.68, 0.97)
        lay.ball_r = max(3, round(0.07 * h))
    return lay


def _background(spec: ClipSpec, rng: np.random.Generator) -> np.ndarray:
    """Static textured background (uint8 HxWx3), computed once per clip."""
    h, w = spec.height, spec.width
    yy = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    xx = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :]
    base = np.empty((h, w, 3), np.float32)
    base[..., 0] = 40 + 30 * xx + 10 * yy
    base[..., 1] = 50 + 20 * yy + 5 * xx
    base[..., 2] = 70 + 25 * (1 - xx) + 15 * yy
    # Low-frequency texture: a small random grid upsampled (cheap at any size).
    gh, gw = 9, 16
    grid = rng.uniform(-12, 12, (gh, gw, 1)).astype(np.float32)
    iy = np.minimum((np.arange(h) * gh) // h, gh - 1)
    ix = np.minimum((np.arange(w) * gw) // w, gw - 1)
    base += grid[iy][:, ix]
    # Thin static grid lines give the encoder (and eyes) some detail.
    step = max(8, h // 9)
    base[::step, :, :] += 18
    base[:, ::step, :] += 18
    return np.clip(base, 0, 255).astype(np.uint8)


def _disc_mask(ry: float, rx: float) -> np.ndarray:
    """Anti-aliased ellipse coverage (float32 0..1) in its bounding box."""
    hy, hx = math.ceil(ry) + 1, math.ceil(rx) + 1
    y = (np.arange(-hy, hy + 1, dtype=np.float32))[:, None] / max(ry, 0.5)
    x = (np.arange(-hx, hx + 1, dtype=np.float32))[None, :] / max(rx, 0.5)
    d = np.sqrt(x * x + y * y)
    scale = max(min(ry, rx), 0.5)
    return np.clip((1.0 - d) * scale + 0.5, 0.0, 1.0)


def _blend(img: np.ndarray, cy: float, cx: float, mask: np.ndarray, color: np.ndarray) -> None:
    """Alpha-blend ``color`` through ``mask`` centred at (cy, cx), clipped to the image."""
    mh, mw = mask.shape
    y0 = round(cy) - mh // 2
    x0 = round(cx) - mw // 2
    ya, yb = max(0, y0), min(img.shape[0], y0 + mh)
    xa, xb = max(0, x0), min(img.shape[1], x0 + mw)
    if yb <= ya or xb <= xa:
        return
    m = mask[ya - y0 : yb - y0, xa - x0 : xb - x0, None]
    region = img[ya:yb, xa:xb].astype(np.float32)
    img[ya:yb, xa:xb] = (region + (color - region) * m).astype(np.uint8)


class _Clutter:
    """Slowly drifting translucent blocks: continuous motion that is not an event."""

    def __init__(self, spec: ClipSpec, rng: np.random.Generator) -> None:
        w, h = spec.width, spec.height
        self.items = []
        for _ in range(5):
            size_y = int(rng.uniform(0.08, 0.2) * h)
            size_x = int(rng.uniform(0.08, 0.25) * w)
            self.items.append(
                (
                    max(2, size_y),
                    max(2, size_x),
                    rng.uniform(0.15, 0.85) * w,
                    rng.uniform(0.15, 0.85) * h,
                    rng.uniform(0.15, 0.3) * w,
                    rng.uniform(0.1, 0.25) * h,
                    rng.uniform(4.0, 9.0),
                    rng.uniform(5.0, 11.0),
                    rng.uniform(0, 2 * np.pi, 2),
                    np.array(rng.uniform(90, 230, 3), np.uint16),
                    int(rng.uniform(90, 140)),  # alpha /256
                )
            )

    def draw(self, img: np.ndarray, t: float) -> list[tuple[int, int, int, int]]:
        """Draw at time t; returns the rectangles (y0, y1, x0, x1) it touched."""
        h, w = img.shape[:2]
        touched = []
        for sy, sx, cx, cy, ax, ay, px, py, ph, color, alpha in self.items:
            x = round(cx + ax * math.sin(2 * math.pi * t / px + ph[0]) - sx / 2)
            y = round(cy + ay * math.sin(2 * math.pi * t / py + ph[1]) - sy / 2)
            ya, yb, xa, xb = max(0, y), min(h, y + sy), max(0, x), min(w, x + sx)
            if yb <= ya or xb <= xa:
                continue
            region = img[ya:yb, xa:xb].astype(np.uint16)
            img[ya:yb, xa:xb] = ((region * (256 - alpha) + color * alpha) >> 8).astype(np.uint8)
            touched.append((ya, yb, xa, xb))
        return touched


class _Scene:
    """Draws frame ``i``; all per-frame state is derived from precomputed event lists."""

    def __init__(
        self,
        spec: ClipSpec,
        event_frames: Sequence[int],
        kinds: Sequence[str],
        rng: np.random.Generator,
    ) -> None:
        self.spec = spec
        self.fps = float(spec.fps)
        self.lay = _layout(spec)
        self.bg = _background(spec, rng)
        self.clutter = _Clutter(spec, rng) if spec.distractors else None
        by_kind: dict[str, list[int]] = {k: [] for k in _KINDS}
        for frame, kind in zip(event_frames, kinds, strict=True):
            by_kind[kind].append(frame)
        self.flash_frames = np.array(by_kind["flash"], np.int64)
        self.ball_frames = np.array(by_kind["ball"], np.int64)
        self.mouth_frames = np.array(by_kind["mouth"], np.int64)
        self.mouth_dur = {f: _mouth_duration(spec.seed, f) for f in by_kind["mouth"]}
        self._face = self._face_sprite() if self.lay.face else None
        if self._face is not None:  # the face is static: bake it into the background
            self._paste_face(self.bg, [(0, spec.height, 0, spec.width)])

    # ----- per-frame quantities

    def _glow(self, frames: np.ndarray, i: int) -> float:
        """Exponential glow after the latest event at or before frame i (1.0 on it)."""
        if self.spec.still or frames.size == 0:
            return 0.0
        past = frames[frames <= i]
        if past.size == 0:
            return 0.0
        return math.exp(-((i - int(past[-1])) / self.fps) / _FLASH_TAU_S)

    def _mouth_open(self, i: int) -> float:
        """0 closed .. 1 open: snaps open on the event frame, eases shut over the syllable."""
        if self.spec.still or self.mouth_frames.size == 0:
            return 0.0
        past = self.mouth_frames[self.mouth_frames <= i]
        if past.size == 0:
            return 0.0
        start = int(past[-1])
        dt = (i - start) / self.fps
        dur = self.mouth_dur[start]
        if dt >= dur:
            return 0.0
        # Closing fastest right after the snap, then slower: no second motion onset.
        return (1.0 - dt / dur) ** 2

    def _ball_state(self, i: int) -> tuple[float, float, float]:
        """(height fraction 0=floor..1=top, x fraction, squash 0..1) at frame i."""
        t = 0.0 if self.spec.still else i / self.fps
        impacts = self.ball_frames / self.fps
        x = 0.5 + 0.4 * math.sin(2 * math.pi * t / 7.3)
        if impacts.size == 0:
            return 0.6, x, 0.0
        # Parabolic arcs between impacts; a long virtual arc before the first / after the last.
        prev = impacts[impacts <= t]
        nxt = impacts[impacts > t]
        a = float(prev[-1]) if prev.size else float(impacts[0]) - 8.0
        b = float(nxt[0]) if nxt.size else float(impacts[-1]) + 8.0
        s = (t - a) / (b - a)
        height = min(1.0, (b - a) / 1.3) * 4.0 * s * (1.0 - s)
        squash = self._glow(self.ball_frames, i) if not self.spec.still else 0.0
        return height, x, squash

    # ----- drawing

    def _face_sprite(self) -> tuple[np.ndarray, np.ndarray, int, int]:
        cy, cx, r = self.lay.face  # type: ignore[misc]
        mask = _disc_mask(r, r * 0.9)
        sprite = np.zeros((*mask.shape, 3), np.float32)
        sprite[:] = (235, 200, 80)
        m = mask[..., None]
        hy, hx = mask.shape[0] // 2, mask.shape[1] // 2
        for ex in (-0.35, 0.35):  # eyes
            eye = _disc_mask(0.1 * r, 0.08 * r)
            ey, exx = hy - round(0.25 * r), hx + round(ex * r)
            eh, ew = eye.shape
            sl = sprite[ey - eh // 2 : ey - eh // 2 + eh, exx - ew // 2 : exx - ew // 2 + ew]
            sl[:] = sl + (np.array([30, 30, 40], np.float32) - sl) * eye[..., None]
        return sprite.astype(np.uint8), m > 0.5, cy - hy, cx - hx

    def draw(self, img: np.ndarray, i: int) -> None:
        np.copyto(img, self.bg)
        t = 0.0 if self.spec.still else i / self.fps
        dirty = self.clutter.draw(img, t) if self.clutter is not None else []
        lay = self.lay
        if lay.flash:
            y0, y1, x0, x1 = lay.flash
            g = self._glow(self.flash_frames, i)
            dark = np.array((25, 25, 35), np.float32)
            lit = np.array((250, 250, 235), np.float32)
            img[y0:y1, x0:x1] = (dark + (lit - dark) * g).astype(np.uint8)
        if lay.floor:
            y0, y1, x0, x1 = lay.floor
            g = self._glow(self.ball_frames, i)
            base = np.array((60, 50, 45), np.float32)
            lit = np.array((255, 240, 170), np.float32)
            img[y0:y1, x0:x1] = (base + (lit - base) * g).astype(np.uint8)
        if lay.ball_zone:
            self._draw_ball(img, i)
        if self._face is not None:
            self._paste_face(img, dirty)  # only where clutter drew over the baked face
            self._draw_mouth(img, i)

    def _draw_ball(self, img: np.ndarray, i: int) -> None:
        y0, y1, x0, x1 = self.lay.ball_zone  # type: ignore[misc]
        r = self.lay.ball_r
        height, xf, squash = self._ball_state(i)
        ry = r * (1.0 - 0.4 * squash)
        rx = r * (1.0 + 0.35 * squash)
        cy = y1 - ry - height * (y1 - y0 - 2 * r)
        cx = x0 + r + xf * (x1 - x0 - 2 * r)
        color = np.array((230, 110, 30), np.float32)
        color = color + (np.array((255, 255, 255), np.float32) - color) * squash
        _blend(img, cy, cx, _disc_mask(ry, rx), color)

    def _paste_face(self, img: np.ndarray, rects: Sequence[tuple[int, int, int, int]]) -> None:
        """Copy the face sprite into ``img`` within each rectangle (y0, y1, x0, x1)."""
        sprite, mask, top, left = self._face  # type: ignore[misc]
        sh, sw = mask.shape[:2]
        for y0, y1, x0, x1 in rects:
            ya, yb = max(y0, top, 0), min(y1, top + sh, img.shape[0])
            xa, xb = max(x0, left, 0), min(x1, left + sw, img.shape[1])
            if yb <= ya or xb <= xa:
                continue
            sub = (slice(ya - top, yb - top), slice(xa - left, xb - left))
            np.copyto(img[ya:yb, xa:xb], sprite[sub], where=mask[sub])

    def _draw_mouth(self, img: np.ndarray, i: int) -> None:
        cy, cx, r = self.lay.face  # type: ignore[misc]
        open_ = self._mouth_open(i)
        ry = max(0.8, 0.03 * r + open_ * 0.4 * r)
        rx = 0.55 * r
        _blend(img, cy + 0.35 * r, cx, _disc_mask(ry, rx), np.array((90, 10, 20), np.float32))


# --------------------------------------------------------------------------- encoding


def _add_video_stream(container: av.container.OutputContainer, spec: ClipSpec) -> av.VideoStream:
    codec = _encoder(spec.video_codec, "video")
    setup = _VIDEO_SETUP.get(codec.name)
    if setup is None:
        formats = [f.name for f in (codec.video_formats or ())]
        setup = _VideoCodecSetup(formats[0] if formats else "yuv420p", {}, 0.2)
    fps = Fraction(spec.fps)
    stream = container.add_stream(codec.name, rate=fps, options=dict(setup.options))
    stream.width = spec.width
    stream.height = spec.height
    stream.pix_fmt = setup.pix_fmt
    stream.time_base = 1 / fps
    stream.codec_context.time_base = 1 / fps
    stream.codec_context.gop_size = max(1, round(2 * float(fps)))
    if setup.bits_per_pixel:
        stream.bit_rate = int(spec.width * spec.height * float(fps) * setup.bits_per_pixel)
    if codec.name == "mpeg2video":
        stream.codec_context.max_b_frames = 2
    if spec.timecode:
        stream.metadata["timecode"] = spec.timecode
    return stream


def _add_audio_stream(
    container: av.container.OutputContainer, spec: ClipSpec, language: str
) -> av.AudioStream:
    codec = _encoder(spec.audio_codec, "audio")
    offered = [f.name for f in (codec.audio_formats or ())]
    fmt = next(
        (f for f in _AUDIO_FORMAT_PREFERENCE if f in offered), offered[0] if offered else "s16"
    )
    if codec.name == "pcm_s24le":
        fmt = "s32"
    stream = container.add_stream(codec.name, rate=spec.sample_rate)
    stream.layout = _LAYOUTS[spec.channels]
    stream.format = fmt
    stream.time_base = Fraction(1, spec.sample_rate)
    stream.codec_context.time_base = Fraction(1, spec.sample_rate)
    if codec.name in ("aac", "libmp3lame", "libopus"):
        stream.bit_rate = 64000 * max(2, spec.channels)
    stream.metadata["language"] = language
    return stream


def _audio_frames(audio: np.ndarray, fmt: str, layout: str, sr: int) -> Iterator[av.AudioFrame]:
    """Chunks of 1024 samples with pts in samples (time base 1/sr)."""
    chunk = 1024
    planar = fmt.endswith("p")
    base = fmt.rstrip("p")
    for start in range(0, audio.shape[1], chunk):
        block = audio[:, start : start + chunk]
        if base == "flt":
            data = block.astype(np.float32)
        elif base == "s16":
            data = np.round(np.clip(block, -1, 1) * 32767).astype(np.int16)
        elif base == "s32":
            data = np.round(np.clip(block, -1, 1) * 2147483392.0).astype(np.int32)
        else:
            raise ValueError(f"unsupported sample format {fmt}")
        if not planar:
            data = np.ascontiguousarray(data.T).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=fmt, layout=layout)
        frame.sample_rate = sr
        frame.pts = start
        frame.time_base = Fraction(1, sr)
        yield frame


def make_clip(path: str | Path, spec: ClipSpec = ClipSpec()) -> ClipTruth:
    """Write one synthetic clip and return its ground truth.

    Frames are rendered and encoded one at a time (bounded memory, so long
    1080p clips are fine); audio is rendered whole, then encoded in chunks.
    A partly written file is removed when encoding fails.
    """
    path = Path(path)
    fps = spec.fps
    fps = Fraction(fps).limit_denominator(1001) if isinstance(fps, float) else Fraction(fps)
    spec = replace(spec, fps=fps)
    _validate(spec)
    rng = np.random.default_rng([spec.seed, 1])
    frames = _event_frames(spec, rng)
    kinds = _event_kinds(spec.scene, len(frames), rng)
    n_frames = _frame_count(spec) if spec.video else 0
    audios = [_render_audio(spec, frames, kinds, voice) for voice in range(len(spec.languages))]
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        _encode(path, spec, frames, kinds, audios, n_frames)
    except av.FFmpegError as exc:  # e.g. a codec the muxer cannot carry (hevc in mxf)
        path.unlink(missing_ok=True)
        what = f"video {spec.video_codec!r}, " if spec.video else ""
        what += f"audio {spec.audio_codec!r}" if spec.languages else "no audio"
        raise ValueError(f"cannot write {spec.container!r} with {what}: {exc}") from exc
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    times = tuple(float(Fraction(f) / spec.fps) for f in frames)
    off = spec.offset_ms / 1000.0
    return ClipTruth(
        path=path,
        spec=spec,
        event_times_s=() if spec.still or not spec.video else times,
        offset_ms=spec.offset_ms,
        event_kinds=tuple(kinds),
        sound_times_s=() if spec.silent or not spec.languages else tuple(t + off for t in times),
        frame_count=n_frames,
    )


def _encode(
    path: Path,
    spec: ClipSpec,
    frames: Sequence[int],
    kinds: Sequence[str],
    audios: Sequence[np.ndarray],
    n_frames: int,
) -> None:
    fmt = _CONTAINER_FORMATS[spec.container]
    with av.open(str(path), mode="w", format=fmt) as container:
        if spec.timecode:
            container.metadata["timecode"] = spec.timecode
        vstream = _add_video_stream(container, spec) if spec.video else None
        astreams = [_add_audio_stream(container, spec, lang) for lang in spec.languages]
        # Interleave: audio up to each video frame's time, so muxers need little buffering.
        audio_iters = [
            _audio_frames(a, s.format.name, s.layout.name, spec.sample_rate)
            for a, s in zip(audios, astreams, strict=True)
        ]
        pending: list[av.AudioFrame | None] = [next(it, None) for it in audio_iters]

        def feed_audio(until_s: float) -> None:
            for k, stream in enumerate(astreams):
                while pending[k] is not None and pending[k].pts / spec.sample_rate <= until_s:
                    container.mux(stream.encode(pending[k]))
                    pending[k] = next(audio_iters[k], None)

        if vstream is not None:
            scene = _Scene(spec, frames, kinds, np.random.default_rng([spec.seed, 2]))
            img = np.empty((spec.height, spec.width, 3), np.uint8)
            tb = 1 / spec.fps
            for i in range(n_frames):
                feed_audio(i / float(spec.fps))
                if i == 0 or not spec.still:
                    scene.draw(img, i)
                frame = av.VideoFrame.from_ndarray(img, format="rgb24")
                frame.pts = i
                frame.time_base = tb
                container.mux(vstream.encode(frame))
        feed_audio(math.inf)
        if vstream is not None:
            container.mux(vstream.encode(None))
        for stream in astreams:
            container.mux(stream.encode(None))


# --------------------------------------------------------------------------- timelines


@dataclass(frozen=True)
class _Entry:
    """One picture clip of a generated timeline."""

    name: str
    spec: ClipSpec | None  # None = media that does not exist
    slip_frames: int | None  # None = no audio clip on A1 (a gap)
    missing: str = ""  # "" | "url" (ExternalReference to a missing file) | "reference"


def _tc_string(frames: int, rate: Fraction) -> str:
    """Non-drop-frame timecode, matching the "01:00:00:00" global start time at any rate."""
    rt = otio.opentime.RationalTime(frames, float(rate))
    return otio.opentime.to_timecode(rt, float(rate), False)


def _start_frames(rate: Fraction, index: int) -> int:
    """01:00:00:00 plus 10 s 3 frames per clip, in frames, so media never start at 0."""
    hour = otio.opentime.from_timecode("01:00:00:00", float(rate)).to_frames()
    nominal = round(float(rate))
    return int(hour + index * (10 * nominal + 3))


def _build_timeline(
    folder: Path,
    name: str,
    entries: Sequence[_Entry],
    rate: Fraction,
    clip_frames: int,
    handle_frames: int,
    relative_urls: bool,
) -> TimelineTruth:
    """Write media + .otio for ``entries``; shared by slipped timelines and the demo."""
    folder.mkdir(parents=True, exist_ok=True)
    media_dir = folder / "media"
    r = float(rate)
    timeline = otio.schema.Timeline(
        name=name,
        global_start_time=otio.opentime.from_timecode("01:00:00:00", r),
    )
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    a1 = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    timeline.tracks.append(v1)
    timeline.tracks.append(a1)
    expected: dict[str, float] = {}
    written: list[Path] = []
    media_frames = clip_frames + 2 * handle_frames

    def rt(frames: int) -> otio.opentime.RationalTime:
        return otio.opentime.RationalTime(frames, r)

    for index, entry in enumerate(entries):
        start = _start_frames(rate, index)
        available = otio.opentime.TimeRange(rt(start), rt(media_frames))
        media_path = media_dir / f"{entry.name}.mp4"
        if entry.spec is not None:
            spec = replace(
                entry.spec,
                fps=rate,
                duration_s=media_frames / r,
                timecode=_tc_string(start, rate),
            )
            make_clip(media_path, spec)
            written.append(media_path.resolve())
        url = (
            os.path.relpath(media_path, folder).replace(os.sep, "/")
            if relative_urls
            else str(media_path.resolve())
        )

        def reference(
            entry: _Entry = entry, url: str = url, available: otio.opentime.TimeRange = available
        ) -> otio.core.MediaReference:
            if entry.missing == "reference":
                return otio.schema.MissingReference(name=entry.name)
            return otio.schema.ExternalReference(target_url=url, available_range=available)

        truth: dict[str, object] = {"role": "picture"}
        if entry.slip_frames is not None and entry.spec is not None and not entry.missing:
            offset = entry.slip_frames * 1000.0 / r
            expected[entry.name] = offset
            truth.update(expected_offset_ms=offset, slip_frames=entry.slip_frames)
        elif entry.slip_frames is None and entry.spec is not None and not entry.missing:
            offset = entry.spec.offset_ms
            expected[entry.name] = offset
            truth.update(expected_offset_ms=offset, source="media audio")
        else:
            truth.update(expected_offset_ms=None, analysable=False)
        picture = otio.schema.Clip(
            name=entry.name,
            media_reference=reference(),
            source_range=otio.opentime.TimeRange(rt(start + handle_frames), rt(clip_frames)),
            metadata={TRUTH_METADATA_KEY: truth},
        )
        v1.append(picture)
        if entry.slip_frames is None:
            a1.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(rt(0), rt(clip_frames))))
            continue
        # Audio source starts k frames EARLIER in the same media: at timeline time T we
        # hear media time (S - k) + T', which belongs to the picture shown k frames ago,
        # so the sound is k frames LATE (offset = +k frames).
        sound = otio.schema.Clip(
            name=entry.name,
            media_reference=reference(),
            source_range=otio.opentime.TimeRange(
                rt(start + handle_frames - entry.slip_frames), rt(clip_frames)
            ),
            metadata={TRUTH_METADATA_KEY: {"role": "sound", "slip_frames": entry.slip_frames}},
        )
        a1.append(sound)

    otio_path = folder / f"{name}.otio"
    otio.adapters.write_to_file(timeline, str(otio_path))
    return TimelineTruth(path=otio_path, expected=expected, rate=rate, media=tuple(written))


def make_slipped_timeline(
    folder: str | Path,
    slips_frames: Sequence[int],
    *,
    fps: Fraction = Fraction(25),
    clip_s: float = 6.0,
    handle_s: float = 3.0,
    seed: int = 0,
    scene: str = "mixed",
    relative_urls: bool = True,
    name: str = "slipped",
    size: tuple[int, int] | None = None,
) -> TimelineTruth:
    """A V1/A1 timeline whose audio clips are slipped by known frame counts.

    ``size`` (width, height) overrides the media's small default picture (1080p for benchmarks).

    Clip ``i`` plays in-sync media on V1 from ``available.start + handle``;
    its A1 clip uses the same file starting ``slips_frames[i]`` frames earlier,
    so its sound is ``slips_frames[i]`` frames LATE (expected offset
    ``slips_frames[i] * 1000 / fps`` ms).  Slips must fit inside the handles.
    """
    rate = Fraction(fps)
    clip_frames = round(clip_s * float(rate))
    handle_frames = round(handle_s * float(rate))
    for k in slips_frames:
        if abs(k) > handle_frames:
            raise ValueError(f"slip of {k} frames exceeds the {handle_frames}-frame handles")
    entries = [
        _Entry(
            name=f"{name}_{i:02d}",
            spec=ClipSpec(scene=scene, seed=seed * 1000 + i, fps=rate)
            if size is None
            else ClipSpec(
                scene=scene, seed=seed * 1000 + i, fps=rate, width=size[0], height=size[1]
            ),
            slip_frames=int(k),
        )
        for i, k in enumerate(slips_frames)
    ]
    return _build_timeline(
        Path(folder), name, entries, rate, clip_frames, handle_frames, relative_urls
    )


#: The demo's clips take their generator seeds from here up. The training corpus
#: generates its clips with seeds ``recipe_seed * 1000 + i`` (model/corpus.py), so
#: small seeds would make the demo show training material (``syn-0-001`` ...).
DEMO_SEED_BASE = 1_000_000_000


def demo_seeds(seed: int = 0) -> list[int]:
    """The generator seeds of the demo's seven clips for the demo's ``--seed``."""
    return [DEMO_SEED_BASE + seed * 100 + k for k in range(1, 8)]


def make_demo(folder: str | Path, *, seed: int = 0) -> TimelineTruth:
    """A small mixed timeline that shows every kind of audit outcome.

    Four clips with slipped A1 audio (0, +3, -2, +8 frames), one clip with a
    gap on A1 whose media has sound baked 160 ms late (the audit must fall back
    to the media's own audio), one clip whose file does not exist and one with
    a MissingReference.  ``expected`` lists the analysable clips only.
    """
    rate = Fraction(25)
    s = demo_seeds(seed)
    base = ClipSpec(width=320, height=180, seed=s[0])
    entries = [
        _Entry("shot_010_in_sync", replace(base, scene="mixed", seed=s[0]), 0),
        _Entry("shot_020_late_3f", replace(base, scene="mouth", seed=s[1]), 3),
        _Entry("shot_030_early_2f", replace(base, scene="ball", seed=s[2]), -2),
        _Entry("shot_040_late_8f", replace(base, scene="flash", seed=s[3]), 8),
        _Entry(
            "shot_050_media_late_160ms",
            replace(base, scene="mixed", seed=s[4], offset_ms=160.0),
            None,
        ),
        _Entry("shot_060_missing_file", replace(base, seed=s[5]), 0, missing="url"),
        _Entry("shot_070_offline", replace(base, seed=s[6]), 0, missing="reference"),
    ]
    # Unanalysable entries get no media written: drop their spec after naming it.
    entries = [replace(e, spec=None) if e.missing else e for e in entries]
    return _build_timeline(
        Path(folder), "demo", entries, rate, clip_frames=125, handle_frames=38, relative_urls=True
    )
