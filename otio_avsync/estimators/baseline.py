"""Classical baseline: audio onsets cross-correlated with visual motion energy.

The picture signal is the mean absolute frame difference (how much changed
since the previous frame), the sound signal a spectral-flux onset envelope
summed over one frame period around each frame time. Both are high-passed
(running median removed) so that steady motion or a music bed does not
dominate, and their normalised cross-correlation is scanned over the search
range in 5 ms steps, per window and summed over windows; the peak is refined
to sub-frame precision with a parabola.

It needs visible events that make sounds (hits, flashes, mouths opening); on
real dialogue it is weak, which is why the attention model exists.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d, median_filter, uniform_filter1d

from otio_avsync.estimators.base import AVInput, Estimate, parabolic_offset
from otio_avsync.results import WindowResult

#: Envelope rate of the audio onset signal (Hz): 5 ms lag resolution before refinement.
ENV_RATE = 200
#: The flux of a window centred at t rises before an onset at t reaches the centre:
#: measured on generated beeps and knocks it peaks about 5 ms early; lookups add it back.
ENV_LEAD_S = 0.005


def onset_envelope(audio: np.ndarray, rate: int, env_rate: int = ENV_RATE) -> np.ndarray:
    """onset_envelope(audio, rate) -> np.ndarray

    Spectral flux in log-spaced bands: sample ``j`` is centred on ``j / env_rate``.
    """
    hop = max(1, round(rate / env_rate))
    win = 1 << int(np.ceil(np.log2(max(16, 0.025 * rate))))
    n_frames = len(audio) // hop + 1
    padded = np.pad(audio.astype(np.float32), (win // 2, win // 2 + hop))
    idx = np.arange(win)[None, :] + hop * np.arange(n_frames)[:, None]
    idx = np.minimum(idx, len(padded) - 1)
    frames = padded[idx] * np.hanning(win).astype(np.float32)
    spec = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    # ~24 log-spaced bands from 80 Hz to Nyquist: loud low notes do not swamp clicks.
    freqs = np.fft.rfftfreq(win, 1.0 / rate)
    edges = np.geomspace(80.0, rate / 2, 25)
    band = np.clip(np.searchsorted(edges, freqs) - 1, 0, 23)
    # Sum the bins of each band (a one-hot matrix product: far faster than np.add.at).
    onehot = np.zeros((len(freqs), 24), dtype=np.float64)
    onehot[np.arange(len(freqs)), band] = 1.0
    energy = spec.astype(np.float64) @ onehot
    loud = np.log1p(energy / (np.median(energy) + 1e-10))
    flux = np.maximum(np.diff(loud, axis=0, prepend=loud[:1]), 0.0).sum(axis=1)
    return flux


def motion_energy(frames: np.ndarray, memory: int = 1) -> np.ndarray:
    """motion_energy(frames, memory=1) -> np.ndarray

    Mean absolute change of each frame against the ``memory`` frames before it,
    taking per pixel the smallest change: with ``memory > 1`` a return to a
    recent state (a flash going off, a mouth closing) scores low and new
    content (the flash, the mouth opening, an impact) scores high, which is
    what a sound onset accompanies. The first frame gets 0.
    """
    f = frames.astype(np.float32)
    n = len(f)
    if n < 2:
        return np.zeros(n)
    flat = f.reshape(n, -1)
    change = np.abs(flat[1:] - flat[:-1])
    for j in range(2, max(1, memory) + 1):
        if j >= n:
            break
        older = np.abs(flat[j:] - flat[:-j])
        change[j - 1 :] = np.minimum(change[j - 1 :], older)
    return np.concatenate([[0.0], change.mean(axis=1)])


def _highpass(x: np.ndarray, width: int) -> np.ndarray:
    """Remove the running median and keep rises: transients, not levels."""
    width = max(3, width | 1)
    return np.maximum(x - median_filter(x, size=width, mode="nearest"), 0.0)


def _equalise(x: np.ndarray, width: int) -> np.ndarray:
    """Compress event strengths so that each event counts about alike.

    A flash changes the picture far more than a mouth opening, and a drum hit
    is louder than a syllable; left as they are, the strongest event decides the
    correlation on its own and any lag that pairs it with any onset scores well.
    Each value is divided by the running maximum around it (plus a floor from
    the signal's typical level, so noise is not blown up) and square-rooted.
    """
    if not np.any(x > 0):
        return x
    floor = np.percentile(x[x > 0], 75) if np.any(x > 0) else 1.0
    local = maximum_filter1d(x, size=max(3, width | 1), mode="nearest")
    return np.sqrt(x / (local + floor + 1e-12))


class CorrelationEstimator:
    """CorrelationEstimator(window_s=6.0, hop_s=3.0, min_confidence=0.5)

    The classical estimator; ``name`` is ``"baseline"``.
    """

    name = "baseline"
    #: Places each frame at its decoded time, so variable-rate picture needs no resampling.
    uses_frame_times = True
    audio_rate = 16000
    frame_width = 96

    def __init__(self, window_s: float = 6.0, hop_s: float = 3.0, step_ms: float = 5.0) -> None:
        self.window_s = window_s
        self.hop_s = hop_s
        self.step_ms = step_ms

    # -- signals -------------------------------------------------------------------

    def _signals(self, av: AVInput) -> tuple[np.ndarray, np.ndarray, str]:
        """(picture signal per frame, audio envelope at ENV_RATE, problem or '')."""
        fps = av.fps if av.fps > 0 else 25.0
        picture = motion_energy(av.frames, memory=max(1, round(0.2 * fps)))
        # Onsets of change, as spectral flux is for sound: an after-glow or a
        # slowing motion would otherwise pull the event late.
        picture = np.maximum(np.diff(picture, prepend=picture[:1]), 0.0)
        picture = _equalise(_highpass(picture, round(fps)), round(2 * fps))
        env = onset_envelope(av.audio, av.rate)
        # Sum the envelope over one frame period centred on each instant.
        env = uniform_filter1d(env, size=max(1, round(ENV_RATE / fps)) | 1, mode="constant")
        env = _equalise(_highpass(env, ENV_RATE), round(2 * ENV_RATE))
        problem = ""
        rms = (
            float(np.sqrt(np.mean(np.square(av.audio, dtype=np.float64)))) if len(av.audio) else 0.0
        )
        if rms < 1e-3:  # below -60 dBFS
            problem = "the sound is silent"
        elif not np.any(picture > 1e-3):
            problem = "the picture shows no motion"
        return picture, env, problem

    def _curves(
        self,
        picture: np.ndarray,
        times: np.ndarray,
        env: np.ndarray,
        lags_s: np.ndarray,
        audio_start_s: float = 0.0,
    ) -> np.ndarray:
        """Normalised cross-correlation for each lag (rows) over the given frames.

        Frames whose lagged sound falls outside the span are left out per lag,
        and the correlation is scaled by the share of frames that remain.
        """
        pos = (times[None, :] + lags_s[:, None] - ENV_LEAD_S - audio_start_s) * ENV_RATE
        valid = (pos >= 0) & (pos <= len(env) - 1)
        a = np.interp(pos, np.arange(len(env)), env)
        v = np.broadcast_to(picture[None, :], a.shape)
        n = valid.sum(axis=1)
        ok = n >= 8
        n = np.maximum(n, 1)
        a_mean = np.where(valid, a, 0).sum(1) / n
        v_mean = np.where(valid, v, 0).sum(1) / n
        ac = np.where(valid, a - a_mean[:, None], 0)
        vc = np.where(valid, v - v_mean[:, None], 0)
        num = (ac * vc).sum(1)
        den = np.sqrt((ac**2).sum(1) * (vc**2).sum(1))
        with np.errstate(invalid="ignore", divide="ignore"):
            ncc = np.where(ok & (den > 1e-12), num / den, np.nan)
        # Weight by overlap: a lag that pairs only part of the frames with sound
        # is weaker evidence (and its correlation noisier) than one that pairs all.
        return ncc * (n / len(times))

    # -- estimate ------------------------------------------------------------------

    def estimate(self, av: AVInput, *, search_ms: float = 2000.0) -> Estimate:
        """estimate(av, search_ms=2000.0) -> Estimate"""
        if len(av.frames) < 3 or av.picture_duration_s < 0.2 or len(av.audio) < av.rate * 0.2:
            return Estimate(None, 0.0, self.name, note="the span is too short to analyse")
        picture, env, problem = self._signals(av)
        step = self.step_ms / 1000.0
        n_lags = int(np.floor(search_ms / 1000.0 / step))
        lags = np.arange(-n_lags, n_lags + 1) * step
        times = np.asarray(av.frame_times, dtype=np.float64)
        if problem:
            return Estimate(None, 0.0, self.name, note=problem)

        duration = av.picture_duration_s
        windows: list[WindowResult] = []
        curves, weights = [], []
        for w0, w1 in _windows(duration, self.window_s, self.hop_s):
            sel = (times >= w0) & (times < w1)
            if sel.sum() < 8:
                continue
            curve = self._curves(picture[sel], times[sel], env, lags, av.audio_start_s)
            weight = float(np.std(picture[sel]) > 1e-6)
            if not np.isfinite(curve).any() or weight == 0:
                windows.append(WindowResult(w0, w1 - w0, None, 0.0, 0.0))
                continue
            i = int(np.nanargmax(curve))
            windows.append(
                WindowResult(
                    w0, w1 - w0, lags[i] * 1000.0, _peak_confidence(curve, i, av.fps, step)
                )
            )
            curves.append(np.nan_to_num(curve, nan=0.0))
            weights.append(weight)
        if not curves:
            return Estimate(
                None, 0.0, self.name, windows=windows, note="no window had both motion and sound"
            )
        curve = np.average(np.stack(curves), axis=0, weights=weights)
        i = int(np.argmax(curve))
        offset_s = lags[i] + parabolic_offset(curve, i) * step
        conf = _peak_confidence(curve, i, av.fps, step)
        frame_ms = 1000.0 / av.fps
        agree = [
            w
            for w in windows
            if w.offset_ms is not None and abs(w.offset_ms - offset_s * 1000) <= frame_ms
        ]
        if len(windows) > 1:
            share = len(agree) / len(windows)
            conf *= 0.5 + 0.5 * share
        edge = i <= 1 or i >= len(lags) - 2
        note = ""
        if edge:
            note = "the best match is at the edge of the search range"
        elif conf < 0.5:
            note = "the picture and sound events do not match clearly"
        return Estimate(
            offset_ms=offset_s * 1000.0,
            confidence=float(conf),
            method=self.name,
            windows=windows,
            curve_ms=lags * 1000.0,
            curve_score=curve,
            at_search_edge=edge,
            note=note,
        )


def _windows(duration: float, window_s: float, hop_s: float) -> list[tuple[float, float]]:
    """Analysis windows over the span; one window when the span is short."""
    if duration <= window_s * 1.5:
        return [(0.0, duration)]
    starts = np.arange(0.0, duration - window_s + 1e-9, hop_s)
    out = [(float(s), float(s + window_s)) for s in starts]
    if out[-1][1] < duration - hop_s / 2:
        out.append((duration - window_s, duration))
    return out


def _peak_confidence(curve: np.ndarray, i: int, fps: float, step: float) -> float:
    """How clearly the peak stands out: its height and its margin over rival peaks.

    Rivals are the best values more than two frames away. A heuristic mapped to
    0..1; the attention model replaces it with a calibrated probability.
    """
    c = np.nan_to_num(curve, nan=-1.0)
    peak = float(c[i])
    guard = max(1, round(2.0 / fps / step))
    rivals = np.concatenate([c[: max(0, i - guard)], c[i + guard + 1 :]])
    rival = float(rivals.max()) if len(rivals) else 0.0
    if peak <= 0:
        return 0.0
    margin = (peak - max(rival, 0.0)) / peak
    # Chance correlations of onset trains reach about 0.3; true matches are far higher.
    height = np.clip((peak - 0.25) / 0.3, 0.0, 1.0)
    return float(np.clip(margin * 2.0, 0.0, 1.0) * height)
