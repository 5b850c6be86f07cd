"""The model's view of picture and sound, computed without gradients (numpy, OpenCV).

Picture: every frame becomes two square grey tiles side by side, the whole frame
and the mouth of the largest face (found with OpenCV's Haar cascade, which ships
inside the OpenCV wheel, and tracked between detections). A shot without a face
gets an empty mouth tile, and the spatial attention falls back on the whole frame.

Sound: a log-mel spectrogram sampled on a grid of ``steps`` points per picture
frame, so that shifting the sound by a quarter frame is an index step.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import fft as sp_fft

#: Sound features are computed at this rate; the estimator asks the decoder for it.
AUDIO_RATE = 16000
_HOP = 40  # 2.5 ms
_WIN = 400  # 25 ms
_NFFT = 512
#: Width of the frames the front end wants from the decoder.
FRAME_WIDTH = 256
_DETECT_WIDTH = 128
#: Quieter than this (dBFS) is digital silence, not sound.
_SILENT_DB = -75.0


@dataclass
class PictureTiles:
    """Per-frame tiles: ``tiles[k]`` is (tile, 2*tile) uint8, whole frame left, mouth right.

    ``mouth_boxes[k]`` is the mouth crop as (x0, y0, x1, y1) in 0..1 frame
    coordinates, NaN where no face was found.
    """

    tiles: np.ndarray
    mouth_boxes: np.ndarray

    @property
    def face_fraction(self) -> float:
        """Share of frames with a face (a mouth tile)."""
        if not len(self.mouth_boxes):
            return 0.0
        return float(np.mean(~np.isnan(self.mouth_boxes[:, 0])))


@dataclass
class SoundFeatures:
    """Log-mel features on the sound grid.

    Grid point ``j`` lies at ``(j - origin) / (steps * fps)`` seconds from the
    picture start; ``level_db[j]`` is the loudness there (dBFS), used to tell
    silence from sound.
    """

    mel: np.ndarray  # float32 (L, bands), normalised per clip
    level_db: np.ndarray  # float32 (L,)
    origin: int
    steps: int
    fps: float


@lru_cache(maxsize=1)
def _face_detector():  # -> cv2.CascadeClassifier
    import cv2

    path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
    detector = cv2.CascadeClassifier(path)
    if detector.empty():
        raise RuntimeError(f"cannot load OpenCV's face cascade from {path}")
    return detector


def detect_faces(frame: np.ndarray) -> np.ndarray:
    """detect_faces(gray_frame) -> (n, 4) boxes x, y, w, h in 0..1, largest first."""
    import cv2

    h, w = frame.shape
    dw = min(_DETECT_WIDTH, w)
    dh = max(1, round(h * dw / w))
    small = cv2.resize(frame, (dw, dh), interpolation=cv2.INTER_AREA)
    found = _face_detector().detectMultiScale(
        small, scaleFactor=1.15, minNeighbors=4, minSize=(14, 14)
    )
    if len(found) == 0:
        return np.zeros((0, 4), np.float32)
    boxes = np.asarray(found, np.float32) / np.array([dw, dh, dw, dh], np.float32)
    return boxes[np.argsort(-boxes[:, 2] * boxes[:, 3])]


def track_mouth(frames: np.ndarray, detect_every: int = 8) -> np.ndarray:
    """track_mouth(frames, detect_every=8) -> (F, 4) mouth boxes x0, y0, x1, y1 in 0..1.

    Detects faces every ``detect_every`` frames, keeps the largest, and
    interpolates its box in between; frames further than two detection steps
    from any detection get NaN.
    """
    n = len(frames)
    out = np.full((n, 4), np.nan, np.float32)
    if n == 0:
        return out
    idx = sorted(set(range(0, n, detect_every)) | {n - 1})
    hits_at, hits = [], []
    for i in idx:
        boxes = detect_faces(frames[i])
        if len(boxes):
            x, y, w, h = boxes[0]
            # The Haar box runs from the brows to the chin: the mouth is its lower middle.
            hits.append((x + 0.18 * w, y + 0.58 * h, x + 0.82 * w, y + 1.0 * h))
            hits_at.append(i)
    if not hits_at:
        return out
    at = np.asarray(hits_at, np.float64)
    hit = np.asarray(hits, np.float64)
    k = np.arange(n, dtype=np.float64)
    for c in range(4):
        out[:, c] = np.interp(k, at, hit[:, c])
    near = np.min(np.abs(k[:, None] - at[None, :]), axis=1) <= 2 * detect_every
    out[~near] = np.nan
    return out


def picture_tiles(frames: np.ndarray, tile: int = 32, detect_every: int = 8) -> PictureTiles:
    """picture_tiles(frames, tile=32) -> PictureTiles for uint8 (F, H, W) grey frames."""
    import cv2

    n = len(frames)
    boxes = track_mouth(frames, detect_every) if n else np.zeros((0, 4), np.float32)
    tiles = np.zeros((n, tile, 2 * tile), np.uint8)
    if n == 0:
        return PictureTiles(tiles, boxes)
    h, w = frames.shape[1:]
    for k in range(n):
        tiles[k, :, :tile] = cv2.resize(frames[k], (tile, tile), interpolation=cv2.INTER_AREA)
        if not np.isnan(boxes[k, 0]):
            x0, y0, x1, y1 = boxes[k]
            c0, c1 = int(max(0, x0 * w)), int(min(w, max(x0 * w + 2, x1 * w)))
            r0, r1 = int(max(0, y0 * h)), int(min(h, max(y0 * h + 2, y1 * h)))
            if c1 - c0 >= 2 and r1 - r0 >= 2:
                crop = frames[k, r0:r1, c0:c1]
                tiles[k, :, tile:] = cv2.resize(crop, (tile, tile), interpolation=cv2.INTER_AREA)
    return PictureTiles(tiles, boxes)


@lru_cache(maxsize=4)
def mel_filterbank(bands: int, rate: int = AUDIO_RATE, nfft: int = _NFFT) -> np.ndarray:
    """Triangular mel filters (HTK scale), (bands, nfft // 2 + 1)."""

    def mel(f: np.ndarray | float) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def hz(m: np.ndarray) -> np.ndarray:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    edges = hz(np.linspace(mel(60.0), mel(min(7600.0, rate / 2 - 200)), bands + 2))
    freqs = np.linspace(0, rate / 2, nfft // 2 + 1)
    fb = np.zeros((bands, len(freqs)), np.float32)
    for b in range(bands):
        lo, mid, hi = edges[b : b + 3]
        up = (freqs - lo) / (mid - lo)
        down = (hi - freqs) / (hi - mid)
        fb[b] = np.clip(np.minimum(up, down), 0.0, None)
    return fb


def sound_features(
    audio: np.ndarray,
    rate: int,
    audio_start_s: float,
    fps: float,
    *,
    bands: int = 40,
    steps: int = 4,
) -> SoundFeatures:
    """sound_features(audio, rate, audio_start_s, fps) -> SoundFeatures

    ``audio`` is mono at ``rate`` (16 kHz expected), its first sample at
    ``audio_start_s`` seconds from the picture start (negative for pre-roll).
    """
    if rate != AUDIO_RATE:
        from scipy.signal import resample_poly

        g = np.gcd(int(rate), AUDIO_RATE)
        audio = resample_poly(audio, AUDIO_RATE // g, int(rate) // g).astype(np.float32)
        rate = AUDIO_RATE
    q = steps * fps
    origin = int(np.floor(-audio_start_s * q + 1e-9)) if audio_start_s < 0 else 0
    end_s = audio_start_s + len(audio) / rate
    length = max(0, int(np.floor(end_s * q + 1e-9)) + origin + 1)
    if length == 0 or len(audio) < _WIN:
        return SoundFeatures(
            np.zeros((length, bands), np.float32),
            np.full(length, -120.0, np.float32),
            origin,
            steps,
            fps,
        )
    padded = np.pad(audio.astype(np.float32), (_WIN // 2, _WIN // 2))
    win = np.lib.stride_tricks.sliding_window_view(padded, _WIN)[::_HOP]
    # scipy.fft runs float32 in float32 and across the cores: several times numpy's speed.
    tapered = win * np.hanning(_WIN).astype(np.float32)
    spec = np.abs(sp_fft.rfft(tapered, _NFFT, axis=1, workers=-1)) ** 2
    energy = mel_filterbank(bands, rate) @ spec.T  # (bands, frames)
    logmel = np.log(energy + 1e-7).T  # (frames, bands)
    power = spec.sum(axis=1) / (_WIN * _WIN * 0.375 / 2)
    level = 10 * np.log10(power + 1e-12)
    times = audio_start_s + np.arange(len(win)) * _HOP / rate
    grid = (np.arange(length) - origin) / q
    pos = np.clip((grid - times[0]) * rate / _HOP, 0, len(win) - 1)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, len(win) - 1)
    frac = (pos - i0)[:, None]
    mel = logmel[i0] * (1 - frac) + logmel[i1] * frac
    lvl = level[i0] * (1 - frac[:, 0]) + level[i1] * frac[:, 0]
    # Normalise over the sounding part only: digital silence (padding beyond the
    # media, gaps) would otherwise drag the statistics; it becomes the mean.
    active = lvl > _SILENT_DB
    ref = mel[active] if active.sum() >= 8 else mel
    mel = (mel - ref.mean(axis=0)) / (float(ref.std()) + 1.0)
    mel[~active] = 0.0
    return SoundFeatures(mel.astype(np.float32), lvl.astype(np.float32), origin, steps, fps)


def picture_motion(tiles: np.ndarray) -> np.ndarray:
    """Mean absolute change between consecutive whole-frame tiles, (F,), 0 for the first."""
    if len(tiles) < 2:
        return np.zeros(len(tiles), np.float32)
    whole = tiles[:, :, : tiles.shape[1]].astype(np.float32)
    diff = np.abs(np.diff(whole, axis=0)).mean(axis=(1, 2))
    return np.concatenate([[0.0], diff]).astype(np.float32)
