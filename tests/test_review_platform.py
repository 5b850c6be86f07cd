"""The review panel where Qt would abort or hang, and how the window reads.

A display that does not answer, an unknown platform plugin and, offscreen, a file
that cannot be opened are each one sentence and exit 2 (Qt aborts with 134, or
waits on a dialog nobody can click). No audio device is said in the window.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]

try:
    import PySide6  # noqa: F401
    import pytestqt  # noqa: F401

    HAS_QT = True
except ImportError:
    HAS_QT = False
needs_qt = pytest.mark.skipif(not HAS_QT, reason="the review panel needs PySide6 and pytest-qt")


def _review(path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.run(
        [sys.executable, "-m", "otio_avsync.ui", str(path)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={**clean, "PYTHONPATH": str(ROOT), **env},
    )


@pytest.fixture
def bad_json(tmp_path: Path) -> Path:
    path = tmp_path / "broken.otio"
    path.write_text('{"OTIO_SCHEMA": "Timeline.1", "tracks": [')
    return path


@needs_qt
def test_display_without_a_server_is_a_sentence_not_an_abort(bad_json: Path) -> None:
    run = _review(bad_json, DISPLAY=":987")
    assert run.returncode == 2, (run.returncode, run.stderr)
    assert "DISPLAY=:987" in run.stderr or "X11" in run.stderr
    assert "Aborted" not in run.stderr and "Traceback" not in run.stderr


@needs_qt
def test_unknown_platform_plugin_is_a_sentence(bad_json: Path) -> None:
    run = _review(bad_json, QT_QPA_PLATFORM="nonsense")
    assert run.returncode == 2 and "QT_QPA_PLATFORM=nonsense" in run.stderr and "offscreen" in run.stderr


@needs_qt
def test_unreadable_file_offscreen_exits_2_instead_of_waiting_on_a_dialog(bad_json: Path) -> None:
    run = _review(bad_json, QT_QPA_PLATFORM="offscreen")
    assert run.returncode == 2, run.stderr
    assert "Cannot open" in run.stderr and "JSON" in run.stderr


def test_x_server_probe() -> None:
    from otio_avsync.ui import x_server_answers

    assert not x_server_answers(":987")
    assert not x_server_answers("nonsense")


@needs_qt
def test_shortcut_list_is_a_table() -> None:
    from otio_avsync.ui.window import SHORTCUTS, shortcuts_html

    page = shortcuts_html()
    assert page.count("<tr>") == len(SHORTCUTS) and page.startswith("<table")
    assert "<b>Ctrl+Shift+S</b>" in page and "attention overlay" in page


@needs_qt
def test_no_audio_device_is_said_in_the_window(qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6 import QtMultimedia

    from otio_avsync.ui.window import ReviewWindow

    monkeypatch.setattr(QtMultimedia.QMediaDevices, "audioOutputs", staticmethod(lambda: []))
    w = ReviewWindow(interactive=False)
    qtbot.addWidget(w)
    assert "no audio device" in w.player_problem.text()
    assert w.player_problem.isVisibleTo(w)
    w.close()


@needs_qt
def test_attention_overlay_is_light_and_can_be_switched_off(qtbot) -> None:
    from otio_avsync.ui.widgets import heat_image
    from otio_avsync.ui.window import ReviewWindow

    full = heat_image(np.ones((4, 4), np.float32))
    assert full.pixelColor(0, 0).alpha() <= 120  # a tint, not paint
    w = ReviewWindow(interactive=False)
    qtbot.addWidget(w)
    w.resize(1400, 800)
    w.show()
    frame = np.full((72, 128, 3), 128, np.uint8)
    blocks = [{"start_s": 0.0, "frames": 100, "map": np.linspace(0, 1, 64, dtype=np.float32).reshape(4, 16)}]
    w.filmstrip.set_evidence([frame] * 4, [0.1, 0.5, 1.0, 1.5], blocks, 25.0, 2.0)

    def grab() -> np.ndarray:
        img = w.filmstrip.grab().toImage().convertToFormat(w.filmstrip.grab().toImage().Format.Format_RGB888)
        ptr = img.constBits()
        rows = np.frombuffer(ptr, np.uint8, img.sizeInBytes()).reshape(img.height(), img.bytesPerLine())
        return rows[:, : img.width() * 3].reshape(img.height(), img.width(), 3).copy()

    on = grab()
    w.toggle_attention()
    assert not w.filmstrip.show_attention and not w.overlay_action.isChecked()
    off = grab()
    assert np.abs(on.astype(int) - off.astype(int)).max() > 30  # the overlay shows ...
    def grey(img: np.ndarray) -> float:
        return float(np.mean(np.all(np.abs(img.astype(int) - 128) <= 3, axis=-1)))

    assert grey(off) > grey(on) + 0.05  # ... and without it the frames are untouched
    w.close()


@needs_qt
def test_missing_xcb_libraries_are_named_with_the_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Qt's own message names xcb-cursor0 whatever is missing; the probe names the real one."""
    import ctypes

    from otio_avsync import ui

    def cdll(path: str, *a, **k):
        raise OSError("libxcb-icccm.so.4: cannot open shared object file: No such file or directory")

    monkeypatch.setattr(ctypes, "CDLL", cdll)
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    problem = ui.display_problem()
    assert problem is not None and "libxcb-icccm.so.4" in problem
    assert "apt-get install" in problem and "libxcb-icccm4" in problem and "libxcb-keysyms1" in problem
