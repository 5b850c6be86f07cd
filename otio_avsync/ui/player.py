"""A/B playback with QtMultimedia: the sound as it is, and as it would be after the fix.

Both clips hold the same picture (see :func:`otio_avsync.ui.media.render_ab`),
so switching side keeps the position: the editor hears the same moment with
and without the slip. Without QtMultimedia (or without its system libraries)
the player says why and the rest of the panel works on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel


def _multimedia() -> tuple[Any, str]:
    """(QtMultimedia or None, why not)."""
    try:
        from PySide6 import QtMultimedia
    except ImportError as exc:  # PySide6-Addons missing, or libpulse & co.
        return None, f"playback unavailable: {exc}"
    return QtMultimedia, ""


class ABPlayer(QObject):
    """ABPlayer(parent): plays side "A" (as is) or "B" (fixed) of the current A/B clips, looped.

    Signals: ``state(str)`` a line for the status bar, ``position(float)`` seconds
    into the clip while playing.
    """

    state = Signal(str)
    position = Signal(float)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.paths: dict[str, Path] = {}
        self.side = "A"
        self._seek_ms: int | None = None
        self._loading = False
        mm, self.problem = _multimedia()
        self.player = None
        self.audio = None
        self.sink = None
        #: The picture: frames from a QVideoSink drawn into a label (so it also shows
        #: offscreen and in screenshots, where a native video surface would not).
        self.video = QLabel(self.problem or "")
        self.video.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.video.setStyleSheet("background:#111; color:#adb5bd;")
        self.video.setWordWrap(True)
        if mm is None:
            return
        if not mm.QMediaDevices.audioOutputs():
            # Qt says this only on stderr; the window shows ``problem`` to the editor.
            self.problem = "no audio device found: A/B clips play without sound"
            self.video.setText(self.problem)
        self._mm = mm
        self.player = mm.QMediaPlayer(self)
        self.audio = mm.QAudioOutput(self)
        self.player.setAudioOutput(self.audio)
        self.player.setLoops(mm.QMediaPlayer.Loops.Infinite)
        self.sink = mm.QVideoSink(self)
        self.player.setVideoSink(self.sink)
        self.sink.videoFrameChanged.connect(self._frame)
        self.player.positionChanged.connect(lambda ms: self.position.emit(ms / 1000.0))
        self.player.mediaStatusChanged.connect(self._status)
        self.player.errorOccurred.connect(self._error)

    @property
    def available(self) -> bool:
        return self.player is not None

    def video_widget(self) -> QLabel:
        """The picture output (a label saying why when there is none)."""
        return self.video

    def show_still(self, image: QImage | None) -> None:
        """Show a still picture (a poster frame) until playback draws over it."""
        self._show(image)

    def _show(self, image: QImage | None) -> None:
        if image is None or image.isNull():
            self.video.setPixmap(QPixmap())
            return
        size = self.video.size()
        self.video.setPixmap(
            QPixmap.fromImage(image).scaled(
                size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
        )

    def _frame(self, frame: Any) -> None:
        if frame.isValid():
            self._show(frame.toImage())

    def _status(self, status: Any) -> None:
        loaded = (
            self._mm.QMediaPlayer.MediaStatus.LoadedMedia,
            self._mm.QMediaPlayer.MediaStatus.BufferedMedia,
        )
        if status == self._mm.QMediaPlayer.MediaStatus.LoadingMedia:
            self._loading = True
        elif status in loaded and self._loading:
            # The new file is in (not the old one's "loaded" as it is replaced): seek now.
            self._loading = False
            if self._seek_ms:
                self.player.setPosition(self._seek_ms)
            self._seek_ms = None

    def set_clips(self, as_is: Path | None, fixed: Path | None) -> None:
        """New clips (None: none); stops playback."""
        self.stop()
        self.paths = {}
        if as_is is not None and fixed is not None:
            self.paths = {"A": Path(as_is), "B": Path(fixed)}

    def is_playing(self) -> bool:
        if self.player is None:
            return False
        return self.player.playbackState() == self._mm.QMediaPlayer.PlaybackState.PlayingState

    def play(self, side: str) -> bool:
        """Play side "A" or "B" from where the other side was; False when it cannot."""
        if side not in ("A", "B"):
            raise ValueError(f"side must be 'A' or 'B', not {side!r}")
        if self.player is None:
            self.state.emit(self.problem)
            return False
        if not self.paths:
            self.state.emit("nothing to play yet")
            return False
        keep = self.player.position() if self.is_playing() else 0
        url = QUrl.fromLocalFile(str(self.paths[side]))
        if self.player.source() != url:
            self._seek_ms = keep or None  # once the other side's file is loaded
            self.player.setSource(url)
        elif keep:
            self.player.setPosition(keep)
        self.side = side
        self.player.play()
        what = "as it is" if side == "A" else "after the fix"
        self.state.emit(f"playing {side}: sound {what}")
        return True

    def switch(self) -> bool:
        return self.play("B" if self.side == "A" else "A")

    def stop(self) -> None:
        # pause(), not QMediaPlayer.stop(): with Qt 6.11's FFmpeg backend, stop() right
        # after a change of source can deadlock (seen under load: the UI froze).
        if self.player is not None:
            playing = self.is_playing()
            self.player.pause()
            if playing:
                self.state.emit("stopped")

    def _error(self, error: Any, text: str = "") -> None:
        self.state.emit(f"playback error: {text or error}")

    def release(self) -> None:
        """Stop and let go of the files (before they are deleted)."""
        if self.player is not None:
            self.player.stop()
            self.player.setSource(QUrl())
