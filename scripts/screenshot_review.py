"""Screenshot of the review panel on the demo timeline, for the README.

    python scripts/screenshot_review.py [-o docs/review.png] [--estimator attention]

Generates the demo timeline (as ``otio-avsync demo`` does) in a temporary folder,
audits it, opens the review panel offscreen, selects a flagged clip, waits for
its evidence and A/B clips, and saves a PNG of the window.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]


def wait(signal_or_test, ms: int = 120000) -> bool:
    """Run the event loop until a signal fires (or a callable returns true), or ms pass."""
    import time

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    if callable(signal_or_test) and not hasattr(signal_or_test, "connect"):
        end = time.monotonic() + ms / 1000
        while not signal_or_test():
            if time.monotonic() > end:
                return False
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            time.sleep(0.02)
        return True
    loop = QEventLoop()
    fired = []
    signal_or_test.connect(lambda *a: (fired.append(1), loop.quit()))
    QTimer.singleShot(ms, loop.quit)
    loop.exec()
    return bool(fired)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "review.png")
    ap.add_argument("--estimator", default="attention", help="estimator for the audit")
    ap.add_argument("--clip", help="clip to select (default: the first out-of-sync one)")
    ap.add_argument("--size", default="1500x900", help="window size, WxH")
    args = ap.parse_args()

    from otio_avsync.audit import AuditOptions, audit_timeline
    from otio_avsync.testmedia import make_demo
    from otio_avsync.timeline_io import read_timeline, write_timeline

    folder = Path(tempfile.mkdtemp(prefix="avsync-review-shot-"))
    print(f"demo timeline in {folder}", file=sys.stderr)
    truth = make_demo(folder)
    tl = read_timeline(truth.path)
    audit_timeline(tl, AuditOptions(estimator=args.estimator), base_dir=truth.path.parent)
    annotated = truth.path.with_name(truth.path.stem + ".avsync.otio")
    write_timeline(tl, annotated, protect=[truth.path])

    from PySide6.QtWidgets import QApplication

    from otio_avsync.ui.window import ReviewWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    window = ReviewWindow(interactive=False)
    w, h = (int(v) for v in args.size.lower().split("x"))
    window.resize(w, h)
    window.show()
    window.open_timeline(annotated)
    if not wait(window.loaded):
        print(f"the timeline did not open: {window.last_error}", file=sys.stderr)
        return 1
    wait(lambda: window.current is not None, 5000)
    flagged = [r for r in window.rows if r.status == "out_of_sync"] or window.rows
    if len(flagged) > 1:  # show a decision in the table: accept the last flagged clip
        window.select_row(flagged[-1])
        window.accept_current()
    row = window.select_row(args.clip or flagged[0])
    wait(lambda: window.evidence is not None and window.current is row)
    wait(lambda: window.ab is not None, 60000)
    if window.play("B"):  # a frame of the "after the fix" clip in the picture box
        wait(lambda: window.player.is_playing(), 10000)
        wait(lambda: False, 1200)
        window.player.player.pause()
    app.processEvents()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(args.output)):
        print(f"cannot write {args.output}", file=sys.stderr)
        return 1
    print(f"wrote {args.output} ({row.label()})", file=sys.stderr)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
