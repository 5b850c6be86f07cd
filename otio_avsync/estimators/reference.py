"""Reference alignment: a dub against the original mix, audio to audio.

A dub and the original-language mix share the music and effects (the M&E bed)
and nothing else: the dialogue is another speaker's, with its own timing, and
is usually far louder than the bed. The alignment therefore has to find a
quiet common signal under loud unrelated ones:

1. **Whitening in time and frequency.** Both sounds go through a short-time
   Fourier transform and every time-frequency cell is divided by its own
   magnitude. Loud dialogue then counts no more than the quiet bed in its
   pauses and in the bands it leaves free, where the bed is all there is
   (whitening the whole clip at once, as plain GCC-PHAT does, lets the
   dialogue's loud stretches drown those). Bands whose level hardly moves
   (hum, a held chord) count less: they match themselves at every period.
   The whitened sounds are turned back into waveforms.
2. **One search over the whole range.** The whitened sound (the clip's span
   plus *handles*: the media just before and after it, which carry the same
   slip) is cross-correlated with the whitened reference over the whole
   ``±search_ms``, once per candidate drift (none, and the speed errors of
   the common frame-rate conforms). A shared bed gives one sharp peak a
   sample wide; unrelated dialogue gives a noise floor.
3. **Confidence from the search's own statistics**: how far the peak stands
   above the rest of the correlation (a robust z-score against its median
   and MAD) and above the best *distinct* rival peak (more than 20 ms away).
   When nothing is shared the best peak is just the largest of a few hundred
   thousand noise values, and a rival of nearly the same height is always
   there; a repeated music loop gives two peaks of equal height. Either way
   the answer is not confident.
4. **Windows.** Each window of the span is located again near the answer
   (sub-sample, by a parabola through the peak) to report per-window offsets,
   to measure a drift within the span and to tell whether the span holds one
   offset at all.

``ReferenceEstimator.estimate(av)`` needs ``av.reference``: the reference's
sound on the same clock as ``av.audio``, reaching ``search_ms`` beyond the
sound (``av.audio_start_s`` may be negative: the sound then starts with a
handle before the span).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import scipy.fft as sfft
from scipy import signal

from otio_avsync.estimators.base import AVInput, Estimate, parabolic_offset
from otio_avsync.results import WindowResult

__all__ = [
    "CONFORM_RATES",
    "ReferenceEstimator",
    "likely_conform",
    "match_confidence",
    "whiten",
]

#: Frame-rate conforms and the drift they cause: name -> ratio of rates.
#: (29.97 / 30 has the same ratio as 23.976 / 24, and so the same drift.)
CONFORM_RATES: dict[str, Fraction] = {
    "23.976 / 24 fps (1000/1001 pull-down)": Fraction(1000, 1001),
    "24 / 25 fps (PAL speed-up)": Fraction(24, 25),
    "23.976 / 25 fps": Fraction(24000, 25025),
}
#: Whitening: STFT size (samples at 16 kHz) and the band kept.
STFT_SIZE = 512
BAND_HZ = (100.0, 7000.0)
#: Rival peaks are looked for this far (seconds) from the best one and beyond.
RIVAL_GUARD_S = 0.02
#: Below confidence, a best peak at least this high means a rival nearly as high.
AMBIGUOUS_Z = 10.0
#: A match this sure without a drift is not tried with the conforms' drifts.
SURE = 0.9
#: A drift other than none must beat none's peak ratio by this factor.
DRIFT_PREFERENCE = 1.1
#: Window length and hop (seconds) of the per-window check, and how far (seconds)
#: from the answer a window looks for its own peak.
WINDOW_S = 4.0
HOP_S = 4.0
WINDOW_REACH_S = 0.025


def _drifts() -> list[float]:
    """Candidate drifts (seconds of extra lag per second): none and the conforms both ways."""
    out = {0.0}
    for ratio in CONFORM_RATES.values():
        r = float(ratio)
        out.update({1 - r, 1 - 1 / r})
    return sorted(out, key=lambda d: (abs(d), d))


def likely_conform(drift_ppm: float, tolerance: float = 0.1) -> str | None:
    """likely_conform(drift_ppm) -> the frame-rate conform that explains a drift, or None.

    A drift of ``d`` (extra lag per second of timeline) comes from sound made at
    one rate and played at another: ``d = 1 - r`` or ``1 - 1/r`` for the rate
    ratio ``r``. Within ``tolerance`` (relative) of one of those, name it.
    """
    if not np.isfinite(drift_ppm) or abs(drift_ppm) < 50:
        return None
    d = drift_ppm * 1e-6
    best, best_err = None, tolerance
    for name, ratio in CONFORM_RATES.items():
        r = float(ratio)
        for expected, how in ((1 - r, "sound runs slow"), (1 - 1 / r, "sound runs fast")):
            err = abs(d - expected) / abs(expected)
            if err < best_err:
                best, best_err = f"{name}: {how}", err
    return best


def whiten(x: np.ndarray, rate: int) -> np.ndarray:
    """whiten(x, rate) -> x with every time-frequency cell brought to one level.

    Bands of steady level are weighted down (see the module docstring). Hann
    frames at 50 % overlap, added back without a synthesis window (they sum to one).
    """
    x = np.asarray(x, np.float32)
    n = len(x)
    nper = max(64, 2 * round(STFT_SIZE * rate / 16000 / 2))
    hop = nper // 2
    if n < nper:
        return np.zeros(n, np.float32)
    total = -(-(n + 2 * nper) // hop) * hop
    xp = np.zeros(total, np.float32)
    xp[nper : nper + n] = x
    win = signal.get_window("hann", nper).astype(np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(xp, nper)[::hop] * win
    z = sfft.rfft(frames, axis=1, workers=-1)
    mag = np.abs(z)
    peak = float(mag.max())
    if peak <= 0.0:
        return np.zeros(n, np.float32)
    mag = np.maximum(mag, peak * 10 ** (-70 / 20))  # digital silence stays silent
    steady = np.mean(mag, axis=0) ** 2 / np.mean(mag**2, axis=0)
    moving = np.clip((1.0 - steady) / (1.0 - np.pi / 4), 0.0, 1.0)
    freqs = np.fft.rfftfreq(nper, 1.0 / rate)
    moving[(freqs < BAND_HZ[0]) | (freqs > min(BAND_HZ[1], 0.45 * rate))] = 0.0
    y = sfft.irfft(z * (moving / mag).astype(np.float32), nper, axis=1, workers=-1)
    y = y.astype(np.float32, copy=False)
    # Overlap-add at half a frame: each hop is one frame's first half plus the last's second.
    out = y[:, :hop].copy()
    out[1:] += y[:-1, hop:]
    return out.reshape(-1)[nper : nper + n]


def match_confidence(z: float, ratio: float) -> float:
    """How sure a match is, 0..1, from its peak z-score and its ratio over the best rival.

    Over a ±10 s search the noise's best peak reaches a z of about 5 to 9 and
    stands at most 1.3 times above its best rival (measured on reels with no
    shared bed, real dialogue on both sides: ``bench/bench_dubs.py``); a shared
    bed gives ratios of 1.4 and far above. Both must hold: 0.5 at a ratio of
    1.375 and a z of 6.75.
    """
    by_ratio = float(np.clip((ratio - 1.25) / 0.25, 0.0, 1.0))
    by_height = float(np.clip((z - 5.5) / 2.5, 0.0, 1.0))
    return min(by_ratio, by_height)


def _stretch(x: np.ndarray, factor: float) -> np.ndarray:
    """x played ``factor`` times slower (longer), about its first sample."""
    ratio = Fraction(factor).limit_denominator(2000)
    return signal.resample_poly(x, ratio.numerator, ratio.denominator)


@dataclass
class _Peak:
    """The best lag of one candidate drift."""

    drift: float
    k: float  # sub-sample position of the sound's first sample inside the reference
    z: float  # peak height over the correlation's median, in robust standard deviations
    rival_z: float  # the best distinct rival's height, likewise

    @property
    def ratio(self) -> float:
        return self.z / max(self.rival_z, 1e-9)


def _peak(c: np.ndarray, drift: float, guard: int) -> _Peak:
    k = int(np.argmax(c))
    med = float(np.median(c))
    spread = float(np.median(np.abs(c - med))) * 1.4826 + 1e-12
    side = np.concatenate([c[: max(0, k - guard)], c[k + guard + 1 :]])
    rival = float(side.max()) if len(side) else med
    return _Peak(drift, k + parabolic_offset(c, k), (c[k] - med) / spread, (rival - med) / spread)


class ReferenceEstimator:
    """ReferenceEstimator() -- locate a sound in a reference (dub vs original mix).

    The same interface as the picture estimators; ``av.frames`` is not used.
    """

    name = "reference"
    audio_rate = 16000
    frame_width = 0

    def __init__(self, window_s: float = WINDOW_S, hop_s: float = HOP_S) -> None:
        self.window_s = window_s
        self.hop_s = hop_s
        self.drifts = _drifts()

    def estimate(self, av: AVInput, *, search_ms: float = 10000.0) -> Estimate:
        """estimate(av, search_ms=10000) -> how late ``av.audio`` is against ``av.reference``."""
        if av.reference is None:
            raise ValueError("reference alignment needs av.reference")
        rate = av.rate
        method = "reference (whitened cross-correlation)"
        span = av.picture_duration_s or len(av.audio) / rate + av.audio_start_s
        if len(av.audio) < STFT_SIZE or float(np.sqrt(np.mean(np.square(av.audio)))) < 1e-5:
            return Estimate(None, 0.0, method, note="the sound is silent")
        x = whiten(av.audio, rate)
        y = whiten(av.reference, rate)
        if len(y) <= len(x) or not np.any(y):
            return Estimate(None, 0.0, method, note="the reference is silent here")
        # A circular correlation as long as y is exact at every lag where x lies inside y.
        nfft = sfft.next_fast_len(len(y), real=True)
        yf = sfft.rfft(y, nfft, workers=-1)
        guard = round(RIVAL_GUARD_S * rate)
        peaks: list[_Peak] = []
        for d in self.drifts:
            if peaks and match_confidence(peaks[0].z, peaks[0].ratio) >= SURE:
                break  # found without a drift: the conforms' drifts could only blur it
            xs = x if d == 0.0 else _stretch(x, 1.0 - d)
            if len(xs) >= len(y):
                continue
            xs = xs.astype(np.float32, copy=False)
            c = sfft.irfft(yf * np.conj(sfft.rfft(xs, nfft, workers=-1)), nfft, workers=-1)
            peaks.append(_peak(c[: len(y) - len(xs) + 1], d, guard))
        none = peaks[0]
        best = max(peaks, key=lambda p: p.ratio)
        if best.drift != 0.0 and best.ratio < DRIFT_PREFERENCE * none.ratio:
            best = none
        # x[t] (heard at audio_start + t/rate) is found at y[t + k] (reference_start + (t+k)/rate).
        lag0 = av.audio_start_s - av.reference_start_s - best.k / rate
        mid = span / 2.0

        def lag_at(t: float) -> float:  # sound late by this at span time t
            return lag0 + best.drift * (t - av.audio_start_s)

        windows = self._windows(x, y, best.drift, lag_at, span, av)
        offset = lag_at(mid)
        drift = best.drift
        confident = [w for w in windows if w.confidence >= 0.5]
        if len(confident) >= 3 and np.ptp([w.start_s for w in confident]) >= 4.0:
            t = np.array([w.start_s + w.duration_s / 2 for w in confident])
            lags = np.array([w.offset_ms for w in confident]) / 1000.0
            slope, at0 = np.polyfit(t, lags, 1)
            if abs(slope - drift) < 0.002:  # a residual drift the candidates did not catch
                drift, offset = float(slope), float(at0 + slope * mid)
        conf = match_confidence(best.z, best.ratio)
        note = ""
        if conf < 0.5:
            # Two strong peaks of nearly one height: a sound the reference holds twice.
            # Weak peaks: nothing in common (no bed, or one too quiet under the dialogue).
            note = (
                "the match with the reference is ambiguous (a repeated sound?)"
                if best.z >= AMBIGUOUS_Z
                else "no music or effects in common with the reference"
            )
        return Estimate(
            offset * 1000.0,
            conf,
            method,
            windows=windows,
            at_search_edge=abs(offset) > search_ms / 1000.0 - 0.01,
            note=note,
            evidence={
                "z": float(best.z),
                "ratio": float(best.ratio),
                "drift_ppm": drift * 1e6,
                "windows": float(sum(w.confidence >= 0.5 for w in windows)),
            },
        )

    def _windows(
        self,
        x: np.ndarray,
        y: np.ndarray,
        drift: float,
        lag_at: Callable[[float], float],
        span: float,
        av: AVInput,
    ) -> list[WindowResult]:
        """Each window of the span located again within ``WINDOW_REACH_S`` of the answer."""
        rate = av.rate
        win = min(self.window_s, span)
        starts = np.arange(0.0, max(span - win, 0.0) + 1e-9, self.hop_s)
        if len(starts) and span - win - starts[-1] > 0.25 * self.hop_s:
            starts = np.append(starts, span - win)
        reach = round(WINDOW_REACH_S * rate)
        out = []
        for w0 in starts:
            a = round((w0 - av.audio_start_s) * rate)
            n = round(win * rate)
            seg = x[a : a + n]
            if a < 0 or len(seg) < n // 2 or not np.any(seg):
                continue
            if drift != 0.0:
                seg = _stretch(seg, 1.0 - drift)[: len(seg)]
            lag = lag_at(w0)
            b = round((w0 - lag - av.reference_start_s) * rate) - reach
            lo = max(0, b)
            ref = y[lo : b + len(seg) + 2 * reach]
            if b < 0:
                ref = np.concatenate([np.zeros(-b), ref])
            if len(ref) <= len(seg):
                continue
            nfft = sfft.next_fast_len(len(seg) + len(ref))
            c = sfft.irfft(sfft.rfft(ref, nfft) * np.conj(sfft.rfft(seg, nfft)), nfft)[
                : len(ref) - len(seg) + 1
            ]
            k = int(np.argmax(c))
            spread = float(np.std(c)) + 1e-12
            z = float((c[k] - np.median(c)) / spread)
            w_lag = lag + (reach - k - parabolic_offset(c, k)) / rate
            out.append(
                WindowResult(
                    start_s=float(w0),
                    duration_s=float(win),
                    offset_ms=(w_lag + drift * win / 2) * 1000.0,
                    confidence=float(np.clip((z - 3.0) / 3.0, 0.0, 1.0)),
                    weight=z,
                )
            )
        return out
