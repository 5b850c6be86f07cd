"""Training augmentation: what real deliverables do to picture and sound that the clips did not.

Each function applies each of its transforms with probability ``p`` and returns
a new array. Picture: blur, zoom of the mouth tile (tracking slack), JPEG
compression. Lip geometry: per-measure gain (faces differ in how much they
move) and landmark jitter. Sound: noise, room reverberation, telephone-like
band limits and level. None of them moves anything in time: sync must survive
them, not learn from them.
"""

from __future__ import annotations

import numpy as np


def picture(tiles: np.ndarray, tile: int, rng: np.random.Generator, p: float) -> np.ndarray:
    """picture(uint8 (F, tile, 2*tile), tile, rng, p) -> augmented copy"""
    import cv2

    out = tiles.copy()
    if rng.random() < p:  # out of focus, or upscaled from a small face
        sigma = float(rng.uniform(0.4, 1.2))
        for k in range(len(out)):
            out[k] = cv2.GaussianBlur(out[k], (0, 0), sigma)
    if rng.random() < p:  # the mouth crop a little too tight or too loose
        z = float(rng.uniform(0.85, 1.18))
        size = max(4, round(tile * z))
        for k in range(len(out)):
            m = cv2.resize(out[k, :, tile:], (size, size), interpolation=cv2.INTER_LINEAR)
            if size >= tile:
                o = (size - tile) // 2
                out[k, :, tile:] = m[o : o + tile, o : o + tile]
            else:
                o = (tile - size) // 2
                out[k, :, tile:] = cv2.copyMakeBorder(
                    m, o, tile - size - o, o, tile - size - o, cv2.BORDER_REPLICATE
                )
    if rng.random() < p:  # heavy compression
        q = int(rng.integers(15, 50))
        for k in range(len(out)):
            ok, buf = cv2.imencode(".jpg", out[k], [cv2.IMWRITE_JPEG_QUALITY, q])
            if ok:
                out[k] = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return out


def geometry(geo: np.ndarray, rng: np.random.Generator, p: float) -> np.ndarray:
    """geometry(float32 (F, G), rng, p) -> augmented copy (measures, velocities, face flag)"""
    from otio_avsync.model.lips import MEASURES

    nm = len(MEASURES)
    out = geo.copy()
    present = out[:, -1:] > 0
    if rng.random() < p:
        gain = rng.uniform(0.75, 1.33, size=nm).astype(np.float32)
        out[:, :nm] *= gain
        out[:, nm : 2 * nm] *= gain
    if rng.random() < p:
        jitter = rng.normal(0.0, 0.006, size=(len(out), nm)).astype(np.float32)
        out[:, :nm] += jitter
        out[:, nm : 2 * nm] = np.gradient(out[:, :nm], axis=0) if len(out) > 1 else 0.0
    return np.where(present, out, 0.0).astype(np.float32)


def sound(audio: np.ndarray, rate: int, rng: np.random.Generator, p: float) -> np.ndarray:
    """sound(float32 (M,), rate, rng, p) -> augmented copy"""
    from scipy.signal import butter, fftconvolve, sosfilt

    out = audio.astype(np.float32)
    level = float(np.sqrt(np.mean(out**2))) + 1e-6
    if rng.random() < p:  # a room: exponentially decaying noise, RT60 0.15 to 0.7 s
        rt60 = float(rng.uniform(0.15, 0.7))
        n = int(rt60 * rate)
        t = np.arange(n) / rate
        ir = rng.normal(size=n) * np.exp(-6.9 * t / rt60)
        ir[0] = 0.0
        ir *= float(rng.uniform(0.2, 0.6)) / (np.sqrt(np.sum(ir**2)) + 1e-9)
        ir[0] = 1.0  # the direct sound stays, so the reverberation never leads it
        out = fftconvolve(out, ir.astype(np.float32))[: len(out)].astype(np.float32)
    if rng.random() < p:  # a telephone, a lavalier, a cheap codec's band
        lo, hi = float(rng.uniform(80, 400)), float(rng.uniform(2800, 7000))
        sos = butter(4, [lo, min(hi, rate / 2 - 100)], btype="band", fs=rate, output="sos")
        out = sosfilt(sos, out).astype(np.float32)
    if rng.random() < p:  # hiss or room tone, 5 to 30 dB under the sound
        snr = float(rng.uniform(5, 30))
        out = out + rng.normal(0, level * 10 ** (-snr / 20), size=len(out)).astype(np.float32)
    if rng.random() < p:
        out = out * float(10 ** (rng.uniform(-12, 6) / 20))
    return out.astype(np.float32)
