"""The review window: the clip table, the track consensus, the evidence, A/B playback, decisions.

Opening reads the timeline on the worker pool and fills the table from the
metadata only (no media is touched), so a large timeline shows at once; the
evidence of the selected clip (frames, sound) and its A/B clips are decoded
and encoded off the UI thread too. Every action has a keyboard shortcut
(Help > Shortcuts, F1).

:class:`ReviewWindow` is put together from its parts, one module each: the
clip table and its filters (:mod:`otio_avsync.ui.table`), the evidence pane
(:mod:`otio_avsync.ui.evidence`), the decision and playback actions
(:mod:`otio_avsync.ui.decisions`) and the keyboard map (:mod:`otio_avsync.ui.keys`);
this module holds the window itself, opening, saving, fixing and closing.
"""

from __future__ import annotations

import html
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from otio_avsync.ui import model as rm
from otio_avsync.ui.decisions import DecisionMixin
from otio_avsync.ui.evidence import EvidencePaneMixin, _rich_label
from otio_avsync.ui.keys import SHORTCUTS, KeyMapMixin, shortcuts_html
from otio_avsync.ui.model import Row
from otio_avsync.ui.player import ABPlayer
from otio_avsync.ui.table import (
    COLUMNS,
    SORT_ROLE,
    ClipTableMixin,
    RowFilterProxy,
    RowTableModel,
    decision_label,
)
from otio_avsync.ui.widgets import status_color
from otio_avsync.ui.worker import Worker


class ReviewWindow(ClipTableMixin, EvidencePaneMixin, DecisionMixin, KeyMapMixin, QMainWindow):
    """ReviewWindow(path=None): the review panel; :meth:`open_timeline` loads a file.

    Signals for scripts and tests: ``loaded`` (the table is filled),
    ``evidence_ready`` (the detail pane shows the current clip's media),
    ``ab_ready`` (its A/B clips can play), ``saved(str)``.
    """

    loaded = Signal()
    evidence_ready = Signal()
    ab_ready = Signal()
    saved = Signal(str)
    failed = Signal(str)

    def __init__(self, path: str | Path | None = None, *, interactive: bool = True) -> None:
        super().__init__()
        #: False: errors and questions go to the status bar only (no dialogs), for scripts.
        self.interactive = interactive
        self.path: Path | None = None
        self.timeline: Any = None
        self.rows: list[Row] = []
        self.summary: dict[str, Any] = {}
        self.jobs: Any = None
        self.current: Row | None = None
        self.dirty = False
        self.last_error = ""
        self.ab: Any = None
        self.evidence: Any = None
        self.open_started = 0.0
        self.time_to_table = 0.0
        self._pending_play: str | None = None
        self._setting_offset = False
        self._job: Any = None
        self._closed = False
        self._tmp = Path(tempfile.mkdtemp(prefix="avsync-review-"))
        self.worker = Worker(self)
        self.player = ABPlayer(self)
        self.player.state.connect(lambda text: self.statusBar().showMessage(text, 4000))
        self.player.position.connect(self._on_play_position)
        self._ab_timer = QTimer(self)
        self._ab_timer.setSingleShot(True)
        self._ab_timer.setInterval(250)
        self._ab_timer.timeout.connect(self._render_ab)
        self._build()
        self._actions()
        if self.player.problem:  # no playback or no audio device: say so in the window
            self.player_problem = QLabel(f"⚠ {self.player.problem}")
            self.player_problem.setStyleSheet("color:#e65100; padding:0 6px;")
            self.statusBar().addPermanentWidget(self.player_problem)
        self.resize(1500, 900)
        self._title()
        if path is not None:
            self.open_timeline(path)

    # -- layout --------------------------------------------------------------------------
    def _build(self) -> None:
        """The summary over the filter bar, over the table beside the evidence pane."""
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(8, 6, 8, 4)
        self.summary_label = _rich_label("Open an annotated timeline (Ctrl+O).")
        outer.addWidget(self.summary_label)
        outer.addLayout(self._build_filter_bar())
        table = self._build_table()
        detail = self._build_detail()
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(table)
        split.addWidget(detail)
        split.setSizes([880, 620])
        outer.addWidget(split, 1)
        self.setCentralWidget(central)
        self._set_detail_enabled(False)

    def _title(self) -> None:
        name = self.path.name if self.path else "no timeline"
        self.setWindowTitle(f"otio-avsync review — {name}{' *' if self.dirty else ''}")

    # -- messages ------------------------------------------------------------------------
    def show_error(self, message: str) -> None:
        self.last_error = message
        self.statusBar().showMessage(message, 10000)
        self.failed.emit(message)
        if self.interactive:
            QMessageBox.warning(self, "otio-avsync review", message)

    # -- opening -------------------------------------------------------------------------
    def _open_dialog(self) -> None:
        if not self._may_discard():
            return
        name, _ = QFileDialog.getOpenFileName(
            self,
            "Open annotated timeline",
            str(self.path.parent if self.path else Path.cwd()),
            "Timelines (*.otio *.otioz *.otiod);;All files (*)",
        )
        if name:
            self.open_timeline(name)

    def open_timeline(self, path: str | Path) -> None:
        """Read ``path`` off the UI thread; ``loaded`` fires when the table is filled."""
        path = Path(path)
        self.open_started = time.perf_counter()
        self.statusBar().showMessage(f"Opening {path.name}…")
        self.summary_label.setText(f"Opening <b>{html.escape(str(path))}</b>…")
        self.worker.submit(
            "load",
            lambda: rm.open_timeline(path),
            lambda result: self._loaded(path, *result),
            lambda msg: self.show_error(f"Cannot open {path}: {msg}"),
        )

    def _loaded(self, path: Path | None, timeline: Any, rows: list[Row], summary: dict) -> None:
        from otio_avsync.ui.media import JobIndex

        self.player.set_clips(None, None)
        self.path, self.timeline, self.rows, self.summary = path, timeline, rows, summary
        self.jobs = JobIndex(timeline, path.parent if path else None, summary.get("settings"))
        self.dirty = False
        self.current = None
        self._fill_filters()
        self.table_model.set_rows(rows)
        self._show_summary()
        self._update_count()
        self._title()
        self.time_to_table = time.perf_counter() - self.open_started
        self.statusBar().showMessage(
            f"{len(rows)} clip result(s) in {self.time_to_table:.2f} s", 5000
        )
        self.loaded.emit()
        # The table paints first; then the first flagged clip is selected (its media decoded).
        QTimer.singleShot(0, self._select_first)

    def _show_summary(self) -> None:
        s = self.summary
        settings = s.get("settings") or {}
        tol = settings.get("tolerance") or {}
        counts = s.get("counts") or {}
        parts = [
            f'<span style="color:{status_color(k).name()}">■</span> {k.replace("_", " ")} {v}'
            for k, v in counts.items()
        ]
        head = f"<b>{html.escape(self.path.name if self.path else 'timeline')}</b>"
        line = f"{head} — {len(self.rows)} result(s): " + " · ".join(parts)
        if settings:
            line += (
                f" — estimator <i>{html.escape(str(settings.get('estimator', '?')))}</i>,"
                f" tolerance {html.escape(str(tol.get('name', '?')))}"
                f" (−{tol.get('early_ms', '?')}/+{tol.get('late_ms', '?')} ms)"
            )
        tracks = s.get("tracks") or []
        if tracks:
            items = [
                f'<span style="color:{status_color(t.status).name()}">●</span> '
                f"{html.escape(t.text())}"
                + (f" — <i>{html.escape(t.message)}</i>" if t.message else "")
                for t in tracks
            ]
            line += "<br><b>Track consensus:</b> " + "<br>&nbsp;&nbsp;".join(items)
        else:
            line += "<br><b>Track consensus:</b> none recorded"
        ref = s.get("reference")
        if isinstance(ref, dict) and ref.get("key"):
            line += f"<br>Reference sound: {html.escape(str(ref['key']))}"
            if ref.get("chosen"):
                line += f" ({html.escape(str(ref['chosen']))})"
        self.summary_label.setText(line)

    # -- saving & fixing --------------------------------------------------------------------------
    def _save_dialog(self) -> None:
        if self.timeline is None:
            return
        default = self.path.with_name(self.path.stem + ".reviewed.otio") if self.path else None
        name, _ = QFileDialog.getSaveFileName(
            self, "Save reviewed timeline as", str(default or ""), "OTIO (*.otio)"
        )
        if not name:
            return
        overwrite = False
        if self.path is not None and Path(name).exists():
            from otio_avsync.timeline_io import same_file

            if same_file(name, self.path):
                answer = QMessageBox.question(
                    self,
                    "Overwrite the opened timeline?",
                    f"{self.path.name} is the timeline you opened. "
                    "Replace it with the reviewed one?",
                )
                if answer != QMessageBox.StandardButton.Yes:
                    return
                overwrite = True
        self.save_as(name, overwrite_input=overwrite)

    def save_as(self, path: str | Path, *, overwrite_input: bool = False) -> Path | None:
        """Write the timeline with the decisions to ``path`` (atomically); never the opened
        file unless ``overwrite_input``."""
        if self.timeline is None:
            return None
        try:
            out = rm.save_timeline(
                self.timeline, path, opened=self.path, overwrite_input=overwrite_input
            )
        except Exception as exc:
            self.show_error(f"Cannot save: {exc}")
            return None
        self.dirty = False
        self._title()
        self.statusBar().showMessage(f"Saved {out}", 6000)
        self.saved.emit(str(out))
        return out

    def apply_fixes(self) -> Any:
        """Slip the sound by the decided offsets with :func:`otio_avsync.fix.apply_fixes`."""
        if self.timeline is None:
            return None
        try:
            from otio_avsync.fix import apply_fixes
        except ImportError as exc:
            self.show_error(f"The fix is not available in this installation: {exc}")
            return None
        try:
            result = apply_fixes(self.timeline, force=False)
        except Exception as exc:
            self.show_error(f"Cannot apply fixes: {exc}")
            return None
        keep = self.current.index if self.current is not None else None
        self.rows = rm.load_rows(self.timeline)
        from otio_avsync.ui.media import JobIndex

        self.jobs = JobIndex(
            self.timeline, self.path.parent if self.path else None, self.summary.get("settings")
        )
        self.table_model.set_rows(self.rows)
        self.dirty = True
        self._title()
        self._update_count()
        if keep is not None and keep < len(self.rows):
            self.current = None
            self.select_row(keep)
        self.statusBar().showMessage(
            f"Fixes applied: {_describe(result)}; save as a new timeline", 10000
        )
        return result

    # -- closing -----------------------------------------------------------------------------------
    def _may_discard(self) -> bool:
        if not self.dirty or not self.interactive:
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved decisions",
            "The decisions are not saved. Discard them?",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Discard

    def closeEvent(self, event: Any) -> None:
        if self._closed:
            event.accept()
            return
        if not self._may_discard():
            event.ignore()
            return
        self._closed = True
        self.player.release()
        self._ab_timer.stop()
        self.worker.shutdown()
        shutil.rmtree(self._tmp, ignore_errors=True)
        event.accept()


def _describe(result: Any) -> str:
    if result is None:
        return "done"
    slipped = getattr(result, "slipped", None)
    if isinstance(slipped, list):  # otio_avsync.fix.FixReport
        text = f"{len(slipped)} sound(s) slipped"
        changed = getattr(result, "clips_changed", None)
        if changed is not None:
            text += f", {changed} sound clip(s) changed"
        not_fixable = getattr(result, "not_fixable", None) or []
        if not_fixable:
            text += f", {len(not_fixable)} not fixable"
        return text
    for attr in ("summary", "message"):
        value = getattr(result, attr, None)
        if isinstance(value, str) and value:
            return value
    if isinstance(result, list | tuple):
        return f"{len(result)} change(s)"
    text = str(result)
    return text if len(text) < 120 else text[:117] + "…"


__all__ = [
    "COLUMNS",
    "SHORTCUTS",
    "SORT_ROLE",
    "ReviewWindow",
    "RowFilterProxy",
    "RowTableModel",
    "decision_label",
    "shortcuts_html",
]
