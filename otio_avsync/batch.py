"""Many timelines in one audit: a season's episodes, or a folder of reels.

``otio-avsync audit A.otio B.otio ... --out-dir DIR`` reads every timeline,
runs all their jobs through one executor (one pool of workers, one cache), then
writes per timeline the annotated copy ``DIR/<stem>.avsync.otio`` and reports
``DIR/<stem>.report.<fmt>``, and one combined report over all (``DIR/report.<fmt>``,
or the ``--report`` paths). Every file is written atomically; a timeline that
cannot be read is reported and skipped, and the exit status covers all of them.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import io
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import opentimelineio as otio

from otio_avsync import __version__
from otio_avsync.errors import AvsyncError
from otio_avsync.results import EXIT_FLAGGED, EXIT_OK, EXIT_UNCHECKED
from otio_avsync.results import EXIT_USAGE as EXIT_BAD_INPUT

#: Our own outputs, skipped when a folder is audited.
OUTPUT_SUFFIX = ".avsync.otio"


@dataclass
class Entry:
    """One input timeline: where it came from, its working copy, its result."""

    path: Path
    stem: str
    timeline: Any = None
    result: Any = None
    error: str | None = None


def expand_inputs(paths: list[Path]) -> list[Path]:
    """Files as given; a folder stands for the timelines in it (not our outputs), sorted."""
    suffixes = {f".{s}".lower() for s in otio.adapters.suffixes_with_defined_adapters(read=True)}
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(
                f
                for f in p.iterdir()
                if f.is_file()
                and f.suffix.lower() in suffixes
                and not f.name.lower().endswith(OUTPUT_SUFFIX)
            )
            if not found:
                raise AvsyncError(f"no timeline files in folder {p}")
            out.extend(found)
        else:
            out.append(p)
    return out


def _stems(paths: list[Path]) -> list[str]:
    """Output names per input, made unique (two cut.otio from two folders: cut, cut-2)."""
    seen: dict[str, int] = {}
    out = []
    for p in paths:
        stem = p.name[: -len(p.suffix)] if p.suffix else p.name
        n = seen.get(stem.lower(), 0) + 1
        seen[stem.lower()] = n
        out.append(stem if n == 1 else f"{stem}-{n}")
    return out


def combined_report(entries: list[Entry], fmt: str) -> str:
    """One report over several timelines: JSON nests each, CSV and HTML add the timeline."""
    from otio_avsync.report import render_report, summary, to_json

    done = [e for e in entries if e.result is not None]
    if fmt == "json":
        doc = {
            "tool": "otio-avsync",
            "version": __version__,
            "summary": summary([r for e in done for r in e.result.results]),
            "flagged": sum(len(e.result.flagged) for e in done),
            "timelines": [
                {"file": str(e.path), **json.loads(to_json(e.result.results, title=e.stem))}
                for e in done
            ],
            "unreadable": [{"file": str(e.path), "error": e.error} for e in entries if e.error],
        }
        return json.dumps(doc, indent=2)
    if fmt == "csv":
        buf = io.StringIO()
        rows = [{"timeline": e.stem, **r.row()} for e in done for r in e.result.results]
        fields = ["timeline", *(rows[0].keys() if rows else [])]
        writer = csv.DictWriter(buf, fieldnames=list(dict.fromkeys(fields)))
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue()
    # HTML: one table; the track column names the timeline too.
    results = [
        dataclasses.replace(r, track_name=f"{e.stem} · {r.track_name or ''}")
        for e in done
        for r in e.result.results
    ]
    return render_report(results, fmt, title=f"{len(done)} timelines")


def audit_many(
    paths: list[Path],
    *,
    out_dir: Path | None,
    reports: tuple[str, ...],
    options: Any,
    run: Callable[[list[tuple[Any, Path]]], list[Any]],
    adapter: str | None = None,
    media_dirs: tuple[str, ...] = (),
    as_json: bool = False,
    quiet: bool = False,
    echo: Callable[[str], None] = print,
) -> int:
    """Audit several timelines through ``run`` (one shared executor); returns the exit status."""
    from otio_avsync.plugin import relink_timeline
    from otio_avsync.timeline_io import (
        read_timeline,
        rebase_relative_urls,
        write_atomic,
        write_timeline,
    )

    if out_dir is not None and not out_dir.is_dir():
        raise AvsyncError(f"output folder does not exist: {out_dir}")
    files = expand_inputs(paths)
    entries = [Entry(p, s) for p, s in zip(files, _stems(files), strict=True)]
    for e in entries:
        try:
            tl = read_timeline(e.path, adapter=adapter)
        except AvsyncError as exc:
            e.error = str(exc)
            print(f"error: {exc}", file=sys.stderr)
            continue
        e.timeline = copy.deepcopy(tl)
        if media_dirs:
            relink_timeline(e.timeline, [Path(d) for d in media_dirs])
    readable = [e for e in entries if e.timeline is not None]
    results = run([(e.timeline, e.path.resolve().parent) for e in readable])
    for e, result in zip(readable, results, strict=True):
        e.result = result
    protect = [str(e.path) for e in entries]
    formats = [Path(r).suffix.lstrip(".").lower() for r in reports] or ["json"]
    if out_dir is not None:
        for e in readable:
            target = out_dir / f"{e.stem}{OUTPUT_SUFFIX}"
            rebase_relative_urls(e.timeline, e.path.resolve().parent, out_dir.resolve())
            write_timeline(e.timeline, target, protect=protect)
            for fmt in dict.fromkeys(formats):
                _write_text(
                    out_dir / f"{e.stem}.report.{fmt}",
                    _single_report(e, fmt),
                    protect,
                    write_atomic,
                )
    combined = list(reports) or ([str(out_dir / "report.json")] if out_dir else [])
    for target in combined:
        fmt = Path(target).suffix.lstrip(".").lower()
        _write_text(Path(target), combined_report(entries, fmt), protect, write_atomic)
    if as_json:
        echo(combined_report(entries, "json"))
    elif not quiet:
        for e in readable:
            counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in e.result.counts().items())
            echo(
                f"{e.path.name}: {len(e.result.results)} result(s): {counts}; "
                f"{len(e.result.flagged)} flagged."
            )
        flagged = sum(len(e.result.flagged) for e in readable)
        bad = len(entries) - len(readable)
        echo(
            f"{len(entries)} timeline(s): {flagged} clip(s) flagged"
            + (f", {bad} unreadable." if bad else ".")
        )
    if len(readable) < len(entries):
        return EXIT_BAD_INPUT
    codes = {e.result.exit_code for e in readable}
    for code in (EXIT_FLAGGED, EXIT_UNCHECKED):  # flagged wins over "not all checked"
        if code in codes:
            return code
    return EXIT_OK


def _single_report(e: Entry, fmt: str) -> str:
    from otio_avsync.report import render_report

    return render_report(
        e.result.results, fmt, title=e.timeline.name or e.stem, fail_on=e.result.options.fail_on
    )


def _write_text(target: Path, text: str, protect: list[str], write_atomic: Any) -> None:
    write_atomic(target, lambda tmp: tmp.write_text(text, encoding="utf-8"), protect=protect)
