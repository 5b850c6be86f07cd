"""Reference alignment: a dub against the original mix, audio to audio.

A dub and the original-language mix (or an M&E stem) share the music and
effects, which align far more sharply than lips align with any dub. The sound
under test is cut into windows; each window is located in the reference by
generalised cross-correlation with phase transform (GCC-PHAT) over a
band-limited spectrum: whitening makes the shared bed's many small peaks add up
in phase while the different dialogue only adds noise. The correlation peak is
refined by parabolic interpolation (a fraction of a sample: well under 1 ms).

Conform errors stretch the dub (a file made for 25 fps played at 24 runs 4 %
slow): within a window of a few seconds that smears the peak, so each window is
also tried with the speed ratios of the common conforms compensated, and the
sharpest peak wins. The window offsets are mapped to the middle of the span
(with the chosen speed) and combined by a weighted median.

``ReferenceEstimator.estimate(av)`` needs ``av.reference``: the reference's
sound on the same clock as ``av.audio``, reaching ``search_ms`` beyond the span.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy import signal

from otio_avsync.estimators.base import AVInput, Estimate
from otio_avsync.results import WindowResult

__all__ = ["CONFORM_RATES", "ReferenceEstimator", "gcc_phat", "likely_conform"]

#: Frame-rate conforms and the drift they cause: name -> ratio of rates.
CONFORM_RATES: dict[str, Fraction] = {
    "23.976 / 24 fps (1000/1001 pull-down)": Fraction(1000, 1001),
    "24 / 25 fps (PAL speed-up)": Fraction(24, 25),
    "23.976 / 25 fps": Fraction(24000, 25025),
    "29.97 / 30 fps (1000/1001)": Fraction(1000, 1001),
}
#: A drift other than none must sharpen the peaks by this factor to be chosen.
_DRIFT_PREFERENCE = 1.2


def _drifts() -> list[float]:
    """Candidate drifts (seconds of extra lag per second): none and the conforms both ways."""
    out = {0.0}
    for ratio in CONFORM_RATES.values():
        r = float(ratio)
        if abs(1 - r) > 0.02:  # below ~2 % a few seconds' window is not smeared
            out.update({1 - r, 1 - 1 / r})
    return sorted(out, key=abs)


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


def gcc_phat(
    x: np.ndarray,
    y: np.ndarray,
    *,
    rate: int,
    band: tuple[float, float] = (100.0, 7000.0),
) -> np.ndarray:
    """gcc_phat(x, y, rate=16000) -> c with c[k] = whitened sum_t x[t] * y[t + k]

    ``k`` runs over ``0 .. len(y) - len(x)``: where ``x`` sits inside ``y``.
    """
    nfft = 1 << int(np.ceil(np.log2(len(x) + len(y))))
    return _phat_from(np.fft.rfft(y, nfft), x, nfft, rate, len(y), band)


def _peak(c: np.ndarray) -> tuple[float, float, float]:
    """(sub-sample index, height, peak-to-sidelobe ratio) of the correlation's maximum."""
    k = int(np.argmax(c))
    frac = 0.0
    if 0 < k < len(c) - 1:
        a, b, d = c[k - 1], c[k], c[k + 1]
        den = a - 2 * b + d
        if den < 0:
            frac = float(np.clip(0.5 * (a - d) / den, -0.5, 0.5))
    # Sidelobes: everything but the peak's neighbourhood (2 ms either side at 16 kHz).
    guard = 32
    side = np.concatenate([c[: max(0, k - guard)], c[k + guard + 1 :]])
    if len(side) < 16:
        return k + frac, float(c[k]), 0.0
    med = float(np.median(side))
    spread = float(np.median(np.abs(side - med))) * 1.4826 + 1e-12
    return k + frac, float(c[k]), (float(c[k]) - med) / spread


@dataclass
class _Window:
    centre_s: float  # window middle, seconds from the span start
    lag_s: float  # sound late by this much at the window middle
    drift: float  # the compensated drift that gave the sharpest peak
    psr: float


class ReferenceEstimator:
    """ReferenceEstimator(window_s=4.0) -- GCC-PHAT alignment of a sound against a reference.

    The same interface as the picture estimators; ``av.frames`` is not used.
    """

    name = "reference"
    audio_rate = 16000
    frame_width = 0

    def __init__(self, window_s: float = 4.0, hop_s: float = 2.0, min_psr: float = 12.0) -> None:
        self.window_s = window_s
        self.hop_s = hop_s
        #: Peak-to-sidelobe ratio at which a window counts as evidence.
        self.min_psr = min_psr
        self.drifts = _drifts()

    def estimate(self, av: AVInput, *, search_ms: float = 10000.0) -> Estimate:
        """estimate(av, search_ms=10000) -> how late ``av.audio`` is against ``av.reference``."""
        if av.reference is None:
            raise ValueError("reference alignment needs av.reference")
        rate = av.rate
        span = av.picture_duration_s or len(av.audio) / rate + av.audio_start_s
        sound = _bandpass(av.audio, rate)
        ref = _bandpass(av.reference, rate)
        search = search_ms / 1000.0
        win = min(self.window_s, span)
        starts = np.arange(0.0, max(span - win, 0.0) + 1e-9, self.hop_s)
        if len(starts) and span - win - starts[-1] > 0.25 * self.hop_s:
            starts = np.append(starts, span - win)
        # Every window under every candidate drift; the drift that sharpens the peaks
        # most over the whole span wins (one conform error per span, not per window).
        per_drift: dict[float, list[_Window]] = {d: [] for d in self.drifts}
        for w0 in starts:
            got = self._window(
                sound, av.audio_start_s, ref, av.reference_start_s, rate, w0, win, search
            )
            for w in got:
                per_drift[w.drift].append(w)

        def total(d: float) -> float:
            return sum(w.psr for w in per_drift[d] if w.psr >= self.min_psr)

        best = max(self.drifts, key=total)
        if best != 0.0 and total(best) < _DRIFT_PREFERENCE * total(0.0):
            best = 0.0
        return self._combine(per_drift[best], span, search, av)

    def _window(
        self,
        sound: np.ndarray,
        sound_start: float,
        ref: np.ndarray,
        ref_start: float,
        rate: int,
        w0: float,
        win: float,
        search: float,
    ) -> list[_Window]:
        """The window located in the reference under each candidate drift ([] if silent)."""
        a = round((w0 - sound_start) * rate)
        n = round(win * rate)
        x = sound[max(0, a) : a + n]
        if len(x) < n // 2 or float(np.sqrt(np.mean(x**2))) < 1e-5:
            return []
        m = round(search * rate)
        b = round((w0 - ref_start) * rate) - m  # reference from w0 - search
        lo = max(0, b)
        y = ref[lo : max(lo, b + n + 2 * m)]
        if len(y) <= len(x):
            return []
        pad_front = lo - b  # reference missing before its start: zeros
        y = np.concatenate([np.zeros(pad_front, y.dtype), y]) if pad_front > 0 else y
        nfft = 1 << int(np.ceil(np.log2(len(x) * 1.1 + len(y))))
        yf = np.fft.rfft(y, nfft)
        centre = len(x) / 2
        out = []
        for drift in self.drifts:
            xs = x if drift == 0.0 else _stretch(x, 1.0 - drift)
            xs = xs[: len(x)] if len(xs) > len(x) else xs
            c = _phat_from(yf, xs, nfft, rate, len(y))
            k, _, psr = _peak(c)
            # x[t] (window time) sits at y[t + k]: the sound at w0 + t is the reference's
            # sound of w0 - search + k + t, i.e. late by search - k (seconds).
            # After stretching about the window start, lag at the middle:
            lag = search - k / rate
            out.append(_Window(w0 + win / 2, lag + drift * centre / rate, drift, psr))
        return out

    def _combine(self, windows: list[_Window], span: float, search: float, av: AVInput) -> Estimate:
        method = "reference (GCC-PHAT)"
        good = [w for w in windows if w.psr >= self.min_psr]
        win_results = [
            WindowResult(
                start_s=w.centre_s - min(self.window_s, span) / 2,
                duration_s=min(self.window_s, span),
                offset_ms=w.lag_s * 1000.0,
                confidence=float(_psr_confidence(w.psr)),
                weight=w.psr,
            )
            for w in windows
        ]
        if not good:
            return Estimate(
                None,
                0.0,
                method,
                windows=win_results,
                note="no music or effects in common with the reference",
                evidence={"psr": max((w.psr for w in windows), default=0.0), "windows": 0},
            )
        mid = span / 2
        at_mid = np.array([w.lag_s + w.drift * (mid - w.centre_s) for w in good])
        weights = np.array([w.psr for w in good])
        order = np.argsort(at_mid)
        cum = np.cumsum(weights[order])
        offset = float(at_mid[order][np.searchsorted(cum, cum[-1] / 2)])
        frame = 1.0 / (av.fps if av.fps > 0 else 25.0)
        agree = float(weights[np.abs(at_mid - offset) <= frame].sum() / weights.sum())
        near = [w for w, v in zip(good, at_mid, strict=True) if abs(v - offset) <= frame]
        # Refine: the weighted mean of the agreeing windows (sub-millisecond).
        wn = np.array([w.psr for w in near])
        offset = float(np.sum(wn * at_mid[np.abs(at_mid - offset) <= frame]) / wn.sum())
        drift = _drift_within(near) if len(near) >= 2 else near[0].drift
        psr = float(np.max(wn))
        conf = float(_psr_confidence(psr) * (0.5 + 0.5 * agree) * min(1.0, 0.6 + 0.2 * len(near)))
        edge = abs(offset) > search - 0.01
        return Estimate(
            offset * 1000.0,
            conf,
            method,
            windows=win_results,
            at_search_edge=edge,
            evidence={
                "psr": psr,
                "agree": agree,
                "windows": float(len(near)),
                "drift_ppm": drift * 1e6,
            },
        )


def _psr_confidence(psr: float) -> float:
    """A peak-to-sidelobe ratio as the probability of a right answer (fitted on simulated dubs)."""
    return float(1.0 / (1.0 + np.exp(-(psr - 10.0) / 1.5)))


def _drift_within(windows: list[_Window]) -> float:
    """Drift within a span: the slope of the window lags, or the compensated drift."""
    t = np.array([w.centre_s for w in windows])
    lag = np.array([w.lag_s for w in windows])
    if np.ptp(t) < 2.0:
        return float(np.median([w.drift for w in windows]))
    return float(np.polyfit(t, lag, 1)[0])


def _bandpass(x: np.ndarray, rate: int) -> np.ndarray:
    sos = signal.butter(4, [80.0, min(7500.0, 0.45 * rate)], btype="band", fs=rate, output="sos")
    return signal.sosfilt(sos, np.asarray(x, np.float64))


def _stretch(x: np.ndarray, factor: float) -> np.ndarray:
    """x played ``factor`` times slower (longer), about its first sample."""
    ratio = Fraction(factor).limit_denominator(2000)
    return signal.resample_poly(x, ratio.numerator, ratio.denominator)


def _phat_from(
    yf: np.ndarray,
    x: np.ndarray,
    nfft: int,
    rate: int,
    ny: int,
    band: tuple[float, float] = (100.0, 7000.0),
) -> np.ndarray:
    """The whitened cross-correlation of ``x`` against ``y`` given ``y``'s spectrum."""
    cross = yf * np.conj(np.fft.rfft(x, nfft))
    freqs = np.fft.rfftfreq(nfft, 1.0 / rate)
    mag = np.abs(cross)
    inside = (freqs >= band[0]) & (freqs <= band[1])
    cross = np.where(inside, cross / np.maximum(mag, 1e-20), 0.0)
    return np.fft.irfft(cross, nfft)[: ny - len(x) + 1]
