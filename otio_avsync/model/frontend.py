"""The model's view of picture and sound, computed without gradients (numpy, OpenCV, MediaPipe).

Picture: every frame becomes two square grey tiles side by side, the whole frame
and the mouth of the largest face. The mouth is found one of two ways (the
model's ``ModelConfig.mouth``, fixed by its training):

- ``landmarks``: MediaPipe's face mesh (0.10.14 ships its models inside the
  wheel; no download) tracked every other frame; the crop is centred just below
  the mouth corners and sized by the distance between the eyes, wider than tall
  so that the square tile magnifies the lips' opening. It follows the head but
  not the lips, whose motion stays in the pixels. Frames where the mesh finds no
  face fall back on the Haar box.
- ``haar``: OpenCV's Haar cascade (shipped in the OpenCV wheel), detected every
  eighth frame and interpolated; the lower middle of the face box.

A shot without a face gets an empty mouth tile, and the spatial attention falls
back on the whole frame.

Sound: a log-mel spectrogram sampled on a grid of ``steps`` points per picture
frame, so that shifting the sound by a quarter frame is an index step.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import fft as sp_fft

from otio_avsync.model.config import MOUTH_TRACKERS

#: Sound features are computed at this rate; the estimator asks the decoder for it.
AUDIO_RATE = 16000
_HOP = 40  # 2.5 ms
_WIN = 400  # 25 ms
_NFFT = 512
#: Width of the frames the front end wants from the decoder.
FRAME_WIDTH = 256
_DETECT_WIDTH = 128
#: Face-mesh landmarks: mouth corners, outer eye corners.
_MOUTH_CORNERS = (61, 291)
_EYE_CORNERS = (33, 263)
#: The landmark crop: width in eye distances (the mouth is about 0.6 wide), height
#: over width (the tile is square, so the lips' opening is magnified), and the
#: centre's drop below the mouth corners in eye distances.
_CROP_EYES = 0.8
_CROP_ASPECT = 0.7
_CROP_DROP = 0.06
#: Quieter than this (dBFS) is digital silence, not sound.
_SILENT_DB = -75.0


@dataclass
class PictureTiles:
    """Per-frame tiles: ``tiles[k]`` is (tile, 2*tile) uint8, whole frame left, mouth right.

    ``mouth_boxes[k]`` is the mouth crop as (x0, y0, x1, y1) in 0..1 frame
    coordinates, NaN where no face was found. ``geometry`` is the lip geometry
    (:mod:`otio_avsync.model.lips`) when the model asked for it.
    """

    tiles: np.ndarray
    mouth_boxes: np.ndarray
    #: float32 (F, lips.GEOMETRY_FEATURES) lip geometry, for models that read it.
    geometry: np.ndarray | None = None

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


def landmarks_available() -> bool:
    """Whether MediaPipe's face mesh imports (`pip install --no-deps mediapipe==0.10.14`)."""
    try:
        _face_mesh_module()
    except ImportError:
        return False
    return True


@lru_cache(maxsize=1)
def _face_mesh_module():
    # MediaPipe's C++ side logs to stderr at start-up; keep the CLI's stderr for our progress.
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from mediapipe.python.solutions import face_mesh
    except Exception as exc:  # missing, or broken by a clashing protobuf: the same to users
        raise ImportError(
            "the landmark mouth tracker needs MediaPipe 0.10.14:"
            " pip install --no-deps mediapipe==0.10.14 (see the README)"
        ) from exc
    return face_mesh


_STDERR_LOCK = threading.Lock()
_STDERR_USERS = 0
_STDERR_SAVED = -1


@contextmanager
def _stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null while MediaPipe runs.

    Its C++ side logs set-up chatter (TFLite delegates, feedback tensors) whenever
    a graph first runs a model, which may be mid-clip; Python's ``sys.stderr``
    does not see it. Nested and concurrent users share one redirection.
    """
    global _STDERR_USERS, _STDERR_SAVED
    with _STDERR_LOCK:
        if _STDERR_USERS == 0:
            sys.stderr.flush()
            _STDERR_SAVED = os.dup(2)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 2)
            os.close(null)
        _STDERR_USERS += 1
    try:
        yield
    finally:
        with _STDERR_LOCK:
            _STDERR_USERS -= 1
            if _STDERR_USERS == 0:
                os.dup2(_STDERR_SAVED, 2)
                os.close(_STDERR_SAVED)


def track_mouth_landmarks(frames: np.ndarray, every: int = 2) -> np.ndarray:
    """track_mouth_landmarks(frames, every=2) -> (F, 4) mouth boxes x0, y0, x1, y1 in 0..1.

    See :func:`track_face_mesh`, which also returns the lip landmarks.
    """
    return track_face_mesh(frames, every)[0]


def track_face_mesh(frames: np.ndarray, every: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """track_face_mesh(frames, every=2) -> (boxes (F, 4), points (F, K, 3))

    Runs MediaPipe's face mesh in tracking mode on every ``every``-th frame
    (every ``4 * every``-th while it finds no face). The
    box is centred just below the mouth corners, ``_CROP_EYES`` eye distances
    wide and ``_CROP_ASPECT`` of that tall; centre and size are median-smoothed over five
    samples and interpolated in between, so the crop follows the head, not the
    lips. Frames where the mesh found no face nearby take the Haar box
    (:func:`track_mouth`), re-centred and re-sized the same way.

    ``points`` are the landmarks of :data:`otio_avsync.model.lips.POINTS` in
    pixels (NaN on frames the mesh did not see), for the lip geometry.
    """
    import warnings

    from scipy.ndimage import median_filter

    from otio_avsync.model.lips import POINTS

    n = len(frames)
    out = np.full((n, 4), np.nan, np.float32)
    points = np.full((n, len(POINTS), 3), np.nan, np.float32)
    if n == 0:
        return out, points
    h, w = frames.shape[1:]
    at: list[int] = []
    geo: list[tuple[float, float, float]] = []  # centre x, centre y, width (pixels)
    with warnings.catch_warnings(), _stderr_silenced():
        warnings.simplefilter("ignore")  # protobuf deprecation noise from MediaPipe
        with _face_mesh_module().FaceMesh(
            static_image_mode=False,
            max_num_faces=1,
            min_detection_confidence=0.5,
            min_tracking_confidence=0.5,
        ) as mesh:
            nxt = 0
            while nxt < n:
                i = nxt
                rgb = np.ascontiguousarray(np.repeat(frames[i][:, :, None], 3, axis=2))
                found = mesh.process(rgb).multi_face_landmarks
                # Without a face to track the mesh runs its detector, which costs more:
                # look again four steps on (the Haar box fills in, as it does between
                # its own detections).
                nxt = i + (every if found else 4 * every)
                if not found:
                    continue
                lm = found[0].landmark
                (ax, ay), (bx, by) = ((lm[j].x * w, lm[j].y * h) for j in _MOUTH_CORNERS)
                (ex, ey), (fx, fy) = ((lm[j].x * w, lm[j].y * h) for j in _EYE_CORNERS)
                eyes = float(np.hypot(fx - ex, fy - ey))
                if eyes < 4:
                    continue
                points[i] = [(lm[j].x * w, lm[j].y * h, lm[j].z * w) for j in POINTS]
                cy = (ay + by) / 2 + _CROP_DROP * eyes
                geo.append(((ax + bx) / 2, cy, _CROP_EYES * eyes))
                at.append(i)
    k = np.arange(n, dtype=np.float64)
    if at:
        g = np.asarray(geo, np.float64)
        if len(g) >= 5:
            g = median_filter(g, size=(5, 1), mode="nearest")
        pos = np.asarray(at, np.float64)
        out[:] = _mouth_box(*(np.interp(k, pos, g[:, c]) for c in range(3)), w, h)
        near = np.min(np.abs(k[:, None] - pos[None, :]), axis=1) <= 2 * every
        out[~near] = np.nan
    missing = np.isnan(out[:, 0])
    if missing.any():
        haar = track_mouth(frames)
        # The Haar mouth box is the lower middle of the face, 0.64 face widths wide;
        # the eyes are about 0.53 face widths apart.
        eyes = (haar[:, 2] - haar[:, 0]) * w / 0.64 * 0.53
        cx = (haar[:, 0] + haar[:, 2]) / 2 * w
        cy = (haar[:, 1] + haar[:, 3]) / 2 * h + (_CROP_DROP - 0.03) * eyes
        out[missing] = _mouth_box(cx, cy, _CROP_EYES * eyes, w, h)[missing]
    return out, points


def _mouth_box(cx: np.ndarray, cy: np.ndarray, width: np.ndarray, w: int, h: int) -> np.ndarray:
    """Boxes x0, y0, x1, y1 in 0..1 from centres and widths in pixels."""
    half_w, half_h = width / 2, width * _CROP_ASPECT / 2
    return np.stack(
        [(cx - half_w) / w, (cy - half_h) / h, (cx + half_w) / w, (cy + half_h) / h], axis=1
    ).astype(np.float32)


def picture_tiles(
    frames: np.ndarray,
    tile: int = 32,
    detect_every: int = 8,
    *,
    mouth: str = "haar",
    geometry: bool = False,
) -> PictureTiles:
    """picture_tiles(frames, tile=32, mouth="haar", geometry=False) -> PictureTiles

    ``frames`` are uint8 (F, H, W) grey. ``mouth`` is the tracker
    (:data:`MOUTH_TRACKERS`) the model was trained with; ``geometry`` runs the
    face mesh on every frame and adds the lip geometry (landmarks only).
    """
    import cv2

    from otio_avsync.model.lips import GEOMETRY_FEATURES, lip_geometry

    if mouth not in MOUTH_TRACKERS:
        raise ValueError(f"mouth tracker must be one of {MOUTH_TRACKERS}, not {mouth!r}")
    n = len(frames)
    geo = None
    if n == 0:
        boxes = np.zeros((0, 4), np.float32)
        geo = np.zeros((0, GEOMETRY_FEATURES), np.float32) if geometry else None
    elif mouth == "landmarks":
        boxes, points = track_face_mesh(frames, every=1 if geometry else 2)
        geo = lip_geometry(points) if geometry else None
    else:
        boxes = track_mouth(frames, detect_every)
        geo = np.zeros((n, GEOMETRY_FEATURES), np.float32) if geometry else None
    tiles = np.zeros((n, tile, 2 * tile), np.uint8)
    if n == 0:
        return PictureTiles(tiles, boxes, geo)
    h, w = frames.shape[1:]
    for k in range(n):
        tiles[k, :, :tile] = cv2.resize(frames[k], (tile, tile), interpolation=cv2.INTER_AREA)
        if np.isnan(boxes[k, 0]):
            continue
        x0, y0, x1, y1 = boxes[k]
        if mouth == "landmarks":
            # The crop keeps its shape at the frame's edge: the edge pixels repeat.
            c0, r0 = round(x0 * w), round(y0 * h)
            cw, ch = max(2, round((x1 - x0) * w)), max(2, round((y1 - y0) * h))
            crop = frames[k, max(0, r0) : max(0, r0 + ch), max(0, c0) : max(0, c0 + cw)]
            if crop.size == 0:
                continue
            pad = (
                (max(0, -r0), ch - crop.shape[0] - max(0, -r0)),
                (max(0, -c0), cw - crop.shape[1] - max(0, -c0)),
            )
            if any(p for pair in pad for p in pair):
                crop = np.pad(crop, pad, mode="edge")
            tiles[k, :, tile:] = cv2.resize(crop, (tile, tile), interpolation=cv2.INTER_AREA)
        else:
            c0, c1 = int(max(0, x0 * w)), int(min(w, max(x0 * w + 2, x1 * w)))
            r0, r1 = int(max(0, y0 * h)), int(min(h, max(y0 * h + 2, y1 * h)))
            if c1 - c0 >= 2 and r1 - r0 >= 2:
                crop = frames[k, r0:r1, c0:c1]
                tiles[k, :, tile:] = cv2.resize(crop, (tile, tile), interpolation=cv2.INTER_AREA)
    return PictureTiles(tiles, boxes, geo)


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
    """Mean absolute change between consecutive frames, (F,), 0 for the first.

    The larger of the whole-frame tile's change and the mouth tile's: a talking
    face before a locked-off camera (a studio recording) hardly changes the
    whole frame, but its mouth moves. A still picture changes in neither.
    """
    if len(tiles) < 2:
        return np.zeros(len(tiles), np.float32)
    side = tiles.shape[1]
    whole = tiles[:, :, :side].astype(np.float32)
    mouth = tiles[:, :, side:].astype(np.float32)
    diff = np.maximum(
        np.abs(np.diff(whole, axis=0)).mean(axis=(1, 2)),
        np.abs(np.diff(mouth, axis=0)).mean(axis=(1, 2)),
    )
    return np.concatenate([[0.0], diff]).astype(np.float32)
