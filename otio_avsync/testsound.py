"""The sound of the synthetic clips of :mod:`otio_avsync.testmedia`.

Each sound event matches a picture event: a beep with a click front for a flash,
a crack and thud for a ball impact, a plosive and voiced vowel (a syllable) for
a mouth opening. Onsets are sharp so the true offset is pinned to the sample.
Effects are shared by every language of a clip, dialogue differs per voice, so
dubs (:mod:`otio_avsync.testdubs`) share the M&E bed. Distractors: a soft music
bed whose chord changes keep away from the events, and background noise about
30 dB under the events. The mix is built as 5.1 and folded down.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
from scipy import signal

from otio_avsync.testspec import ClipSpec

_EVENT_PEAK = 0.5  # peak amplitude of event sounds (full scale = 1)
_NOISE_DB = -30.0  # background noise (RMS) relative to the event peak
_BED_RMS = 0.015  # music bed level before fold-down: about 25 dB under the event peak
_SILENT_NOISE_RMS = 5e-4  # about -66 dBFS: "silent" clips still are not digital zero


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
