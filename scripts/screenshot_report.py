"""Screenshot of the HTML report on the demo timeline, for the README.

    python scripts/screenshot_report.py [-o docs/report.png] [--size 1300,1500]

Generates and audits the demo timeline (as ``otio-avsync demo`` does) in a
temporary folder, with one review decision, writes the HTML report and renders it
in headless Chromium (Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout, not an installed copy
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--no-first-run", "--hide-scrollbars",
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "report.png")
    ap.add_argument("--size", default="1300,1500", help="window size, W,H")
    ap.add_argument("--estimator", default="attention")
    args = ap.parse_args()
    chromium = shutil.which("chromium") or shutil.which("google-chrome")
    if chromium is None:
        print("no chromium: apt-get install chromium", file=sys.stderr)
        return 2

    from otio_avsync.audit import AuditOptions, audit_timeline
    from otio_avsync.report import context_from_timeline, write_report
    from otio_avsync.testmedia import make_demo
    from otio_avsync.timeline_io import read_timeline
    from otio_avsync.ui import model as rm

    folder = Path(tempfile.mkdtemp(prefix="avsync-report-shot-"))
    truth = make_demo(folder)
    tl = read_timeline(truth.path)
    result = audit_timeline(
        tl, AuditOptions(estimator=args.estimator, thumbnails=True), base_dir=folder
    )
    rows = [r for r in rm.load_rows(tl) if r.status == "out_of_sync"]
    if rows:
        rm.set_decision(rows[0], "accept")
    html = folder / "report.html"
    write_report(result.results, "html", html, title=tl.name or "demo",
                 context=context_from_timeline(tl))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [chromium, *FLAGS, f"--user-data-dir={profile}", f"--window-size={args.size}",
             f"--screenshot={args.output.resolve()}", html.as_uri()],
            check=True, capture_output=True, timeout=120,
        )
    print(f"report: {html}\nscreenshot: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
