"""The review window's clip table: columns, Qt model, sorting proxy, filter bar, selection.

:class:`RowTableModel` shows the rows of :mod:`otio_avsync.ui.model`;
:class:`RowFilterProxy` sorts them by :data:`SORT_ROLE` and filters them with a
:class:`~otio_avsync.ui.model.RowFilter`. :class:`ClipTableMixin` is the part of
:class:`~otio_avsync.ui.window.ReviewWindow` that builds the filter bar and the
table, and moves the selection through them.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
)

from otio_avsync.metadata import finite
from otio_avsync.ui import model as rm
from otio_avsync.ui.model import Row, RowFilter
from otio_avsync.ui.widgets import DECISION_COLORS, status_color

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


class ClipTableMixin:
    """The review window's filter bar and table, and the selection that walks them.

    Mixed into :class:`~otio_avsync.ui.window.ReviewWindow`; uses its ``rows`` and
    ``current``, and shows the selected row with ``_show_row``.
    """

    rows: list[Row]
    current: Row | None

    # -- building ------------------------------------------------------------------------
    def _build_filter_bar(self) -> QHBoxLayout:
        """Flagged / undecided only, sound, language, search, and the count shown."""
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
        for w in (self.flagged_box, self.undecided_box):
            w.toggled.connect(self._apply_filter)
        for c in (self.sound_combo, self.lang_combo):
            c.currentIndexChanged.connect(self._apply_filter)
        self.search.textChanged.connect(self._apply_filter)
        return bar

    def _build_table(self) -> QTableView:
        """The sortable, single-selection clip table over :class:`RowFilterProxy`."""
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
        return self.table

    # -- filters -------------------------------------------------------------------------
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

    def _focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    # -- selection -----------------------------------------------------------------------
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

    def _select_first(self) -> None:
        if self.current is not None:
            return
        first = next((i for i in range(self.proxy.rowCount()) if self._row_at(i).flagged), 0)
        if self.proxy.rowCount():
            self._select_proxy_row(first)
        else:
            self._show_row(None)

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

    def _on_current(self, current: QModelIndex, previous: QModelIndex) -> None:
        if not current.isValid():
            return
        row = self.rows[self.proxy.mapToSource(current).row()]
        if row is not self.current:
            self._show_row(row)
