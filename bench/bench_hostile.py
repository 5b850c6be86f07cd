"""Run the whole hostile-input corpus and print: cases, handled cleanly, defects.

    python bench/bench_hostile.py [--keep DIR] [-k SUBSTRING]

The cases live in ``tests/hostile_cases.py`` (media generated, no downloads); a
case is handled cleanly when its exit status is right, nothing prints a traceback,
the message says what happened, inputs are unchanged, no stray file is left and
no damaged or unknown clip gets a confident verdict. Exit status 1 on any defect.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
# The tests' plugin set-up, before OTIO is imported: this checkout's manifest, the installed
# adapters' manifests, no entry points (so an installed copy cannot add the hook twice).
import conftest  # noqa: E402, F401


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="Work in this folder and keep it.")
    parser.add_argument("-k", default="", help="Only cases whose name contains this.")
    args = parser.parse_args()

    from hostile_cases import CASES
    from hostile_corpus import execute, make_kit

    work = args.keep or Path(tempfile.mkdtemp(prefix="avsync-hostile-"))
    t0 = time.perf_counter()
    kit = make_kit(work / "kit")
    print(f"media generated in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    cases = [c for c in CASES if args.k in c.name]
    defects = []
    for i, case in enumerate(cases):
        outcome = execute(case, kit, work / "cases" / f"{i:03d}-{case.name}")
        mark = "ok " if outcome.clean else "BAD"
        print(
            f"{mark} {case.name:<34} rc={outcome.run.rc if outcome.run else '-':<4} "
            f"{outcome.seconds:5.1f} s",
            file=sys.stderr,
        )
        if not outcome.clean:
            defects.append(outcome)
            for p in outcome.problems:
                print(f"      {p}", file=sys.stderr)
    print(f"cases: {len(cases)}")
    print(f"handled cleanly: {len(cases) - len(defects)}")
    print(f"defects: {len(defects)}")
    for d in defects:
        print(f"  {d.case.name}: {'; '.join(d.problems)}")
    print(f"total time: {time.perf_counter() - t0:.1f} s")
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 1 if defects else 0


if __name__ == "__main__":
    sys.exit(main())
