"""The review panel: its Qt-free data layer, and the window offscreen with pytest-qt.

Open, select, play (A/B, on whatever audio device there is: none is fine),
accept, reject, nudge, save, reopen and find the decisions. Skipped without
PySide6 (the ``review`` / ``test`` extras).
"""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

# Before any Qt import: no display on CI.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from otio_avsync import METADATA_KEY
from otio_avsync.ui import model as rm
from otio_avsync.ui.synthetic import annotated_timeline

ROOT = Path(__file__).resolve().parents[1]


# -- fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 picture clips, each checked against sync sound (eng) and a French dub."""
    import opentimelineio as otio

    path = tmp_path_factory.mktemp("review-syn") / "syn.avsync.otio"
    otio.adapters.write_to_file(annotated_timeline(40, languages=("eng", "fra"), seed=3), str(path))
    return path


@pytest.fixture(scope="module")
def media_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real two-clip timeline (the second clip's sound 4 frames late), audited with the baseline."""
    from otio_avsync.audit import AuditOptions, audit_timeline
    from otio_avsync.testmedia import make_slipped_timeline
    from otio_avsync.timeline_io import read_timeline, write_timeline

    folder = tmp_path_factory.mktemp("review-media")
    truth = make_slipped_timeline(folder, [0, 4], clip_s=3.0, handle_s=1.0, scene="flash")
    tl = read_timeline(truth.path)
    audit_timeline(tl, AuditOptions(estimator="baseline"), base_dir=truth.path.parent)
    out = truth.path.with_name("slipped.avsync.otio")
    write_timeline(tl, out)
    return out


# -- the data layer (no Qt) --------------------------------------------------------------


def test_importing_the_package_and_plugin_loads_no_qt() -> None:
    code = (
        "import sys, otio_avsync, otio_avsync.cli, otio_avsync.plugin, otio_avsync.ui, "
        "otio_avsync.ui.model, otio_avsync.ui.media; "
        "sys.exit(1 if any(m.startswith('PySide6') for m in sys.modules) else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_rows_filters_and_summary(synthetic_file: Path) -> None:
    _, rows, summary = rm.open_timeline(synthetic_file)
    assert len(rows) == 80  # 40 clips x 2 sounds
    first = rows[0]
    assert first.name == "shot_0001" and first.track == "V1"
    assert first.record_tc == "01:00:00:00"
    assert {r.language for r in rows} == {"eng", "fra"}
    assert {r.sound_key for r in rows} == {"A1", "dub-fra"}
    assert all(r.rate == 25.0 for r in rows)
    analysed = [r for r in rows if r.offset_ms is not None]
    assert analysed and all(abs(r.offset_frames - r.offset_ms * 0.025) < 0.01 for r in analysed)

    flagged = [r for r in rows if rm.RowFilter(flagged_only=True).matches(r)]
    assert flagged and all(r.status in ("out_of_sync", "uncertain") for r in flagged)
    fra = [r for r in rows if rm.RowFilter(language="fra").matches(r)]
    assert len(fra) == 40 and all(r.sound_key == "dub-fra" for r in fra)
    assert [r.name for r in rows if rm.RowFilter(text="shot_0007").matches(r)] == ["shot_0007"] * 2

    keys = [t.key for t in summary["tracks"]]
    assert keys == ["A1", "dub-fra"]
    assert summary["settings"]["estimator"] == "attention"
    assert sum(summary["counts"].values()) == 80
    assert "ms" in summary["tracks"][0].text() or "uncertain" in summary["tracks"][0].text()


def test_decisions_in_metadata_and_markers(synthetic_file: Path, tmp_path: Path) -> None:
    timeline, rows, _ = rm.open_timeline(synthetic_file)
    eng, fra = rows[0], rows[1]
    assert eng.clip is fra.clip and eng.source_index == 0 and fra.source_index == 1

    d = rm.set_decision(fra, "accept")
    assert d == {"action": "accept", "offset_ms": round(fra.offset_ms, 2), "source": "dub-fra"}
    meta = fra.clip.metadata[METADATA_KEY]
    assert meta["decision"]["action"] == "accept"
    assert meta["sources"][1]["decision"]["action"] == "accept"
    marker = next(m for m in fra.clip.markers if METADATA_KEY in m.metadata)
    assert marker.name.endswith(f"[accepted {fra.offset_ms:+.0f} ms]")
    assert "Review: estimate accepted for dub-fra" in marker.comment

    rm.set_decision(fra, "manual", 120.0)
    assert marker.name.endswith("[manual +120 ms]") and marker.name.count("[") == 1
    assert marker.comment.count("Review:") == 1
    rm.set_decision(eng, "reject")
    assert meta["decision"] == {"action": "reject", "offset_ms": None, "source": "A1"}
    assert meta["sources"][0]["decision"]["action"] == "reject"
    assert meta["sources"][1]["decision"]["offset_ms"] == 120.0

    with pytest.raises(ValueError):
        rm.set_decision(eng, "manual", float("nan"))
    with pytest.raises(ValueError):
        rm.set_decision(eng, "maybe")

    # a single-sound clip gets exactly {"action", "offset_ms"}
    single = annotated_timeline(3, seed=1)
    srow = next(r for r in rm.load_rows(single) if r.offset_ms is not None)
    assert rm.set_decision(srow, "accept") == {
        "action": "accept",
        "offset_ms": round(srow.offset_ms, 2),
    }
    rm.clear_decision(srow)
    assert "decision" not in srow.clip.metadata[METADATA_KEY]
    assert "[" not in next(m for m in srow.clip.markers if METADATA_KEY in m.metadata).name

    from otio_avsync.errors import TimelineError

    with pytest.raises(TimelineError, match="refusing to overwrite"):
        rm.save_timeline(timeline, synthetic_file, opened=synthetic_file)
    out = rm.save_timeline(timeline, tmp_path / "reviewed.otio", opened=synthetic_file)
    _, again, _ = rm.open_timeline(out)
    assert again[0].decision["action"] == "reject"
    assert again[1].decision == {"action": "manual", "offset_ms": 120.0}


def test_evidence_helpers() -> None:
    env = rm.waveform_envelope(np.sin(np.linspace(0, 20, 1000)), 10)
    assert env.shape == (10, 2) and np.all(env[:, 0] <= env[:, 1])
    m = rm.decode_map("00ff" * 16, (4, 8))
    assert m.shape == (4, 8) and m.max() == 1.0 and m.min() == 0.0
    assert rm.decode_map("zz", (4, 8)) is None
    details = {
        "attention": {
            "map_shape": [4, 8],
            "blocks": [
                {"start_s": 0.0, "frames": 25, "weight": 0.2},
                {"start_s": 1.0, "frames": 25, "weight": 1.5},
            ],
        }
    }
    assert rm.strongest_evidence_s(details, 25.0, 2.0) == pytest.approx(1.5)
    windows = {
        "windows": [
            {"start_s": 10.0, "duration_s": 2, "confidence": 0.2},
            {"start_s": 12.0, "duration_s": 2, "confidence": 0.9},
        ]
    }
    assert rm.strongest_evidence_s(windows, 25.0, 4.0, span_start_s=10.0) == pytest.approx(3.0)
    assert rm.strongest_evidence_s({}, 25.0, 4.0) == pytest.approx(2.0)


def test_ab_clips_shift_the_sound_by_the_offset(media_file: Path, tmp_path: Path) -> None:
    from otio_avsync.decode import read_audio
    from otio_avsync.ui.media import JobIndex, render_ab

    timeline, rows, summary = rm.open_timeline(media_file)
    row = next(r for r in rows if r.status == "out_of_sync")
    jobs = JobIndex(timeline, media_file.parent, summary["settings"])
    job = jobs.find(row)
    assert job is not None and job.clip is row.clip
    ab = render_ab(job, 160.0, 1.5, duration_s=2.0, folder=tmp_path)
    assert ab.as_is.is_file() and ab.fixed.is_file()
    rate = 8000
    a = read_audio(ab.as_is, 0.0, 2.0, rate=rate).samples
    b = read_audio(ab.fixed, 0.0, 2.0, rate=rate).samples
    ea, eb = np.abs(a), np.abs(b)
    lags = np.arange(-rate // 2, rate // 2)
    score = [
        np.dot(eb[max(0, -k) : len(eb) - max(0, k)], ea[max(0, k) : len(ea) - max(0, -k)])
        for k in lags
    ]
    lag_ms = lags[int(np.argmax(score))] * 1000 / rate
    # B[n] = A[n + offset]: the fixed sound is the timeline's sound 160 ms later
    assert lag_ms == pytest.approx(160.0, abs=3.0)


# -- the window (pytest-qt) --------------------------------------------------------------

try:  # PySide6 and its system libraries, and pytest-qt
    import pytestqt  # noqa: F401
    from PySide6 import QtWidgets  # noqa: F401

    HAS_QT = True
except ImportError:
    HAS_QT = False
needs_qt = pytest.mark.skipif(not HAS_QT, reason="the review panel needs PySide6 and pytest-qt")


@pytest.fixture
def window(qtbot):
    from otio_avsync.ui.window import ReviewWindow

    w = ReviewWindow(interactive=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    yield w
    w.close()


def _open(qtbot, window, path: Path) -> None:
    with qtbot.waitSignal(window.loaded, timeout=30000):
        window.open_timeline(path)
    qtbot.waitUntil(lambda: window.current is not None, timeout=5000)  # the first flagged clip


@needs_qt
def test_open_select_decide_with_keys_save_and_reopen(qtbot, window, synthetic_file, tmp_path):
    from PySide6.QtCore import Qt

    _open(qtbot, window, synthetic_file)
    assert window.table_model.rowCount() == 80
    assert window.proxy.rowCount() == 80
    assert window.current is not None and window.current.flagged  # the first flagged clip
    assert "Track consensus" in window.summary_label.text()
    assert "dub-fra" in window.summary_label.text()

    # filters: flagged only (F), per language, per sound
    qtbot.keyClick(window.table, Qt.Key.Key_F)
    assert window.flagged_box.isChecked()
    assert all(r.flagged for r in window.visible_rows())
    window.set_filter(flagged_only=False, language="fra")
    assert {r.language for r in window.visible_rows()} == {"fra"}
    window.set_filter(language="", sound="A1")
    assert {r.sound_key for r in window.visible_rows()} == {"A1"}
    window.set_filter(sound="")
    assert window.proxy.rowCount() == 80

    # sortable: by offset (column 7), descending
    window.table.sortByColumn(7, Qt.SortOrder.DescendingOrder)
    offsets = [r.offset_ms for r in window.visible_rows() if r.offset_ms is not None]
    assert offsets == sorted(offsets, reverse=True)

    # select, accept with A
    row = window.select_row(next(r for r in window.rows if r.status == "out_of_sync"))
    assert window.current is row
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_A)
    assert row.decision["action"] == "accept"
    assert row.decision["offset_ms"] == pytest.approx(row.offset_ms, abs=0.01)

    # nudge one frame later (]) = a manual decision 40 ms further
    qtbot.keyClick(window.table, Qt.Key.Key_BracketRight)
    assert row.decision["action"] == "manual"
    assert row.decision["offset_ms"] == pytest.approx(row.offset_ms + 40.0, abs=0.01)
    qtbot.keyClick(window.table, Qt.Key.Key_Comma)
    qtbot.keyClick(window.table, Qt.Key.Key_Comma)
    assert row.decision["offset_ms"] == pytest.approx(row.offset_ms - 40.0, abs=0.01)

    # type an exact offset: E, digits, Enter
    qtbot.keyClick(window.table, Qt.Key.Key_E)
    assert window.offset_box.hasFocus()
    window.offset_box.lineEdit().selectAll()
    qtbot.keyClicks(window.offset_box.lineEdit(), "85.5")
    qtbot.keyClick(window.offset_box, Qt.Key.Key_Return)
    assert row.decision == {"action": "manual", "offset_ms": 85.5, "source": row.sound_key}
    assert window.dirty and window.windowTitle().endswith("*")

    # reject another clip with R
    other = window.select_row(next(r for r in window.rows if r.status == "uncertain"))
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_R)
    assert other.decision["action"] == "reject" and other.decision["offset_ms"] is None

    # the table shows the decisions
    from otio_avsync.ui.window import COLUMNS

    col = [c[0] for c in COLUMNS]
    idx = window.proxy.mapFromSource(window.table_model.index(other.index, col.index("decision")))
    assert window.proxy.data(idx) == "rejected"

    # undecided only hides decided clips
    window.set_filter(undecided_only=True)
    assert all(r.decision is None for r in window.visible_rows())
    window.set_filter(undecided_only=False)

    # save: never over the opened file, unless asked
    assert window.save_as(synthetic_file) is None
    assert "refusing to overwrite" in window.last_error
    out = window.save_as(tmp_path / "reviewed.otio")
    assert out is not None and out.is_file() and not window.dirty

    # reopen (in a new window too) and find the decisions
    _, again, _ = rm.open_timeline(out)
    by_key = {(r.name, r.sound_key): r for r in again}
    assert by_key[(row.name, row.sound_key)].decision["offset_ms"] == 85.5
    assert by_key[(other.name, other.sound_key)].decision["action"] == "reject"
    _open(qtbot, window, out)
    reopened = next(r for r in window.rows if (r.name, r.sound_key) == (row.name, row.sound_key))
    assert reopened.decision["action"] == "manual"
    window.select_row(reopened)
    assert window.offset_box.value() == pytest.approx(85.5)
    assert window.curve.chosen == pytest.approx(85.5)


@needs_qt
def test_play_a_and_b_then_switch(qtbot, window, media_file):
    _open(qtbot, window, media_file)
    row = window.current
    assert row is not None and row.status == "out_of_sync"
    qtbot.waitUntil(lambda: window.ab is not None, timeout=60000)
    assert len(window.evidence.frames) == 8 and len(window.evidence.audio) > 0
    assert window.filmstrip.frames and len(window.waveform.audio)
    assert window.ab.as_is.is_file() and window.ab.fixed.is_file()
    assert window.ab.offset_ms == pytest.approx(row.offset_ms, abs=0.1)
    if not window.player.available:
        pytest.skip(window.player.problem)
    assert window.play("B")
    qtbot.waitUntil(window.player.is_playing, timeout=10000)
    assert window.player.side == "B"
    window.switch()
    assert window.player.side == "A"
    qtbot.waitUntil(window.player.is_playing, timeout=10000)
    window.toggle_play()
    assert not window.player.is_playing()

    # a nudge re-renders B for the new offset
    before = window.ab
    window.nudge(+1)
    qtbot.waitUntil(lambda: window.ab is not before, timeout=60000)
    assert window.ab.offset_ms == pytest.approx(row.offset_ms + 40.0, abs=0.1)


@needs_qt
def test_apply_fixes_calls_the_fix(qtbot, window, synthetic_file, monkeypatch):
    _open(qtbot, window, synthetic_file)
    monkeypatch.setitem(sys.modules, "otio_avsync.fix", None)  # not installed: ImportError
    assert window.apply_fixes() is None
    assert "fix is not available" in window.last_error

    calls = []
    fake = types.ModuleType("otio_avsync.fix")

    def apply_fixes(timeline, force=False):
        calls.append((timeline, force))
        return ["one change"]

    fake.apply_fixes = apply_fixes
    monkeypatch.setitem(sys.modules, "otio_avsync.fix", fake)
    assert window.apply_fixes() == ["one change"]
    assert calls == [(window.timeline, False)]
    assert window.dirty

    def broken(timeline, force=False):
        raise RuntimeError("nothing decided")

    fake.apply_fixes = broken
    assert window.apply_fixes() is None
    assert "nothing decided" in window.last_error


@needs_qt
def test_apply_fixes_for_real(qtbot, window, media_file, tmp_path):
    pytest.importorskip("otio_avsync.fix")
    _open(qtbot, window, media_file)
    row = window.current
    assert row.status == "out_of_sync"
    sound = next(c for c in window.timeline.tracks[1].find_clips() if c.name == row.name)
    before = sound.source_range.start_time.to_seconds()
    window.manual_current(160.0)
    report = window.apply_fixes()
    assert [e.clip for e in report.slipped] == [row.name]
    assert sound.source_range.start_time.to_seconds() - before == pytest.approx(0.16, abs=0.021)
    assert "slipped" in window.statusBar().currentMessage()
    out = window.save_as(tmp_path / "fixed.otio")
    _, again, _ = rm.open_timeline(out)
    assert next(r for r in again if r.name == row.name).decision["offset_ms"] == 160.0


@needs_qt
def test_cli_review_command() -> None:
    from click.testing import CliRunner

    from otio_avsync.cli import main

    result = CliRunner().invoke(main, ["review", "--help"])
    assert result.exit_code == 0 and "review panel" in result.output
    result = CliRunner().invoke(main, ["review", "/no/such/file.otio"])
    assert result.exit_code == 2
    done = subprocess.run(
        [sys.executable, "-m", "otio_avsync.ui", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "annotated timeline" in done.stdout
