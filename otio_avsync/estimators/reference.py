"""Reference alignment: a dub against the original mix, audio to audio.

A dub and the original-language mix (or an M&E stem) share the music and
effects, which align far more sharply than lips align with any dub. The sound
under test is cut into windows, and each window is located in the reference in
two stages:

1. *Where*: onset envelopes (spectral flux in log-spaced bands, 2 ms steps) of
   the window and of the reference are compared by normalised cross-correlation
   over the whole search range. Envelopes ignore steady tones (a chord of the
   music bed matches itself at many lags when compared sample by sample) and
   give a correlation coefficient whose height and margin over the best rival
   lag say whether the window is in the reference at all.
2. *Exactly*: generalised cross-correlation with phase transform (GCC-PHAT) of
   the band-limited waveforms near that lag, refined by parabolic
   interpolation (a fraction of a sample: well under 1 ms). Whitening makes the
   shared bed's many small peaks add up in phase while the different dialogue
   only adds noise; the peak must stand out of its neighbourhood
   (peak-to-sidelobe ratio) for the window to count.

Conform errors stretch the dub (a file made for 25 fps played at 24 runs 4 %
slow; 1000/1001 pull-downs move 4 ms in a 4 s window, which is 64 samples):
that smears both correlations, so each window is also tried with the speed
ratios of the common conforms compensated; the drift that matches best over
the whole span wins. The window offsets are mapped to the middle of the span
(with the chosen speed) and combined by a weighted median.

``ReferenceEstimator.estimate(av)`` needs ``av.reference``: the reference's
sound on the same clock as ``av.audio``, reaching ``search_ms`` beyond the span.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from scipy import signal

from otio_avsync.estimators.base import AVInput, Estimate, parabolic_offset
from otio_avsync.results import WindowResult

__all__ = ["CONFORM_RATES", "ReferenceEstimator", "gcc_phat", "likely_conform"]

#: Frame-rate conforms and the drift they cause: name -> ratio of rates.
CONFORM_RATES: dict[str, Fraction] = {
    "23.976 / 24 fps (1000/1001 pull-down)": Fraction(1000, 1001),
    "24 / 25 fps (PAL speed-up)": Fraction(24, 25),
    "23.976 / 25 fps": Fraction(24000, 25025),
    "29.97 / 30 fps (1000/1001)": Fraction(1000, 1001),
}
#: A drift other than none must match this much better (summed envelope correlation) to win.
_DRIFT_PREFERENCE = 1.1
#: Drifts below this (per second) are chosen by the fine stage (see ``estimate``) ...
_SMALL_DRIFT = 0.002
#: ... when they sharpen the peaks by this factor over no drift and the opposite drift.
_SMALL_DRIFT_WIN = 1.25
#: The fine stage looks this far (seconds) either side of the coarse lag.
_FINE_REACH_S = 0.010
#: Onset-envelope rate (Hz) of the coarse stage: 2 ms steps.
ENV_RATE = 500


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


def onset_env(x: np.ndarray, rate: int) -> np.ndarray:
    """Onset envelope at :data:`ENV_RATE`, its running level (0.2 s median) removed."""
    from otio_avsync.estimators.baseline import _highpass, onset_envelope

    return _highpass(onset_envelope(np.asarray(x, np.float32), rate, ENV_RATE), ENV_RATE // 5)


def _ncc(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Normalised cross-correlation of ``x`` at every position ``k`` inside ``y`` (-1..1)."""
    n = len(x)
    x = x - x.mean()
    norm = float(np.linalg.norm(x))
    if norm < 1e-12 or len(y) < n:
        return np.zeros(max(0, len(y) - n + 1))
    nfft = 1 << int(np.ceil(np.log2(len(x) + len(y))))
    c = np.fft.irfft(np.fft.rfft(y, nfft) * np.conj(np.fft.rfft(x / norm, nfft)), nfft)
    c = c[: len(y) - n + 1]
    cs = np.concatenate([[0.0], np.cumsum(y)])
    cs2 = np.concatenate([[0.0], np.cumsum(y * y)])
    s1, s2 = cs[n:] - cs[:-n], cs2[n:] - cs2[:-n]
    sd = np.sqrt(np.maximum(s2 - s1 * s1 / n, 0.0))
    # A silent stretch of reference matches nothing (not everything).
    floor = 1e-3 * (float(np.max(sd)) + 1e-12)
    return np.where(sd > floor, c / np.maximum(sd, floor), 0.0)


@dataclass
class _Coarse:
    """A window's best lag in the onset envelopes under one candidate drift."""

    k: int  # envelope position of the window inside the reference segment
    ncc: float  # correlation there
    rival: float  # best correlation more than :data:`_RIVAL_GUARD_S` away
    curve: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    search: float = 0.0

    def ncc_at(self, lag_s: float) -> float:
        """The best envelope correlation within the fine stage's reach of a lag.

        ``lag_s``: sound late by this much at the window start.
        """
        k = round((self.search - lag_s) * ENV_RATE)
        reach = round(_FINE_REACH_S * ENV_RATE)
        lo, hi = max(0, k - reach), min(len(self.curve), k + reach + 1)
        return float(self.curve[lo:hi].max()) if hi > lo else 0.0


_RIVAL_GUARD_S = 0.05


def _coarse(
    ex: np.ndarray, drift: float, ref_env: np.ndarray, seg0: int, search: float
) -> _Coarse | None:
    """Where a window's onset envelope (drift compensated) best matches the reference's.

    ``ref_env[seg0]`` is ``search`` seconds before the window start. The envelope
    is stretched rather than the sound: onsets move with the speed, and it is cheap.
    """
    if drift != 0.0:
        pos = np.arange(len(ex)) / (1.0 - drift)
        ex = np.interp(pos, np.arange(len(ex)), ex, right=0.0)
    m = round(search * ENV_RATE)
    lo = max(0, seg0)
    y = ref_env[lo : max(lo, seg0 + len(ex) + 2 * m)]
    if seg0 < 0:  # reference missing before its start: no onsets there
        y = np.concatenate([np.zeros(-seg0), y])
    if len(y) <= len(ex):
        return None
    c = _ncc(ex, y)
    k = int(np.argmax(c))
    guard = round(_RIVAL_GUARD_S * ENV_RATE)
    side = np.concatenate([c[: max(0, k - guard)], c[k + guard + 1 :]])
    return _Coarse(k, float(c[k]), float(side.max()) if len(side) else 0.0, c, search)


@dataclass
class _Window:
    centre_s: float  # window middle, seconds from the span start
    lag_s: float  # sound late by this much at the window middle
    drift: float  # the compensated drift
    psr: float  # fine stage: peak-to-sidelobe ratio of the GCC-PHAT peak
    ncc: float = 0.0  # coarse stage: envelope correlation at the lag
    rival: float = 0.0  # coarse stage: best envelope correlation elsewhere
    coarse: _Coarse | None = None

    @property
    def confidence(self) -> float:
        return _window_confidence(self.ncc, self.rival, self.psr)


class ReferenceEstimator:
    """ReferenceEstimator(window_s=4.0) -- locate a sound in a reference (dub vs original mix).

    The same interface as the picture estimators; ``av.frames`` is not used.
    """

    name = "reference"
    audio_rate = 16000
    frame_width = 0

    def __init__(
        self, window_s: float = 4.0, hop_s: float = 2.0, min_window_confidence: float = 0.5
    ) -> None:
        self.window_s = window_s
        self.hop_s = hop_s
        #: Windows below this confidence are not evidence.
        self.min_window_confidence = min_window_confidence
        self.drifts = _drifts()

    def estimate(self, av: AVInput, *, search_ms: float = 10000.0) -> Estimate:
        """estimate(av, search_ms=10000) -> how late ``av.audio`` is against ``av.reference``."""
        if av.reference is None:
            raise ValueError("reference alignment needs av.reference")
        rate = av.rate
        span = av.picture_duration_s or len(av.audio) / rate + av.audio_start_s
        sound = _bandpass(av.audio, rate)
        ref = _bandpass(av.reference, rate)
        ref_env = onset_env(ref, rate)
        sound_env = onset_env(sound, rate)
        # The sound's own ends are not onsets (it was cut there).
        edge = round(0.03 * ENV_RATE)
        sound_env[:edge] = 0.0
        sound_env[-edge:] = 0.0
        search = search_ms / 1000.0
        win = min(self.window_s, span)
        starts = np.arange(0.0, max(span - win, 0.0) + 1e-9, self.hop_s)
        if len(starts) and span - win - starts[-1] > 0.25 * self.hop_s:
            starts = np.append(starts, span - win)
        # Coarse stage for every window under every candidate drift; the drift that
        # matches best over the whole span wins (one conform error per span).
        pieces = []
        for w0 in starts:
            a = round((w0 - av.audio_start_s) * rate)
            n = round(win * rate)
            if a < 0 or a + n // 2 > len(sound):
                continue
            x = sound[a : a + n]
            if float(np.sqrt(np.mean(x**2))) < 1e-5:
                continue  # silence locates nothing
            e0 = round((w0 - av.audio_start_s) * ENV_RATE)
            ex = sound_env[e0 : e0 + round(len(x) / rate * ENV_RATE)]
            seg0 = round((w0 - av.reference_start_s - search) * ENV_RATE)
            coarse = {d: _coarse(ex, d, ref_env, seg0, search) for d in self.drifts}
            pieces.append((w0, x, coarse))

        def total(d: float) -> float:
            return sum(max(0.0, c[d].ncc) for _, _, c in pieces if c[d] is not None)

        best = max(self.drifts, key=total) if pieces else 0.0
        if best != 0.0 and total(best) < _DRIFT_PREFERENCE * total(0.0):
            best = 0.0
        # A drift of about 1000 ppm moves 4 ms in a window: too little for the 2 ms
        # envelope steps to tell, enough to smear the waveform peak. Small drifts are
        # therefore chosen by the sharpness of the fine stage's peaks.
        fine_drifts = [best]
        if abs(best) < _SMALL_DRIFT:
            fine_drifts = [d for d in self.drifts if abs(d) < _SMALL_DRIFT]
        by_drift: dict[float, list[_Window]] = {}
        for d in fine_drifts:
            by_drift[d] = [
                self._fine(x, d, coarse[best], ref, av.reference_start_s, rate, w0, win, search)
                for w0, x, coarse in pieces
                if coarse[best] is not None
            ]

        def sharpness(d: float) -> float:
            return sum(w.psr for w in by_drift[d])

        chosen = max(fine_drifts, key=sharpness)
        if len(fine_drifts) > 1 and chosen != 0.0:
            # A real drift sharpens the peaks one way and blurs them the other way; a
            # weak span sharpens by chance either way. Demand a clear win over both.
            rivals = [d for d in fine_drifts if d == 0.0 or d * chosen < 0]
            if sharpness(chosen) < _SMALL_DRIFT_WIN * max(sharpness(d) for d in rivals):
                chosen = 0.0
        return self._combine(by_drift[chosen], span, search, av)

    def _fine(
        self,
        x: np.ndarray,
        drift: float,
        coarse: _Coarse,
        ref: np.ndarray,
        ref_start: float,
        rate: int,
        w0: float,
        win: float,
        search: float,
    ) -> _Window:
        """GCC-PHAT of the waveforms within a quarter second of the coarse lag."""
        xs = x if drift == 0.0 else _stretch(x, 1.0 - drift)[: len(x)]
        coarse_lag = search - coarse.k / ENV_RATE  # sound late by this at the window start
        reach = 0.25
        # The reference from w0 - coarse_lag - reach: x[t] sits at y[t + k], late by
        # coarse_lag + reach - k / rate.
        b = round((w0 - coarse_lag - reach - ref_start) * rate)
        lo = max(0, b)
        y = ref[lo : max(lo, b + len(xs) + round(2 * reach * rate))]
        if b < 0:
            y = np.concatenate([np.zeros(-b), y])
        centre = len(x) / 2 / rate
        psr, lag = 0.0, coarse_lag
        if len(y) > len(xs):
            nfft = 1 << int(np.ceil(np.log2(len(xs) + len(y))))
            c = _phat_from(np.fft.rfft(y, nfft), xs, nfft, rate, len(y))
            # The peak must be near the coarse lag (within 10 ms: envelope frames sample
            # onsets a step or two apart); its PSR is measured against the whole
            # quarter-second neighbourhood.
            mid = round(reach * rate)
            near = round(_FINE_REACH_S * rate)
            k0 = mid - near + int(np.argmax(c[mid - near : mid + near + 1]))
            side = np.concatenate([c[: max(0, k0 - 32)], c[k0 + 33 :]])
            med = float(np.median(side))
            spread = float(np.median(np.abs(side - med))) * 1.4826 + 1e-12
            psr = (float(c[k0]) - med) / spread
            lag = coarse_lag + reach - (k0 + parabolic_offset(c, k0)) / rate
        return _Window(
            w0 + win / 2, lag + drift * centre, drift, float(psr), coarse.ncc, coarse.rival, coarse
        )

    def _combine(self, windows: list[_Window], span: float, search: float, av: AVInput) -> Estimate:
        method = "reference (GCC-PHAT)"
        good = [w for w in windows if w.confidence >= self.min_window_confidence]
        win_results = [
            WindowResult(
                start_s=w.centre_s - min(self.window_s, span) / 2,
                duration_s=min(self.window_s, span),
                offset_ms=w.lag_s * 1000.0,
                confidence=w.confidence,
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
                evidence={
                    "psr": max((w.psr for w in windows), default=0.0),
                    "ncc": max((w.ncc for w in windows), default=0.0),
                    "windows": 0,
                },
            )
        mid = span / 2
        at_mid = np.array([w.lag_s + w.drift * (mid - w.centre_s) for w in good])
        weights = np.array([w.confidence * w.psr for w in good])
        order = np.argsort(at_mid)
        cum = np.cumsum(weights[order])
        offset = float(at_mid[order][np.searchsorted(cum, cum[-1] / 2)])
        frame = 1.0 / (av.fps if av.fps > 0 else 25.0)
        close = np.abs(at_mid - offset) <= frame
        agree = float(weights[close].sum() / weights.sum())
        near = [w for w, ok in zip(good, close, strict=True) if ok]
        # Refine: the weighted mean of the agreeing windows (sub-millisecond).
        offset = float(np.sum(weights[close] * at_mid[close]) / weights[close].sum())
        drift = _drift_within(near) if len(near) >= 2 else near[0].drift
        best = max(near, key=lambda w: w.confidence)
        # Every window that heard sound must also match at the answer: overlapping
        # windows share most of their sound, so a real match holds in all of them
        # while a chance one (the same effect used twice) rarely does.
        half = min(self.window_s, span) / 2
        support = float(
            np.mean(
                [
                    _height(w.coarse.ncc_at(offset + w.drift * (w.centre_s - half - mid)))
                    if w.coarse is not None
                    else 0.0
                    for w in windows
                ]
            )
        )
        conf = float(
            best.confidence * support * (0.5 + 0.5 * agree) * min(1.0, 0.6 + 0.2 * len(near))
        )
        edge = abs(offset) > search - 0.01
        return Estimate(
            offset * 1000.0,
            conf,
            method,
            windows=win_results,
            at_search_edge=edge,
            evidence={
                "psr": float(best.psr),
                "ncc": float(best.ncc),
                "agree": agree,
                "windows": float(len(near)),
                "drift_ppm": drift * 1e6,
            },
        )


def _window_confidence(ncc: float, rival: float, psr: float) -> float:
    """How sure one window's match is, 0..1 (a heuristic fitted on simulated dubs).

    All three must hold: the onsets correlate (chance reaches about 0.5 over a
    ten-second search), better than at any other lag, and the waveforms line up
    there too (a GCC-PHAT peak well above its neighbourhood).
    """
    margin = float(np.clip((ncc - rival) / 0.15, 0.0, 1.0))
    return _height(ncc) * margin * _psr_confidence(psr)


def _height(ncc: float) -> float:
    """Onset correlation as evidence, 0..1: chance peaks over a search reach about 0.55."""
    return float(np.clip((ncc - 0.5) / 0.3, 0.0, 1.0))


def _psr_confidence(psr: float) -> float:
    """A GCC-PHAT peak-to-sidelobe ratio as 0..1: noise peaks of a quarter second reach ~5."""
    return float(1.0 / (1.0 + np.exp(-(psr - 9.0) / 1.0)))


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
