"""Time-to-table of the review panel on a large annotated timeline.

    python bench/bench_review.py [--clips 1000] [--languages eng] [--repeat 3]

Builds a synthetic annotated timeline (``otio_avsync.ui.synthetic``: the
metadata an audit writes, curves, windows and attention maps included, without
media), writes it as .otio (cached in bench/out/), then opens it in the review
window offscreen and measures, from the open call: the table filled (the
``loaded`` signal) and the first paint of the window after it. Also times the
Qt-free part alone (reading the file and building the rows). The goal: a
1,000-clip timeline shows its table within 2 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

OUT = Path(__file__).resolve().parent / "out"


def build(clips: int, languages: tuple[str, ...]) -> Path:
    import opentimelineio as otio

    from otio_avsync.ui.synthetic import annotated_timeline

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"review_{clips}_{'-'.join(languages)}.avsync.otio"
    if not path.exists():
        t0 = time.perf_counter()
        tl = annotated_timeline(clips, languages=languages)
        tmp = path.with_suffix(".tmp.otio")
        otio.adapters.write_to_file(tl, str(tmp))
        tmp.replace(path)
        print(f"built {path.name} in {time.perf_counter() - t0:.1f} s")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", type=int, default=1000)
    ap.add_argument("--languages", default="eng", help="comma-separated, one sound track each")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    languages = tuple(x.strip() for x in args.languages.split(",") if x.strip())
    path = build(args.clips, languages)
    size_mb = path.stat().st_size / 1e6

    from otio_avsync.ui import model as rm

    qt_free = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        _, rows, _ = rm.open_timeline(path)
        qt_free.append(time.perf_counter() - t0)

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    t0 = time.perf_counter()
    from otio_avsync.ui.window import ReviewWindow

    window = ReviewWindow(interactive=False)
    window.show()
    app.processEvents()
    startup = time.perf_counter() - t0

    to_table, to_paint = [], []
    for _ in range(args.repeat):
        loop = QEventLoop()
        window.loaded.connect(loop.quit)
        QTimer.singleShot(60000, loop.quit)
        t0 = time.perf_counter()
        window.open_timeline(path)
        loop.exec()
        window.loaded.disconnect(loop.quit)
        to_table.append(time.perf_counter() - t0)
        window.table.viewport().repaint()
        window.repaint()
        to_paint.append(time.perf_counter() - t0)
        assert window.table_model.rowCount() == len(rows), "the table is not filled"
        # let the selected clip's background work finish before the next run
        end = time.perf_counter() + 60
        while window.worker.busy() and time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.01)
    window.close()

    print(
        f"timeline: {args.clips} picture clips x {len(languages)} sound(s) = {len(rows)} rows, "
        f"{size_mb:.1f} MB .otio"
    )
    print(f"read + rows (no Qt):        median {statistics.median(qt_free):.2f} s")
    print(f"window start-up:            {startup:.2f} s (QApplication exists; not in the figures)")
    print(
        f"open -> table filled:       median {statistics.median(to_table):.2f} s "
        f"(runs: {', '.join(f'{v:.2f}' for v in to_table)})"
    )
    print(
        f"open -> first paint:        median {statistics.median(to_paint):.2f} s "
        f"(runs: {', '.join(f'{v:.2f}' for v in to_paint)}; goal: within 2 s)"
    )


if __name__ == "__main__":
    main()
