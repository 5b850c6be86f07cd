"""Audit reports: JSON for machines, CSV for spreadsheets, HTML for people.

Reports are built from :class:`ClipResult` objects, either fresh from an audit
or read back from an annotated timeline's metadata (:func:`results_from_timeline`),
so the OTIO report adapter and the CLI produce the same files.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from typing import Any

import opentimelineio as otio

from otio_avsync import METADATA_KEY, __version__
from otio_avsync.metadata import plain
from otio_avsync.results import (
    DEFAULT_FAIL_ON,
    AudioSource,
    ClipResult,
    Status,
    Tolerance,
    WindowResult,
    exit_status,
    is_flagged,
)

FORMATS = ("json", "csv", "html")

#: CSV columns: the keys of :meth:`ClipResult.row`, in its order.
_COLUMNS = list(ClipResult(clip_name="", status=Status.ERROR, message="").row())


def results_from_timeline(timeline: otio.schema.Timeline) -> list[ClipResult]:
    """results_from_timeline(timeline) -> list[ClipResult], one per clip and sound source."""
    out = []
    for clip in timeline.find_clips():
        meta = clip.metadata.get(METADATA_KEY)
        if not isinstance(meta, Mapping) or "status" not in meta:
            continue
        track = clip.parent()
        meta = plain(meta)
        for m in meta.get("sources") or [meta]:
            out.append(_from_metadata(clip, m, meta.get("record_tc"), getattr(track, "name", None)))
    return out


def _from_metadata(
    clip: Any, m: dict[str, Any], record_tc: str | None, track: str | None
) -> ClipResult:
    tol = m.get("tolerance_ms") or {}
    src = m.get("audio_source")
    curve = m.get("curve") or {}
    offset_ms, frames = m.get("offset_ms"), m.get("offset_frames")
    rate = (frames * 1000.0 / offset_ms) if offset_ms and frames else 24.0
    return ClipResult(
        clip_name=clip.name,
        status=Status(m["status"]),
        message=m.get("message", ""),
        method=m.get("method"),
        offset_ms=offset_ms,
        offset_frames=frames,
        confidence=float(m.get("confidence") or 0.0),
        rate=rate,
        tolerance=Tolerance(
            float(tol.get("early", 45.0)),
            float(tol.get("late", 125.0)),
            m.get("tolerance", "custom"),
        ),
        audio_source=AudioSource(**src) if isinstance(src, Mapping) else None,
        windows=[WindowResult(**w) for w in m.get("windows") or []],
        curve_ms=list(curve.get("offset_ms") or []),
        curve_score=list(curve.get("score") or []),
        attention=plain(m.get("attention")),
        reference=plain(m.get("reference")),
        record_tc=record_tc,
        track_name=track,
        clip=clip,
    )


def render_report(
    results: Iterable[ClipResult],
    fmt: str,
    *,
    title: str = "timeline",
    context: Mapping[str, Any] | None = None,
    fail_on: tuple[Status, ...] | None = None,
) -> str:
    """render_report(results, "json" | "csv" | "html", title=..., context=None, fail_on=None) -> str"""
    results = list(results)
    fmt = fmt.lower().lstrip(".")
    if fmt == "json":
        return to_json(results, title=title, fail_on=fail_on)
    if fmt == "csv":
        return to_csv(results)
    if fmt in ("html", "htm"):
        return to_html(results, title=title, context=context)
    raise ValueError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")


def summary(results: list[ClipResult]) -> dict[str, int]:
    counts = {s.value: 0 for s in Status}
    for r in results:
        counts[r.status.value] += 1
    return {k: v for k, v in counts.items() if v}


def to_json(
    results: list[ClipResult],
    *,
    title: str = "timeline",
    fail_on: tuple[Status, ...] | None = None,
) -> str:
    """The JSON report; ``flagged`` counts what the audit fails on (``--fail-on``)."""
    statuses = [r.status for r in results]
    doc = {
        "tool": "otio-avsync",
        "version": __version__,
        "timeline": title,
        "summary": summary(results),
        "flagged": sum(is_flagged(s, fail_on) for s in statuses),
        "unchecked": sum(s.unchecked for s in statuses),
        "fail_on": [s.value for s in (DEFAULT_FAIL_ON if fail_on is None else fail_on)],
        "exit_status": exit_status(statuses, fail_on),
        "clips": [{**r.row(), "windows": r.to_metadata()["windows"]} for r in results],
    }
    return json.dumps(doc, indent=2)


#: A cell starting with one of these is a formula to spreadsheets (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_safe(value: Any) -> Any:
    """csv_safe(value) -> value, text that would start a formula prefixed with ``'``.

    As OWASP advises for CSV injection: numbers stay numbers (a negative offset
    is data), text such as a clip named ``=HYPERLINK(...)`` is shown, not run.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(results: list[ClipResult]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for r in results:
        writer.writerow({k: csv_safe(v) for k, v in r.row().items()})
    return buf.getvalue()


def to_html(
    results: list[ClipResult],
    *,
    title: str = "timeline",
    context: Mapping[str, Any] | None = None,
) -> str:
    """The HTML report as one string (:func:`write_report` streams it to a file instead)."""
    from otio_avsync.report_html import write_html

    buf = io.StringIO()
    write_html(results, buf, title=title, context=context)
    return buf.getvalue()


def context_from_timeline(timeline: Any) -> dict[str, Any]:
    """What an annotated timeline's summary says beyond its clips: settings, tracks, reference."""
    meta = timeline.metadata.get(METADATA_KEY) if timeline is not None else None
    if not isinstance(meta, Mapping):
        return {}
    meta = plain(meta)
    keys = ("settings", "tracks", "reference", "version", "audited_at")
    return {k: meta.get(k) for k in keys}


def context_from_audit(result: Any) -> dict[str, Any]:
    """The same context from a fresh :class:`otio_avsync.audit.AuditResult`."""
    return {
        "settings": result.options.settings(),
        "tracks": [t.to_metadata() for t in getattr(result, "tracks", None) or []],
        "reference": getattr(result, "reference", None),
        "version": __version__,
    }


def write_report(
    results: list[ClipResult],
    fmt: str,
    path: Any,
    *,
    title: str = "timeline",
    context: Mapping[str, Any] | None = None,
    fail_on: tuple[Status, ...] | None = None,
) -> None:
    """write_report(results, fmt, path, title=..., context=...): HTML is streamed to the file."""
    fmt = fmt.lower().lstrip(".")
    with open(path, "w", encoding="utf-8", newline="") as fh:
        if fmt in ("html", "htm"):
            from otio_avsync.report_html import write_html

            write_html(list(results), fh, title=title, context=context)
        else:
            fh.write(render_report(results, fmt, title=title, fail_on=fail_on))
