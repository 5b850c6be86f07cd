"""The review window's keyboard map: its menus and their shortcuts, and the help that lists them.

Every action of the panel has a key (:data:`SHORTCUTS`, shown by Help > Shortcuts,
F1). :class:`KeyMapMixin` is the part of :class:`~otio_avsync.ui.window.ReviewWindow`
that builds the menu bar and the help dialog.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox

SHORTCUTS = [
    ("A", "accept the estimate"),
    ("R", "reject the estimate (leave the sound as it is)"),
    ("M", "manual: decide the offset typed in the offset box"),
    ("Backspace", "clear the decision"),
    ("[  or  ,", "nudge the offset one frame earlier (manual decision)"),
    ("]  or  .", "nudge the offset one frame later (manual decision)"),
    ("E", "type an exact offset (Enter decides it)"),
    ("1 / 2", "play A (sound as it is) / B (after the fix)"),
    ("X", "switch between A and B at the same moment"),
    ("Space", "play / stop"),
    ("J / K", "next / previous clip"),
    ("N / Shift+N", "next / previous flagged clip"),
    ("F", "flagged only"),
    ("U", "undecided only"),
    ("Ctrl+F", "search clip names"),
    ("H", "attention overlay on / off"),
    ("Ctrl+Shift+S", "save as a new timeline"),
    ("Ctrl+Shift+A", "apply fixes (slip the sound by the accepted offsets)"),
    ("Ctrl+O / Ctrl+Q", "open / quit"),
]


def shortcuts_html() -> str:
    """The key list as a two-column table (a proportional font cannot line up padded text)."""
    rows = "".join(
        f"<tr><td style='padding-right:18px'><b>{html.escape(k)}</b></td>"
        f"<td>{html.escape(v)}</td></tr>"
        for k, v in SHORTCUTS
    )
    return f"<table cellspacing='2'>{rows}</table>"


class KeyMapMixin:
    """The menu bar of the review window: each action with its keys, window-wide.

    Mixed into :class:`~otio_avsync.ui.window.ReviewWindow`, whose methods the
    actions call.
    """

    interactive: bool

    def _action(self, menu: Any, text: str, keys: list[str] | str, slot: Any) -> QAction:
        act = QAction(text, self)
        seqs = [QKeySequence(k) for k in ([keys] if isinstance(keys, str) else keys)]
        act.setShortcuts(seqs)
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.triggered.connect(lambda _=False: slot())
        menu.addAction(act)
        self.addAction(act)
        return act

    def _actions(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self._action(f, "&Open…", "Ctrl+O", self._open_dialog)
        self._action(f, "Save &as…", ["Ctrl+Shift+S", "Ctrl+S"], self._save_dialog)
        self._action(f, "Apply &fixes", "Ctrl+Shift+A", self.apply_fixes)
        f.addSeparator()
        self._action(f, "&Quit", "Ctrl+Q", self.close)
        d = mb.addMenu("&Decide")
        self._action(d, "&Accept estimate", "A", self.accept_current)
        self._action(d, "&Reject estimate", "R", self.reject_current)
        self._action(d, "&Manual offset (typed)", "M", lambda: self.manual_current())
        self._action(d, "&Clear decision", ["Backspace", "Delete"], self.clear_current)
        d.addSeparator()
        self._action(d, "Nudge −1 frame", ["[", ","], lambda: self.nudge(-1))
        self._action(d, "Nudge +1 frame", ["]", "."], lambda: self.nudge(+1))
        self._action(d, "Type &exact offset", "E", self._edit_offset)
        p = mb.addMenu("&Play")
        self._action(p, "Play &A (as is)", "1", lambda: self.play("A"))
        self._action(p, "Play &B (after the fix)", "2", lambda: self.play("B"))
        self._action(p, "Switch A/B", "X", self.switch)
        self._action(p, "Play / stop", "Space", self.toggle_play)
        v = mb.addMenu("&View")
        self._action(v, "Next clip", "J", lambda: self.step(+1))
        self._action(v, "Previous clip", "K", lambda: self.step(-1))
        self._action(v, "Next flagged", "N", lambda: self.step(+1, flagged=True))
        self._action(v, "Previous flagged", "Shift+N", lambda: self.step(-1, flagged=True))
        self._action(v, "Flagged only", "F", self.flagged_box.toggle)
        self._action(v, "Undecided only", "U", self.undecided_box.toggle)
        self._action(v, "Search", "Ctrl+F", self._focus_search)
        overlay = self._action(v, "Attention &overlay", "H", self.toggle_attention)
        overlay.setCheckable(True)
        overlay.setChecked(True)
        self.overlay_action = overlay
        h = mb.addMenu("&Help")
        self._action(h, "&Shortcuts", "F1", self._show_shortcuts)

    def _show_shortcuts(self) -> None:
        if self.interactive:
            box = QMessageBox(self)
            box.setWindowTitle("Shortcuts")
            box.setTextFormat(Qt.TextFormat.RichText)
            box.setText(shortcuts_html())
            box.exec()
        else:
            self.statusBar().showMessage("; ".join(f"{k}: {v}" for k, v in SHORTCUTS), 10000)
