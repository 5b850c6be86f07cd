"""Audit reports: JSON for machines, CSV for spreadsheets, HTML for people.

Reports are built from :class:`ClipResult` objects, either fresh from an audit
or read back from an annotated timeline's metadata (:func:`results_from_timeline`),
so the OTIO report adapter and the CLI produce the same files.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from collections.abc import Iterable, Mapping
from typing import Any

import opentimelineio as otio

from otio_avsync import METADATA_KEY, __version__
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


def _plain(value: Any) -> Any:
    """OTIO's AnyDictionary / AnyVector as plain dicts and lists (JSON types)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or type(value).__name__ == "AnyVector":
        return [_plain(v) for v in value]
    return value


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
        attention=_plain(m.get("attention")),
        reference=_plain(m.get("reference")),
        record_tc=record_tc,
        track_name=track,
        clip=clip,
    )


def plain(value: Any) -> Any:
    """OTIO's AnyDictionary/AnyVector as plain dicts and lists, recursively."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple) or type(value).__name__ == "AnyVector":
        return [plain(v) for v in value]
    return value


def render_report(
    results: Iterable[ClipResult],
    fmt: str,
    *,
    title: str = "timeline",
    fail_on: tuple[Status, ...] | None = None,
) -> str:
    """render_report(results, "json" | "csv" | "html", title=..., fail_on=None) -> str"""
    results = list(results)
    fmt = fmt.lower().lstrip(".")
    if fmt == "json":
        return to_json(results, title=title, fail_on=fail_on)
    if fmt == "csv":
        return to_csv(results)
    if fmt in ("html", "htm"):
        return to_html(results, title=title)
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


_STATUS_COLOURS = {
    "in_sync": "#2e7d32",
    "out_of_sync": "#c62828",
    "uncertain": "#f9a825",
}


def _svg_curve(r: ClipResult, width: int = 360, height: int = 110) -> str:
    """The sync-score curve against offset as inline SVG, the estimate marked."""
    xs, ys = r.curve_ms, r.curve_score
    if len(xs) < 2:
        return "<em>no curve</em>"
    lo_y, hi_y = min(ys), max(ys)
    span_y = (hi_y - lo_y) or 1.0
    x0, x1 = xs[0], xs[-1]

    def px(x: float) -> float:
        return 30 + (x - x0) / ((x1 - x0) or 1.0) * (width - 40)

    def py(y: float) -> float:
        return 10 + (1 - (y - lo_y) / span_y) * (height - 30)

    step = max(1, len(xs) // 400)
    pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in list(zip(xs, ys, strict=False))[::step])
    marks = [
        f'<line x1="{px(0):.1f}" y1="10" x2="{px(0):.1f}" y2="{height - 20}" stroke="#999" stroke-dasharray="3,3"/>'
    ]
    if r.offset_ms is not None:
        marks.append(
            f'<line x1="{px(r.offset_ms):.1f}" y1="10" x2="{px(r.offset_ms):.1f}" y2="{height - 20}" '
            f'stroke="#c62828"/>'
        )
    labels = (
        f'<text x="30" y="{height - 5}" font-size="10">{x0:+.0f} ms</text>'
        f'<text x="{width - 50}" y="{height - 5}" font-size="10">{x1:+.0f} ms</text>'
        f'<text x="{px(0) - 4:.1f}" y="{height - 5}" font-size="10">0</text>'
    )
    return (
        f'<svg width="{width}" height="{height}" role="img" aria-label="sync score by offset">'
        f'<polyline fill="none" stroke="#1565c0" stroke-width="1.2" points="{pts}"/>'
        + "".join(marks)
        + labels
        + "</svg>"
    )


def to_html(results: list[ClipResult], *, title: str = "timeline") -> str:
    esc = html.escape
    rows = []
    for r in results:
        row = r.row()
        colour = _STATUS_COLOURS.get(r.status.value, "#ef6c00")
        cells = "".join(
            f"<td>{esc('' if row[c] is None else str(row[c]))}</td>"
            for c in (
                "clip",
                "track",
                "record_tc",
                "audio_source",
                "offset_ms",
                "offset_frames",
                "confidence",
            )
        )
        rows.append(
            f'<tr><td><span class="dot" style="background:{colour}"></span>{esc(r.status.value)}</td>'
            f"{cells}<td>{esc(r.message)}</td></tr>"
        )
    details = []
    for r in results:
        if r.status not in (Status.OUT_OF_SYNC, Status.UNCERTAIN):
            continue
        thumb = (
            f'<img alt="frame of {esc(r.clip_name)}" src="data:image/png;base64,'
            f'{base64.b64encode(r.thumbnail_png).decode()}"/>'
            if r.thumbnail_png
            else '<div class="nothumb">no thumbnail</div>'
        )
        details.append(
            f'<section class="flag"><h3>{esc(r.clip_name)} <small>{esc(r.record_tc or "")}</small></h3>'
            f'<div class="pair">{thumb}{_svg_curve(r)}</div><p>{esc(r.message)}</p></section>'
        )
    counts = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in summary(results).items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>AV sync audit: {esc(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; font-size: 14px; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }}
.dot {{ display: inline-block; width: .8em; height: .8em; border-radius: 50%; margin-right: .4em; }}
.flag {{ border: 1px solid #ddd; border-radius: 6px; padding: .5em 1em; margin: 1em 0; }}
.pair {{ display: flex; gap: 1em; align-items: center; }}
.nothumb {{ width: 240px; height: 135px; background: #eee; display: flex; align-items: center; justify-content: center; }}
</style></head><body>
<h1>AV sync audit: {esc(title)}</h1>
<p>{esc(counts)}. Offsets: positive = sound late. Generated by otio-avsync {__version__}.</p>
<table><thead><tr><th>status</th><th>clip</th><th>track</th><th>record TC</th><th>sound</th>
<th>offset ms</th><th>frames</th><th>confidence</th><th>message</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<h2>Flagged clips</h2>
{"".join(details) or "<p>None.</p>"}
</body></html>
"""
