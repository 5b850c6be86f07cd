"""The picture of the synthetic clips of :mod:`otio_avsync.testmedia`.

A scene draws frame ``i`` from the precomputed event lists: a flash patch that
glows and decays, a ball that lands on a floor, a face whose mouth snaps open
for each syllable (held as long as the sound's syllable). Slowly drifting
translucent blocks are motion that is not an event (the distractors).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from otio_avsync.testsound import _mouth_duration
from otio_avsync.testspec import _KINDS, ClipSpec

_FLASH_TAU_S = 0.06  # decay of a flash / impact glow, seconds


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
