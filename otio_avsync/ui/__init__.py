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

_INSTALL_HINT = (
    "install it with the package's [review] extra "
    "(pip install PySide6-Essentials==6.11.3 PySide6-Addons==6.11.3)"
)


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
    problem = display_problem()
    if problem:
        raise AvsyncError(problem)


#: What Qt's X11 platform plugin needs beyond a desktop's usual libraries (Debian names).
XCB_PACKAGES = (
    "libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 "
    "libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0"
)


def _platform() -> str:
    return os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip()


def display_problem() -> str | None:
    """Why Qt would abort the process on this display (None: it should open).

    Qt aborts (exit 134) when the platform plugin is unknown, cannot load its
    libraries, or finds no X server; these are checked first and said in a sentence.
    """
    import PySide6

    plugins = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms"
    names = sorted(p.name.split(".")[0].removeprefix("libq") for p in plugins.glob("libq*"))
    platform = _platform()
    if platform and names and platform not in names:
        return (
            f"QT_QPA_PLATFORM={platform} is not a Qt platform plugin here; "
            f"use one of {', '.join(names)}"
        )
    x11 = platform == "xcb" or (not platform and not os.environ.get("WAYLAND_DISPLAY"))
    if not (sys.platform.startswith("linux") and x11 and os.environ.get("DISPLAY")):
        return None
    xcb = plugins / "libqxcb.so"
    if xcb.exists():
        import ctypes

        try:
            ctypes.CDLL(str(xcb))
        except OSError as exc:
            missing = str(exc).split(":")[0]
            return (
                f"Qt's X11 plugin cannot load {missing}; install the X11 libraries Qt needs "
                f"(Debian/Ubuntu: apt-get install {XCB_PACKAGES})"
            )
    display = os.environ["DISPLAY"]
    if not x_server_answers(display):
        return (
            f"no X server answers on DISPLAY={display}; start one (or use the desktop's "
            "DISPLAY), or set QT_QPA_PLATFORM=offscreen for scripts"
        )
    return None


def x_server_answers(display: str, timeout_s: float = 2.0) -> bool:
    """True when something listens where ``display`` (``:0``, ``host:10.0``) points."""
    import socket

    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return False
    if host in ("", "unix") or host.endswith("/unix"):
        path = f"/tmp/.X11-unix/X{number}"
        for address in (path, "\0" + path):  # the file, then Linux's abstract socket
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout_s)
                try:
                    sock.connect(address)
                    return True
                except OSError:
                    continue
        return False
    try:
        with socket.create_connection((host, 6000 + int(number)), timeout=timeout_s):
            return True
    except OSError:
        return False


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
    # Offscreen nobody can click a dialog away: a file that cannot be opened is exit 2.
    unattended = _platform() in ("offscreen", "minimal")
    window = ReviewWindow(None, interactive=not unattended)
    if path is not None:
        if unattended:

            def cannot_open(message: str) -> None:
                print(f"otio-avsync review: {message}", file=sys.stderr)
                app.exit(2)

            window.failed.connect(cannot_open)
            window.loaded.connect(lambda: window.failed.disconnect(cannot_open))
        window.open_timeline(path)
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
