"""The review panel: a Qt window for editors to review flagged clips and decide.

``otio-avsync review ANNOTATED.otio`` or ``python -m otio_avsync.ui``. The
data layer (:mod:`otio_avsync.ui.model`, :mod:`otio_avsync.ui.media`)
needs no Qt; PySide6 (the ``review`` extra) is imported only when a window
opens, so importing this package, the CLI or the OTIO plugin never loads Qt.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from otio_avsync.errors import AvsyncError

__all__ = ["main", "run_review"]

_INSTALL_HINT = "install it with: pip install 'otio-avsync[review]'"


def _require_qt() -> None:
    try:
        import PySide6  # noqa: F401
    except ImportError:
        raise AvsyncError(f"the review panel needs PySide6; {_INSTALL_HINT}") from None
    # Without a screen Qt aborts the process; say so instead (Linux and BSD only:
    # macOS and Windows always have their native platform).
    headless = sys.platform.startswith(("linux", "freebsd")) and not any(
        os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    )
    if headless:
        raise AvsyncError(
            "no display to open the review panel on (neither DISPLAY nor WAYLAND_DISPLAY "
            "is set); run it on a desktop, or set QT_QPA_PLATFORM=offscreen for scripts"
        )


def run_review(path: str | os.PathLike | None = None, *, argv: list[str] | None = None) -> int:
    """run_review(path=None) -> exit status: open the panel (on ``path``) and run until closed."""
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise AvsyncError(f"timeline not found: {p}")
        if p.is_dir():
            raise AvsyncError(f"{p} is a folder, not a timeline file")
    _require_qt()
    from PySide6.QtWidgets import QApplication

    from otio_avsync.ui.window import ReviewWindow

    app = QApplication.instance() or QApplication(argv or [sys.argv[0]])
    app.setApplicationName("otio-avsync review")
    window = ReviewWindow(path)
    window.show()
    try:
        return int(app.exec())
    finally:
        window.close()  # stops playback and the workers, removes the A/B clips


def main(argv: list[str] | None = None) -> int:
    """``python -m otio_avsync.ui [ANNOTATED.otio]``: user errors as one line, status 2."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m otio_avsync.ui",
        description="Review the sync results of an annotated timeline and decide per clip.",
    )
    parser.add_argument("timeline", nargs="?", help="an annotated timeline (.otio)")
    args = parser.parse_args(argv)
    try:
        return run_review(args.timeline)
    except AvsyncError as exc:
        print(f"otio-avsync review: {exc}", file=sys.stderr)
        return 2
