"""The review window: the clip table, the track consensus, the evidence, A/B playback, decisions.

Opening reads the timeline on the worker pool and fills the table from the
metadata only (no media is touched), so a large timeline shows at once; the
evidence of the selected clip (frames, sound) and its A/B clips are decoded
and encoded off the UI thread too. Every action has a keyboard shortcut
(Help > Shortcuts, F1).
"""

from __future__ import annotations

import contextlib
import html
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from otio_avsync.metadata import finite
from otio_avsync.ui import model as rm
from otio_avsync.ui.model import Row, RowFilter
from otio_avsync.ui.player import ABPlayer
from otio_avsync.ui.widgets import (
    DECISION_COLORS,
    AttentionView,
    CurveView,
    FilmstripView,
    WaveformView,
    rgb_image,
    status_color,
)
from otio_avsync.ui.worker import Worker

SORT_ROLE = Qt.ItemDataRole.UserRole + 1

#: (key, header, width)
COLUMNS = [
    ("status", "Status", 104),
    ("decision", "Decision", 128),
    ("name", "Clip", 140),
    ("track", "Track", 46),
    ("record_tc", "Record TC", 92),
    ("sound", "Sound", 128),
    ("language", "Lang", 44),
    ("offset_ms", "Offset ms", 74),
    ("offset_frames", "Frames", 58),
    ("confidence", "Conf.", 52),
]
_NUMERIC = {"offset_ms", "offset_frames", "confidence"}

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


def _fmt(value: float | None, spec: str) -> str:
    return "" if value is None else format(value, spec)


def decision_label(row: Row) -> str:
    d = row.decision
    if d is None:
        return ""
    off = finite(d.get("offset_ms"))
    if d["action"] == "reject":
        return "rejected"
    verb = "accepted" if d["action"] == "accept" else "manual"
    return verb if off is None else f"{verb} {off:+.0f} ms"


class RowTableModel(QAbstractTableModel):
    """The rows of the timeline: display text, sort keys and status colours."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[Row] = []

    def set_rows(self, rows: list[Row]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def row_changed(self, row: Row) -> None:
        self.dataChanged.emit(self.index(row.index, 0), self.index(row.index, len(COLUMNS) - 1))

    def rowCount(self, parent: Any = QModelIndex()) -> int:  # noqa: B008 (Qt API)
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Any = QModelIndex()) -> int:  # noqa: B008 (Qt API)
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Any, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        return None

    def data(self, index: Any, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        key = COLUMNS[index.column()][0]
        if role == Qt.ItemDataRole.DisplayRole:
            if key == "status":
                return row.status.replace("_", " ")
            if key == "decision":
                return decision_label(row)
            if key == "offset_ms":
                return _fmt(row.offset_ms, "+.1f")
            if key == "offset_frames":
                return _fmt(row.offset_frames, "+.2f")
            if key == "confidence":
                return f"{row.confidence:.0%}" if row.analysable else ""
            return getattr(row, key)
        if role == SORT_ROLE:
            if key in _NUMERIC:
                v = getattr(row, key)
                return float("-inf") if v is None else float(v)
            if key == "decision":
                return decision_label(row)
            if key == "status":
                return (
                    ("out_of_sync", "uncertain", "in_sync").index(row.status)
                    if (row.analysable)
                    else 3
                )
            return str(getattr(row, key)).lower()
        if role == Qt.ItemDataRole.BackgroundRole:
            c = status_color(row.status)
            c.setAlpha(200 if key == "status" else 34)
            return c
        if role == Qt.ItemDataRole.ForegroundRole:
            if key == "status":
                return QColor("white")
            if key == "decision" and row.decision is not None:
                return QColor(DECISION_COLORS.get(row.decision["action"], "black"))
        if role == Qt.ItemDataRole.TextAlignmentRole and key in _NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.message
        return None


class RowFilterProxy(QSortFilterProxyModel):
    """Sorting by :data:`SORT_ROLE` and filtering with a :class:`RowFilter`."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.filter = RowFilter()
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def set_filter(self, f: RowFilter) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.10
            self.beginFilterChange()
            self.filter = f
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.filter = f
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: Any) -> bool:
        rows = self.sourceModel().rows
        return 0 <= source_row < len(rows) and self.filter.matches(rows[source_row])


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


def _rich_label(text: str) -> QLabel:
    """A word-wrapped label that renders rich text (summaries, clip titles)."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    return label


class ReviewWindow(QMainWindow):
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
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(8, 6, 8, 4)
        self.summary_label = _rich_label("Open an annotated timeline (Ctrl+O).")
        outer.addWidget(self.summary_label)

        bar = QHBoxLayout()
        self.flagged_box = QCheckBox("&Flagged only")
        self.undecided_box = QCheckBox("&Undecided only")
        self.sound_combo = QComboBox()
        self.lang_combo = QComboBox()
        for combo in (self.sound_combo, self.lang_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.search = QLineEdit()
        self.search.setPlaceholderText("search clip, timecode, sound… (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        bar.addWidget(self.flagged_box)
        bar.addWidget(self.undecided_box)
        bar.addWidget(QLabel("Sound:"))
        bar.addWidget(self.sound_combo)
        bar.addWidget(QLabel("Language:"))
        bar.addWidget(self.lang_combo)
        bar.addWidget(self.search, 1)
        self.count_label = QLabel("")
        bar.addWidget(self.count_label)
        outer.addLayout(bar)
        for w in (self.flagged_box, self.undecided_box):
            w.toggled.connect(self._apply_filter)
        for c in (self.sound_combo, self.lang_combo):
            c.currentIndexChanged.connect(self._apply_filter)
        self.search.textChanged.connect(self._apply_filter)

        self.table_model = RowTableModel(self)
        self.proxy = RowFilterProxy(self)
        self.proxy.setSourceModel(self.table_model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for i, (_, _, width) in enumerate(COLUMNS):
            self.table.setColumnWidth(i, width)
        self.table.selectionModel().currentRowChanged.connect(self._on_current)

        detail = QWidget()
        dl = QVBoxLayout(detail)
        dl.setContentsMargins(6, 0, 0, 0)
        self.detail_title = _rich_label("")
        dl.addWidget(self.detail_title)
        self.filmstrip = FilmstripView()
        self.attention = AttentionView()
        self.waveform = WaveformView()
        self.curve = CurveView()
        for w in (self.filmstrip, self.attention, self.waveform, self.curve):
            dl.addWidget(w)

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
        dl.addLayout(decide)
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

        lower = QHBoxLayout()
        playback = QVBoxLayout()
        video = self.player.video_widget()
        video.setFixedSize(320, 180)
        playback.addWidget(video)
        buttons = QHBoxLayout()
        for w in (self.play_a, self.play_b, self.stop_button):
            buttons.addWidget(w)
        playback.addLayout(buttons)
        lower.addLayout(playback)
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        lower.addWidget(self.message_label, 1)
        dl.addLayout(lower)
        dl.addStretch(1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(detail)
        split.setSizes([880, 620])
        outer.addWidget(split, 1)
        self.setCentralWidget(central)
        self._set_detail_enabled(False)

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

    def _title(self) -> None:
        name = self.path.name if self.path else "no timeline"
        self.setWindowTitle(f"otio-avsync review — {name}{' *' if self.dirty else ''}")

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

    # -- messages ------------------------------------------------------------------------
    def show_error(self, message: str) -> None:
        self.last_error = message
        self.statusBar().showMessage(message, 10000)
        self.failed.emit(message)
        if self.interactive:
            QMessageBox.warning(self, "otio-avsync review", message)

    def toggle_attention(self) -> None:
        """Show or hide the model's attention over the filmstrip (key H)."""
        self.filmstrip.show_attention = not self.filmstrip.show_attention
        self.overlay_action.setChecked(self.filmstrip.show_attention)
        self.filmstrip.update()

    def _show_shortcuts(self) -> None:
        if self.interactive:
            box = QMessageBox(self)
            box.setWindowTitle("Shortcuts")
            box.setTextFormat(Qt.TextFormat.RichText)
            box.setText(shortcuts_html())
            box.exec()
        else:
            self.statusBar().showMessage("; ".join(f"{k}: {v}" for k, v in SHORTCUTS), 10000)

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

    def set_timeline(self, timeline: Any, path: str | Path | None = None) -> None:
        """Show a timeline already in memory (``path``: where media paths are relative to)."""
        self.open_started = time.perf_counter()
        self._loaded(
            Path(path) if path else None,
            timeline,
            rm.load_rows(timeline),
            rm.timeline_summary(timeline),
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

    def _select_first(self) -> None:
        if self.current is not None:
            return
        first = next((i for i in range(self.proxy.rowCount()) if self._row_at(i).flagged), 0)
        if self.proxy.rowCount():
            self._select_proxy_row(first)
        else:
            self._show_row(None)

    def _fill_filters(self) -> None:
        sounds, langs = rm.choices(self.rows)
        for combo, items, everything in (
            (self.sound_combo, sounds, "all sounds"),
            (self.lang_combo, langs, "all languages"),
        ):
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(everything, "")
            for item in items:
                combo.addItem(item, item)
            combo.blockSignals(False)
        self._apply_filter()

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

    # -- filters & selection -------------------------------------------------------------
    def _apply_filter(self) -> None:
        current = self.current
        self.proxy.set_filter(
            RowFilter(
                flagged_only=self.flagged_box.isChecked(),
                undecided_only=self.undecided_box.isChecked(),
                sound=self.sound_combo.currentData() or "",
                language=self.lang_combo.currentData() or "",
                text=self.search.text().strip(),
            )
        )
        self._update_count()
        if current is not None and self._proxy_row_of(current) < 0 and self.proxy.rowCount():
            self._select_proxy_row(0)

    def set_filter(self, **kwargs: Any) -> None:
        """For scripts: flagged_only, undecided_only (bool), sound, language, text (str)."""
        if "flagged_only" in kwargs:
            self.flagged_box.setChecked(bool(kwargs["flagged_only"]))
        if "undecided_only" in kwargs:
            self.undecided_box.setChecked(bool(kwargs["undecided_only"]))
        for key, combo in (("sound", self.sound_combo), ("language", self.lang_combo)):
            if key in kwargs:
                i = combo.findData(kwargs[key] or "")
                if i < 0:
                    raise ValueError(f"no {key} {kwargs[key]!r} in this timeline")
                combo.setCurrentIndex(i)
        if "text" in kwargs:
            self.search.setText(kwargs["text"])

    def _update_count(self) -> None:
        self.count_label.setText(f"{self.proxy.rowCount()} / {len(self.rows)}")

    def visible_rows(self) -> list[Row]:
        """The rows the table shows, in display order."""
        return [self._row_at(i) for i in range(self.proxy.rowCount())]

    def _row_at(self, proxy_row: int) -> Row:
        src = self.proxy.mapToSource(self.proxy.index(proxy_row, 0))
        return self.rows[src.row()]

    def _proxy_row_of(self, row: Row) -> int:
        idx = self.proxy.mapFromSource(self.table_model.index(row.index, 0))
        return idx.row() if idx.isValid() else -1

    def _select_proxy_row(self, proxy_row: int) -> None:
        idx = self.proxy.index(proxy_row, 0)
        self.table.selectionModel().setCurrentIndex(
            idx,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.scrollTo(idx)

    def select_row(self, row: Row | int | str) -> Row:
        """Select a row (a Row, its index, or its clip name); makes it visible if filtered out."""
        if isinstance(row, str):
            row = next(r for r in self.rows if r.name == row)
        elif isinstance(row, int):
            row = self.rows[row]
        if self._proxy_row_of(row) < 0:
            self.set_filter(
                flagged_only=False, undecided_only=False, sound="", language="", text=""
            )
        self._select_proxy_row(self._proxy_row_of(row))
        return row

    def step(self, delta: int, *, flagged: bool = False) -> None:
        n = self.proxy.rowCount()
        if not n:
            return
        at = self._proxy_row_of(self.current) if self.current is not None else -1
        i = at
        for _ in range(n):
            i = (i + delta) % n
            if not flagged or self._row_at(i).flagged:
                self._select_proxy_row(i)
                return

    def _focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _on_current(self, current: QModelIndex, previous: QModelIndex) -> None:
        if not current.isValid():
            return
        row = self.rows[self.proxy.mapToSource(current).row()]
        if row is not self.current:
            self._show_row(row)

    # -- the detail pane -------------------------------------------------------------------
    def _show_row(self, row: Row | None) -> None:
        self.current = row
        self._job = None
        self.player.set_clips(None, None)
        self.player.show_still(None)
        self.ab = None
        self.evidence = None
        self._pending_play = None
        if row is None:
            self.detail_title.setText("")
            self.message_label.setText("")
            self.filmstrip.set_evidence([], [], [], 25.0, 1.0, "no clip selected")
            self.attention.set_blocks([], 25.0, 1.0)
            self.waveform.set_audio([], 1.0)
            self.curve.set_curve([], [], None, None, (45.0, 125.0))
            self._set_detail_enabled(False)
            return
        details = row.details()
        color = status_color(row.status).name()
        est = (
            "no estimate"
            if row.offset_ms is None
            else (
                f"{row.offset_ms:+.1f} ms ({row.offset_frames or 0:+.2f} f), "
                f"confidence {row.confidence:.0%}"
            )
        )
        self.detail_title.setText(
            f'<span style="font-size:13pt"><b>{html.escape(row.name)}</b></span> '
            f"&nbsp;{html.escape(row.record_tc)}&nbsp; sound <b>{html.escape(row.sound or '?')}</b>"
            f'<br><span style="color:{color}"><b>{row.status.replace("_", " ")}</b></span>: {est}'
            f" &nbsp;<i>{html.escape(row.method)}</i>"
        )
        self.message_label.setText(html.escape(row.message))
        blocks = rm.attention_blocks(details)
        curve = details.get("curve") or {}
        self._setting_offset = True
        start = row.decided_offset_ms if row.decided_offset_ms is not None else row.offset_ms
        self.offset_box.setValue(start or 0.0)
        self._setting_offset = False
        self._show_frames_label()
        self.curve.set_curve(
            curve.get("offset_ms") or [],
            curve.get("score") or [],
            row.offset_ms,
            row.decided_offset_ms,
            (row.early_ms, row.late_ms),
        )
        self.filmstrip.set_evidence([], [], blocks, row.rate, 1.0, "decoding…")
        self.attention.set_blocks(blocks, row.rate, 1.0)
        self.waveform.set_audio([], 1.0)
        for w in (self.filmstrip, self.attention, self.waveform):
            w.set_window(None)
            w.set_cursor(None)
        self._set_detail_enabled(True)
        can_play = row.analysable or row.offset_ms is not None
        self.accept_button.setEnabled(row.offset_ms is not None)
        for w in (self.play_a, self.play_b):
            w.setEnabled(can_play)
        if self.jobs is None:
            return
        jobs = self.jobs

        def work() -> Any:
            from otio_avsync.ui.media import load_evidence

            job = jobs.find(row)
            return job, load_evidence(job)

        self.worker.submit(
            "evidence", work, lambda res: self._evidence_loaded(row, *res), self._evidence_failed
        )

    def _evidence_failed(self, message: str) -> None:
        self.filmstrip.set_evidence([], [], [], 25.0, 1.0, f"cannot decode: {message}")
        self.evidence_ready.emit()

    def _evidence_loaded(self, row: Row, job: Any, ev: Any) -> None:
        if row is not self.current:
            return
        self.evidence = ev
        blocks = rm.attention_blocks(row.details())
        self.filmstrip.set_evidence(
            ev.frames, ev.frame_times, blocks, ev.fps, ev.span_s, ev.problem
        )
        self.attention.set_blocks(blocks, ev.fps, ev.span_s)
        self.waveform.set_audio(ev.audio, ev.span_s)
        if ev.problem:
            self.message_label.setText(
                html.escape(row.message) + f"<br><i>{html.escape(ev.problem)}</i>"
            )
        self._job = job
        if ev.frames:
            center = self._ab_center()
            near = min(range(len(ev.frames)), key=lambda i: abs(ev.frame_times[i] - center))
            self.player.show_still(rgb_image(ev.frames[near]))
        self.evidence_ready.emit()
        if job is not None and not ev.problem and job.sound:
            self._render_ab()

    def _ab_center(self) -> float:
        row, ev = self.current, self.evidence
        assert row is not None and ev is not None
        job = self._job
        start = job.span_start_s if job is not None else None
        return rm.strongest_evidence_s(row.details(), ev.fps, ev.span_s, start)

    def _render_ab(self) -> None:
        row, ev = self.current, self.evidence
        job = self._job
        if row is None or ev is None or job is None or job.clip is not row.clip:
            return
        offset = self.offset_box.value()
        center = self._ab_center()
        folder = self._tmp

        def work() -> Any:
            from otio_avsync.ui.media import render_ab

            return render_ab(job, offset, center, folder=folder)

        self.worker.submit("ab", work, lambda ab: self._ab_loaded(row, ab), self._ab_failed)

    def _ab_failed(self, message: str) -> None:
        self.statusBar().showMessage(f"cannot prepare A/B playback: {message}", 8000)

    def _ab_loaded(self, row: Row, ab: Any) -> None:
        if row is not self.current:
            return
        old = self.ab
        side = self.player.side if self.player.is_playing() else self._pending_play
        self.ab = ab
        self.player.set_clips(ab.as_is, ab.fixed)
        if old is not None:
            for p in (old.as_is, old.fixed):
                if p not in (ab.as_is, ab.fixed):
                    with contextlib.suppress(OSError):
                        p.unlink()
        for w in (self.filmstrip, self.attention, self.waveform):
            w.set_window((ab.start_s, ab.duration_s))
        self.ab_ready.emit()
        if side:
            self._pending_play = None
            self.player.play(side)

    def _on_play_position(self, seconds: float) -> None:
        if self.ab is None:
            return
        t = self.ab.start_s + seconds
        for w in (self.filmstrip, self.attention, self.waveform):
            w.set_cursor(t)

    # -- playback ----------------------------------------------------------------------------
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

    # -- decisions ---------------------------------------------------------------------------
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


__all__ = ["COLUMNS", "SHORTCUTS", "ReviewWindow", "RowTableModel"]
