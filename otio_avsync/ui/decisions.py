"""The review window's decision and playback actions: accept, reject, manual, nudge; play A/B.

:class:`DecisionMixin` is the part of :class:`~otio_avsync.ui.window.ReviewWindow`
that builds the decision bar (the offset box and its buttons, and the A/B
buttons) and carries out what they and their keys ask: a decision is written on
the row (:func:`otio_avsync.ui.model.set_decision`), and a new offset re-renders
side B once typing settles.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton

from otio_avsync.ui import model as rm
from otio_avsync.ui.model import Row
from otio_avsync.ui.player import ABPlayer
from otio_avsync.ui.table import decision_label
from otio_avsync.ui.worker import Worker


class _OffsetBox(QDoubleSpinBox):
    """Offset in ms; Enter emits :attr:`entered`."""

    entered = Signal(float)

    def keyPressEvent(self, event: Any) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.interpretText()
            self.entered.emit(self.value())
            event.accept()
            return
        super().keyPressEvent(event)


class DecisionMixin:
    """The decision bar and the A/B buttons of the review window, and their actions.

    Mixed into :class:`~otio_avsync.ui.window.ReviewWindow`; uses its ``current``
    row, ``player``, ``worker`` and ``evidence``, and the table's model and proxy
    of :class:`~otio_avsync.ui.table.ClipTableMixin`.
    """

    current: Row | None
    evidence: Any
    ab: Any
    dirty: bool
    worker: Worker
    player: ABPlayer
    _pending_play: str | None
    _setting_offset: bool
    _ab_timer: QTimer

    # -- building ------------------------------------------------------------------------
    def _build_decide_bar(self) -> QHBoxLayout:
        """The A/B buttons (laid out under the picture) and the decision bar, connected."""
        decide = QHBoxLayout()
        self.play_a = QPushButton("▶ A as is (1)")
        self.play_b = QPushButton("▶ B fixed (2)")
        self.stop_button = QPushButton("■ Stop (Space)")
        self.nudge_down = QPushButton("−1f [")
        self.offset_box = _OffsetBox()
        self.offset_box.setRange(-60000.0, 60000.0)
        self.offset_box.setDecimals(2)
        self.offset_box.setSuffix(" ms")
        self.offset_box.setKeyboardTracking(False)
        self.offset_box.setToolTip("Offset after the fix, ms (sound late > 0); Enter decides it")
        self.frames_label = QLabel("")
        self.nudge_up = QPushButton("+1f ]")
        self.accept_button = QPushButton("Accept (A)")
        self.reject_button = QPushButton("Reject (R)")
        self.manual_button = QPushButton("Manual (M)")
        decide_widgets = (
            self.nudge_down,
            self.offset_box,
            self.frames_label,
            self.nudge_up,
            self.accept_button,
            self.reject_button,
            self.manual_button,
        )
        for w in (self.play_a, self.play_b, self.stop_button, *decide_widgets):
            focus = (
                Qt.FocusPolicy.StrongFocus if w is self.offset_box else Qt.FocusPolicy.ClickFocus
            )
            w.setFocusPolicy(focus)
        for w in decide_widgets:
            decide.addWidget(w)
        decide.addStretch(1)
        self._connect_decide_bar()
        return decide

    def _connect_decide_bar(self) -> None:
        self.play_a.clicked.connect(lambda: self.play("A"))
        self.play_b.clicked.connect(lambda: self.play("B"))
        self.stop_button.clicked.connect(self.stop)
        self.nudge_down.clicked.connect(lambda: self.nudge(-1))
        self.nudge_up.clicked.connect(lambda: self.nudge(+1))
        self.accept_button.clicked.connect(self.accept_current)
        self.reject_button.clicked.connect(self.reject_current)
        self.manual_button.clicked.connect(lambda: self.manual_current())
        self.offset_box.valueChanged.connect(self._on_offset_changed)
        self.offset_box.entered.connect(lambda v: self.manual_current(v))

    def _set_detail_enabled(self, on: bool) -> None:
        for w in (
            self.play_a,
            self.play_b,
            self.stop_button,
            self.nudge_down,
            self.nudge_up,
            self.offset_box,
            self.accept_button,
            self.reject_button,
            self.manual_button,
        ):
            w.setEnabled(on)

    # -- playback ------------------------------------------------------------------------
    def play(self, side: str) -> bool:
        """Play side A (sound as is) or B (after the fix); waits for the clips if needed."""
        if self.current is None:
            return False
        if self.ab is None or self._ab_timer.isActive() or self.worker.busy("ab"):
            self._pending_play = side
            self.statusBar().showMessage("preparing A/B clips…", 3000)
            return False
        return self.player.play(side)

    def switch(self) -> None:
        if self.player.is_playing():
            self.player.switch()
        else:
            self.play("B" if self.player.side == "A" else "A")

    def toggle_play(self) -> None:
        if self.player.is_playing():
            self.stop()
        else:
            self.play(self.player.side)

    def stop(self) -> None:
        self._pending_play = None
        self.player.stop()
        for w in (self.filmstrip, self.attention, self.waveform):
            w.set_cursor(None)

    # -- decisions -----------------------------------------------------------------------
    def _show_frames_label(self) -> None:
        row = self.current
        if row is None:
            self.frames_label.setText("")
            return
        self.frames_label.setText(f"{self.offset_box.value() / row.frame_ms:+.2f} f")

    def _on_offset_changed(self, value: float) -> None:
        self._show_frames_label()
        self.curve.set_chosen(value if self.current is not None else None)
        if self._setting_offset or self.current is None:
            return
        if self.evidence is not None:
            self._ab_timer.start()  # re-render B for the new offset, once typing settles

    def _edit_offset(self) -> None:
        if self.current is not None:
            self.offset_box.setFocus()
            self.offset_box.selectAll()

    def _decided(self, row: Row) -> None:
        at = self._proxy_row_of(row)
        self.dirty = True
        self._title()
        self.table_model.row_changed(row)
        self.curve.set_chosen(row.decided_offset_ms)
        self.statusBar().showMessage(f"{row.label()}: {decision_label(row) or 'undecided'}", 4000)
        if self._proxy_row_of(row) < 0 and self.proxy.rowCount():
            # Filtered out (undecided only): go on with the clip that took its place.
            self._select_proxy_row(min(max(0, at), self.proxy.rowCount() - 1))
        self._update_count()

    def decide(self, action: str, offset_ms: float | None = None) -> dict[str, Any] | None:
        """Decide on the current row ("accept", "reject", "manual" with offset_ms)."""
        row = self.current
        if row is None:
            return None
        try:
            decision = rm.set_decision(row, action, offset_ms)
        except ValueError as exc:
            self.show_error(str(exc))
            return None
        if decision.get("offset_ms") is not None:
            self._setting_offset = True
            self.offset_box.setValue(decision["offset_ms"])
            self._setting_offset = False
            self._show_frames_label()
        self._decided(row)
        return decision

    def accept_current(self) -> dict[str, Any] | None:
        return self.decide("accept")

    def reject_current(self) -> dict[str, Any] | None:
        return self.decide("reject")

    def manual_current(self, offset_ms: float | None = None) -> dict[str, Any] | None:
        if offset_ms is None:
            self.offset_box.interpretText()
            offset_ms = self.offset_box.value()
        result = self.decide("manual", offset_ms)
        if result is not None and self.evidence is not None:
            self._ab_timer.start()
        return result

    def clear_current(self) -> None:
        if self.current is not None:
            rm.clear_decision(self.current)
            self._decided(self.current)

    def nudge(self, frames: int) -> dict[str, Any] | None:
        """Move the offset by whole frames and decide it (manual)."""
        row = self.current
        if row is None:
            return None
        return self.manual_current(self.offset_box.value() + frames * row.frame_ms)
