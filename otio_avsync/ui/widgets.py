"""The detail pane's plots, drawn with QPainter: filmstrip, attention, waveform, score curve.

The filmstrip, the temporal attention and the waveform share one time axis:
seconds from the start of the analysed span, so a mouth opening, the block
the model attended to and the sound it matched line up vertically.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from otio_avsync.ui.model import waveform_envelope

STATUS_COLORS = {
    "in_sync": "#2f9e44",
    "out_of_sync": "#e03131",
    "uncertain": "#e6a700",
}
#: Not analysable (no audio, media missing, unsupported, error): ORANGE like the markers.
OTHER_COLOR = "#f76707"
DECISION_COLORS = {"accept": "#1971c2", "reject": "#868e96", "manual": "#9c36b5"}
_MARGIN = 8.0
_AXIS = QColor("#6c757d")
_BG = QColor("#fbfbfc")


def status_color(status: str) -> QColor:
    return QColor(STATUS_COLORS.get(status, OTHER_COLOR))


def rgb_image(frame: np.ndarray) -> QImage:
    """A QImage (own copy) of an RGB uint8 (H, W, 3) array."""
    frame = np.ascontiguousarray(frame, dtype=np.uint8)
    h, w = frame.shape[:2]
    return QImage(frame.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


#: The attention tint's strongest opacity (0..255): light enough that the frame stays legible.
TINT_ALPHA = 110


def heat_image(values: np.ndarray, alpha: int = TINT_ALPHA) -> QImage:
    """A light heat tint (clear at 0, red to yellow at 1) of a (H, W) 0..1 array.

    Only the strongest places get colour (the weight is squared) and never opaque,
    so the filmstrip under it still reads; :func:`attention_outline` rings the peak.
    """
    v = np.clip(np.asarray(values, dtype=np.float32), 0.0, 1.0)
    h, w = v.shape
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 1] = (v * 220).astype(np.uint8)
    rgba[..., 2] = 30
    rgba[..., 3] = (v * v * alpha).astype(np.uint8)  # the peaks show, the rest stays clear
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


class _TimeView(QWidget):
    """A plot whose x axis is seconds from the span start, with the A/B window and play cursor."""

    def __init__(self, parent: QWidget | None = None, height: int = 60) -> None:
        super().__init__(parent)
        self.span_s = 1.0
        self.window: tuple[float, float] | None = None
        self.cursor_s: float | None = None
        self._height = height
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(height)

    def sizeHint(self) -> QSize:
        return QSize(480, self._height)

    def set_span(self, span_s: float) -> None:
        self.span_s = max(1e-3, float(span_s))
        self.update()

    def set_window(self, window: tuple[float, float] | None) -> None:
        self.window = window
        self.update()

    def set_cursor(self, t: float | None) -> None:
        self.cursor_s = t
        self.update()

    def x_of(self, t: float) -> float:
        return _MARGIN + (self.width() - 2 * _MARGIN) * t / self.span_s

    def _overlay(self, p: QPainter) -> None:
        if self.window is not None:
            a, d = self.window
            x0, x1 = self.x_of(a), self.x_of(a + d)
            p.fillRect(QRectF(x0, 0, x1 - x0, self.height()), QColor(25, 113, 194, 28))
            p.setPen(QPen(QColor(25, 113, 194, 120), 1, Qt.PenStyle.DashLine))
            p.drawLine(QPointF(x0, 0), QPointF(x0, self.height()))
            p.drawLine(QPointF(x1, 0), QPointF(x1, self.height()))
        if self.cursor_s is not None:
            x = self.x_of(self.cursor_s)
            p.setPen(QPen(QColor("#1971c2"), 2))
            p.drawLine(QPointF(x, 0), QPointF(x, self.height()))

    def _caption(self, p: QPainter, text: str) -> None:
        font = QFont(p.font())
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        p.setFont(font)
        p.setPen(_AXIS)
        p.drawText(QRectF(_MARGIN + 2, 1, self.width(), 14), Qt.AlignmentFlag.AlignLeft, text)


class FilmstripView(_TimeView):
    """Frames across the span, each under the spatial attention of its block.

    The attention map's left half covers the whole frame; its right half the
    mouth crop (``mouth_box``, 0..1 frame coordinates) where a face was found.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, height=96)
        self.frames: list[QImage] = []
        self.times: list[float] = []
        self.blocks: list[dict[str, Any]] = []
        self.fps = 25.0
        self.message = "no picture"
        #: Draw the spatial attention over the frames (View > Attention overlay, key H).
        self.show_attention = True

    def set_evidence(
        self,
        frames: Sequence[np.ndarray],
        times: Sequence[float],
        blocks: list[dict[str, Any]],
        fps: float,
        span_s: float,
        message: str = "",
    ) -> None:
        self.frames = [rgb_image(f) for f in frames]
        self.times = list(times)
        self.blocks = blocks
        self.fps = fps if fps > 0 else 25.0
        self.message = message or ("no picture" if not frames else "")
        self.set_span(span_s)

    def block_at(self, t: float) -> dict[str, Any] | None:
        for b in self.blocks:
            if b["start_s"] <= t < b["start_s"] + b["frames"] / self.fps:
                return b
        return None

    def paintEvent(self, event: Any) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.fillRect(self.rect(), QColor("#212529"))
        n = len(self.frames)
        if not n:
            p.setPen(QColor("#adb5bd"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.message)
            return
        slot = self.span_s / n
        for i, img in enumerate(self.frames):
            x0, x1 = self.x_of(i * slot) + 1, self.x_of((i + 1) * slot) - 1
            box = QRectF(x0, 2, x1 - x0, self.height() - 4)
            aspect = img.width() / max(1, img.height())
            w = min(box.width(), box.height() * aspect)
            h = w / aspect
            rect = QRectF(box.center().x() - w / 2, box.center().y() - h / 2, w, h)
            p.drawImage(rect, img)
            t = self.times[i] if i < len(self.times) else (i + 0.5) * slot
            block = self.block_at(t)
            if self.show_attention and block is not None and block.get("map") is not None:
                m = block["map"]
                half = m.shape[1] // 2
                p.drawImage(rect, heat_image(m[:, :half]))
                self._outline(p, rect, m[:, :half])
                mb = block.get("mouth_box")
                if mb and len(mb) == 4 and all(math.isfinite(float(v)) for v in mb):
                    x0m, y0m, x1m, y1m = (float(v) for v in mb)
                    mouth = QRectF(
                        rect.x() + x0m * rect.width(),
                        rect.y() + y0m * rect.height(),
                        max(2.0, (x1m - x0m) * rect.width()),
                        max(2.0, (y1m - y0m) * rect.height()),
                    )
                    p.drawImage(mouth, heat_image(m[:, half:]))
                    p.setPen(QPen(QColor(255, 255, 255, 160), 1))
                    p.drawRect(mouth)
        self._overlay(p)


    @staticmethod
    def _outline(p: QPainter, rect: QRectF, m: np.ndarray) -> None:
        """A thin yellow ring round the cell the model looked at most."""
        h, w = m.shape
        if not (h and w) or not np.isfinite(m).all() or float(np.max(m)) <= 0:
            return
        y, x = np.unravel_index(int(np.argmax(m)), m.shape)
        cell = QRectF(
            rect.x() + x * rect.width() / w,
            rect.y() + y * rect.height() / h,
            rect.width() / w,
            rect.height() / h,
        )
        p.setPen(QPen(QColor(255, 235, 59, 230), 1.5))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(cell)


class AttentionView(_TimeView):
    """The temporal attention: one bar per block, its height the block's weight."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, height=44)
        self.blocks: list[dict[str, Any]] = []
        self.fps = 25.0

    def set_blocks(self, blocks: list[dict[str, Any]], fps: float, span_s: float) -> None:
        self.blocks = blocks
        self.fps = fps if fps > 0 else 25.0
        self.set_span(span_s)

    def paintEvent(self, event: Any) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), _BG)
        if not self.blocks:
            self._caption(p, "temporal attention: none (this estimator has no attention)")
            self._overlay(p)
            return
        top = max(b["weight"] for b in self.blocks) or 1.0
        base = self.height() - 2.0
        for b in self.blocks:
            x0 = self.x_of(b["start_s"])
            x1 = self.x_of(b["start_s"] + b["frames"] / self.fps)
            h = (base - 16) * b["weight"] / top
            p.fillRect(QRectF(x0 + 1, base - h, max(1.0, x1 - x0 - 2), h), QColor("#f08c00"))
        self._caption(p, "temporal attention (weight per block)")
        self._overlay(p)


class WaveformView(_TimeView):
    """The sound across the span (min/max per pixel column) and a seconds scale."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, height=84)
        self.audio = np.zeros(0, np.float32)
        self._env: np.ndarray | None = None

    def set_audio(self, audio: np.ndarray, span_s: float) -> None:
        self.audio = np.asarray(audio, dtype=np.float32)
        self._env = None
        self.set_span(span_s)

    def resizeEvent(self, event: Any) -> None:
        self._env = None
        super().resizeEvent(event)

    def paintEvent(self, event: Any) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), _BG)
        axis_h = 14.0
        mid = (self.height() - axis_h) / 2
        cols = max(1, int(self.width() - 2 * _MARGIN))
        if len(self.audio):
            if self._env is None or len(self._env) != cols:
                self._env = waveform_envelope(self.audio, cols)
            peak = float(np.max(np.abs(self._env))) or 1.0
            scale = (mid - 2) / peak
            p.setPen(QPen(QColor("#364fc7"), 1))
            for c in range(cols):
                lo, hi = self._env[c]
                x = _MARGIN + c
                p.drawLine(QPointF(x, mid - hi * scale), QPointF(x, mid - lo * scale))
            self._caption(p, "sound")
        else:
            self._caption(p, "sound: none decoded")
        # seconds scale
        p.setPen(_AXIS)
        y = self.height() - axis_h
        p.drawLine(QPointF(_MARGIN, y), QPointF(self.width() - _MARGIN, y))
        step = _nice_step(self.span_s / 8)
        t = 0.0
        font = QFont(p.font())
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.8))
        p.setFont(font)
        while t <= self.span_s + 1e-9:
            x = self.x_of(t)
            p.drawLine(QPointF(x, y), QPointF(x, y + 3))
            p.drawText(QRectF(x - 30, y + 2, 60, axis_h), Qt.AlignmentFlag.AlignHCenter, f"{t:g}s")
            t += step
        self._overlay(p)


def _nice_step(raw: float) -> float:
    if raw <= 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


class CurveView(QWidget):
    """The sync score against candidate offset, the estimate (red) and the decision (blue) marked.

    The shaded band is the tolerance: offsets inside it count as in sync.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.xs = np.zeros(0)
        self.ys = np.zeros(0)
        self.estimate: float | None = None
        self.chosen: float | None = None
        self.tolerance = (45.0, 125.0)
        self.setMinimumHeight(110)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(480, 130)

    def set_curve(
        self,
        xs: Sequence[float],
        ys: Sequence[float],
        estimate: float | None,
        chosen: float | None,
        tolerance: tuple[float, float],
    ) -> None:
        self.xs = np.asarray(xs, dtype=float)
        self.ys = np.asarray(ys, dtype=float)
        self.estimate, self.chosen, self.tolerance = estimate, chosen, tolerance
        self.update()

    def set_chosen(self, chosen: float | None) -> None:
        self.chosen = chosen
        self.update()

    def _x_range(self) -> tuple[float, float]:
        values = list(self.xs) + [v for v in (self.estimate, self.chosen) if v is not None]
        if not values:
            return -500.0, 500.0
        lo, hi = min([*values, -self.tolerance[0]]), max([*values, self.tolerance[1]])
        pad = 0.03 * (hi - lo or 1.0)
        return lo - pad, hi + pad

    def paintEvent(self, event: Any) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), _BG)
        left, right, top, bottom = 8.0, self.width() - 8.0, 16.0, self.height() - 16.0
        lo, hi = self._x_range()

        def px(v: float) -> float:
            return left + (right - left) * (v - lo) / (hi - lo)

        early, late = self.tolerance
        p.fillRect(
            QRectF(px(-early), top, px(late) - px(-early), bottom - top), QColor(47, 158, 68, 30)
        )
        p.setPen(QPen(QColor("#adb5bd"), 1, Qt.PenStyle.DotLine))
        p.drawLine(QPointF(px(0), top), QPointF(px(0), bottom))
        font = QFont(p.font())
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.8))
        p.setFont(font)
        p.setPen(_AXIS)
        p.drawText(QRectF(left, 1, 400, 14), Qt.AlignmentFlag.AlignLeft, "sync score by offset")
        p.drawText(QRectF(left, bottom + 1, 90, 14), Qt.AlignmentFlag.AlignLeft, f"{lo:+.0f} ms")
        p.drawText(
            QRectF(right - 90, bottom + 1, 90, 14), Qt.AlignmentFlag.AlignRight, f"{hi:+.0f} ms"
        )
        p.drawText(
            QRectF(px(0) - 40, bottom + 1, 80, 14),
            Qt.AlignmentFlag.AlignHCenter,
            "0 (sound late →)",
        )
        if len(self.xs) >= 2 and len(self.ys) == len(self.xs):
            y_lo, y_hi = float(np.min(self.ys)), float(np.max(self.ys))
            span = (y_hi - y_lo) or 1.0
            path = QPainterPath()
            for i, (x, y) in enumerate(zip(self.xs, self.ys, strict=True)):
                pt = QPointF(px(float(x)), bottom - (bottom - top) * (float(y) - y_lo) / span)
                if i == 0:
                    path.moveTo(pt)
                else:
                    path.lineTo(pt)
            p.setPen(QPen(QColor("#495057"), 1.4))
            p.drawPath(path)
        else:
            p.setPen(_AXIS)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no score curve stored")
        for value, color, style, label in (
            (self.estimate, "#e03131", Qt.PenStyle.SolidLine, "estimate"),
            (self.chosen, "#1971c2", Qt.PenStyle.DashLine, "decision"),
        ):
            if value is None:
                continue
            x = px(value)
            p.setPen(QPen(QColor(color), 2, style))
            p.drawLine(QPointF(x, top), QPointF(x, bottom))
            p.drawText(
                QRectF(x + 3, top + (0 if label == "estimate" else 14), 140, 14),
                Qt.AlignmentFlag.AlignLeft,
                f"{label} {value:+.1f} ms",
            )
