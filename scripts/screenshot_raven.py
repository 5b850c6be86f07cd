"""Screenshot of Raven showing an audited demo timeline, for the README.

    python scripts/screenshot_raven.py [--raven PATH] [-o docs/raven.png]

Raven (``pip install opentimelineio-raven``, best in a venv of its own) needs an X
display: this starts Xvfb (Debian: ``apt-get install xvfb``), opens the demo's
``demo.avsync.otio`` (made here with ``otio-avsync demo``), grabs the screen with
Pillow and crops it to Raven's window. Not part of the tests: CI does not need Raven.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout, not an installed copy


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--raven", default=shutil.which("raven"), help="the raven executable")
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "raven.png")
    ap.add_argument("--display", default=":77")
    args = ap.parse_args()
    if not args.raven or not shutil.which("Xvfb"):
        print("needs raven (pip install opentimelineio-raven) and Xvfb", file=sys.stderr)
        return 2
    from PIL import ImageGrab

    folder = Path(tempfile.mkdtemp(prefix="avsync-raven-shot-"))
    subprocess.run(
        [sys.executable, "-m", "otio_avsync", "demo", "--dir", str(folder)],
        check=True, capture_output=True, cwd=ROOT,
    )
    xvfb = subprocess.Popen(["Xvfb", args.display, "-screen", "0", "1600x1000x24"])
    raven = None
    try:
        time.sleep(2)
        env = {"DISPLAY": args.display, "PATH": "/usr/bin:/bin"}
        timeline = str(folder / "demo.avsync.otio")
        raven = subprocess.Popen([args.raven, timeline], env=env, cwd=folder)
        time.sleep(6)
        shot = ImageGrab.grab(xdisplay=args.display)
        box = shot.convert("L").point(lambda v: 255 if v > 8 else 0).getbbox()
        args.output.parent.mkdir(parents=True, exist_ok=True)
        (shot.crop(box) if box else shot).save(args.output)
    finally:
        for proc in (raven, xvfb):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=10)
    print(f"screenshot: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
