"""The review window's evidence pane: the selected clip's title, frames, attention, sound, curve.

:class:`EvidencePaneMixin` is the part of :class:`~otio_avsync.ui.window.ReviewWindow`
that builds the detail pane and shows a row in it: the metadata at once, then the
evidence (frames, sound) decoded on the worker pool, then its A/B clips encoded
there too, so that selecting a clip never waits on media.
"""

from __future__ import annotations

import contextlib
import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from otio_avsync.ui import model as rm
from otio_avsync.ui.model import Row
from otio_avsync.ui.player import ABPlayer
from otio_avsync.ui.widgets import (
    AttentionView,
    CurveView,
    FilmstripView,
    WaveformView,
    rgb_image,
    status_color,
)
from otio_avsync.ui.worker import Worker


def _rich_label(text: str) -> QLabel:
    """A word-wrapped label that renders rich text (summaries, clip titles)."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    return label


def _title_html(row: Row) -> str:
    """The detail pane's heading: clip, record timecode, sound, status and estimate."""
    color = status_color(row.status).name()
    est = (
        "no estimate"
        if row.offset_ms is None
        else (
            f"{row.offset_ms:+.1f} ms ({row.offset_frames or 0:+.2f} f), "
            f"confidence {row.confidence:.0%}"
        )
    )
    return (
        f'<span style="font-size:13pt"><b>{html.escape(row.name)}</b></span> '
        f"&nbsp;{html.escape(row.record_tc)}&nbsp; sound <b>{html.escape(row.sound or '?')}</b>"
        f'<br><span style="color:{color}"><b>{row.status.replace("_", " ")}</b></span>: {est}'
        f" &nbsp;<i>{html.escape(row.method)}</i>"
    )


class EvidencePaneMixin:
    """The detail pane of the review window and the loading of its media.

    Mixed into :class:`~otio_avsync.ui.window.ReviewWindow`; uses its ``worker``,
    ``player``, ``jobs``, the offset box and buttons of
    :class:`~otio_avsync.ui.decisions.DecisionMixin`, and emits its ``evidence_ready``
    and ``ab_ready`` signals.
    """

    current: Row | None
    evidence: Any
    ab: Any
    jobs: Any
    worker: Worker
    player: ABPlayer
    _job: Any
    _tmp: Path
    _pending_play: str | None
    _setting_offset: bool
    _ab_timer: QTimer

    # -- building ------------------------------------------------------------------------
    def _build_detail(self) -> QWidget:
        """Title, filmstrip, attention, waveform, curve, the decision bar and playback."""
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
        dl.addLayout(self._build_decide_bar())
        dl.addLayout(self._build_playback())
        dl.addStretch(1)
        return detail

    def _build_playback(self) -> QHBoxLayout:
        """The picture with the A/B buttons under it, and the clip's message beside it."""
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
        return lower

    def toggle_attention(self) -> None:
        """Show or hide the model's attention over the filmstrip (key H)."""
        self.filmstrip.show_attention = not self.filmstrip.show_attention
        self.overlay_action.setChecked(self.filmstrip.show_attention)
        self.filmstrip.update()

    # -- showing a row -------------------------------------------------------------------
    def _clear_detail(self) -> None:
        self.detail_title.setText("")
        self.message_label.setText("")
        self.filmstrip.set_evidence([], [], [], 25.0, 1.0, "no clip selected")
        self.attention.set_blocks([], 25.0, 1.0)
        self.waveform.set_audio([], 1.0)
        self.curve.set_curve([], [], None, None, (45.0, 125.0))
        self._set_detail_enabled(False)

    def _show_row(self, row: Row | None) -> None:
        self.current = row
        self._job = None
        self.player.set_clips(None, None)
        self.player.show_still(None)
        self.ab = None
        self.evidence = None
        self._pending_play = None
        if row is None:
            self._clear_detail()
            return
        details = row.details()
        self.detail_title.setText(_title_html(row))
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
        self._load_evidence(row)

    # -- evidence and A/B clips, off the UI thread ---------------------------------------
    def _load_evidence(self, row: Row) -> None:
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
