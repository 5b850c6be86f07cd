"""The HTML report: one self-contained file an editor or a QC lead would rather look at.

A strip of the whole cut with each clip coloured by status (click to jump to it),
the track-level consensus (drifts and jumps drawn), every clip in a table, a card
per clip with its score curve (axes, tolerance band, the estimate and the decision
labelled), the reference, the settings and the tool version. No scripts or fonts
are fetched: it opens without a network.

The file is written piece by piece to a stream (:func:`write_html`), and pictures
are small JPEG thumbnails of flagged and uncertain clips only, so a 1,000-clip
report stays a few megabytes and is never held whole in memory.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from otio_avsync import METADATA_KEY, __version__
from otio_avsync.metadata import finite
from otio_avsync.progress import plural
from otio_avsync.results import ClipResult, Status

esc = html.escape

COLOURS = {
    "in_sync": "#2e7d32",
    "out_of_sync": "#c62828",
    "uncertain": "#f9a825",
}
NOT_ANALYSABLE = "#ef6c00"
LABELS = {
    "in_sync": "in sync",
    "out_of_sync": "out of sync",
    "uncertain": "uncertain",
    "no_audio": "no audio",
    "media_missing": "media missing",
    "unsupported": "unsupported",
    "error": "error",
}
#: The score curve is drawn with at most this many points (the data has more).
CURVE_POINTS = 160
FLAGGED = (Status.OUT_OF_SYNC, Status.UNCERTAIN)


def colour(status: str) -> str:
    return COLOURS.get(status, NOT_ANALYSABLE)


def _signed(value: float | None, unit: str = " ms", digits: int = 0) -> str:
    if value is None:
        return ""
    text = f"{value:+.{digits}f}"
    return ("0" if float(text) == 0 else text) + unit


# -- the cut: where each clip sits ------------------------------------------------------------


def _placement(r: ClipResult) -> tuple[float, float] | None:
    """(start, duration) of the picture clip in its track, seconds; else the analysed span."""
    clip = r.clip
    if clip is not None:
        try:
            rng = clip.range_in_parent()
            return rng.start_time.to_seconds(), rng.duration.to_seconds()
        except Exception:
            pass
    if r.span_start_s is not None and r.span_duration_s:
        return float(r.span_start_s), float(r.span_duration_s)
    return None


_SEVERITY = ["out_of_sync", "error", "uncertain", "media_missing", "unsupported", "no_audio"]


def _worst(statuses: Iterable[str]) -> str:
    statuses = list(statuses)
    for s in _SEVERITY:
        if s in statuses:
            return s
    return statuses[0] if statuses else "in_sync"


def _strip(results: list[ClipResult]) -> str:
    """One bar per picture track: each clip a block coloured by its most severe result."""
    blocks: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
    for i, r in enumerate(results):
        place = _placement(r)
        if place is None:
            continue
        key = (id(r.clip) if r.clip is not None else r.clip_name, place)
        track = blocks.setdefault(r.track_name or "", {})
        entry = track.setdefault(
            key, {"start": place[0], "dur": place[1], "statuses": [], "first": i, "name": r.clip_name}
        )
        entry["statuses"].append(r.status.value)
    if not blocks:
        return ""
    end = max(e["start"] + e["dur"] for t in blocks.values() for e in t.values()) or 1.0
    rows = []
    for track, entries in blocks.items():
        cells = []
        for e in entries.values():
            status = _worst(e["statuses"])
            left = 100.0 * e["start"] / end
            width = max(0.15, 100.0 * e["dur"] / end)
            tip = f"{e['name']}: {', '.join(LABELS.get(s, s) for s in e['statuses'])}"
            cells.append(
                f'<a class="blk s-{status}" href="#r{e["first"]}" title="{esc(tip)}" '
                f'style="left:{left:.3f}%;width:{width:.3f}%"></a>'
            )
        rows.append(
            f'<div class="lane"><span class="lname">{esc(track)}</span>'
            f'<div class="bar">{"".join(cells)}</div></div>'
        )
    return (
        '<section class="strip" aria-label="the cut, clip by clip">'
        + "".join(rows)
        + f'<div class="axis"><span>0:00</span><span>{_clock(end)}</span></div></section>'
    )


def _clock(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


# -- plots ------------------------------------------------------------------------------------


def _nice_step(span: float, ticks: int = 6) -> float:
    raw = span / max(ticks, 1)
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


class _Plot:
    """An SVG plot area: data x/y to pixels, axes with ticks and labels."""

    def __init__(self, x0: float, x1: float, y0: float, y1: float, w: int = 440, h: int = 170):
        self.x0, self.x1 = x0, (x1 if x1 > x0 else x0 + 1.0)
        self.y0, self.y1 = y0, (y1 if y1 > y0 else y0 + 1.0)
        self.w, self.h = w, h
        self.left, self.right, self.top, self.bottom = 44, 12, 18, 30
        self.parts: list[str] = []

    def px(self, x: float) -> float:
        x = min(max(x, self.x0), self.x1)
        return self.left + (x - self.x0) / (self.x1 - self.x0) * (self.w - self.left - self.right)

    def py(self, y: float) -> float:
        y = min(max(y, self.y0), self.y1)
        return self.top + (1 - (y - self.y0) / (self.y1 - self.y0)) * (self.h - self.top - self.bottom)

    def axes(
        self, x_label: str, y_label: str, y_fmt: str = "{:.2f}", x_signed: bool = True
    ) -> None:
        b, t = self.h - self.bottom, self.top
        step = _nice_step(self.x1 - self.x0)
        x_digits = 0 if step >= 1 else 1
        first = math.ceil(self.x0 / step) * step
        ticks = []
        x = first
        while x <= self.x1 + 1e-9:
            p = self.px(x)
            ticks.append(
                f'<line x1="{p:.1f}" y1="{b}" x2="{p:.1f}" y2="{b + 4}" class="tk"/>'
                f'<text x="{p:.1f}" y="{b + 14}" class="tl" text-anchor="middle">{_signed(x, "", x_digits) if x_signed else f"{x:g}"}</text>'
            )
            x += step
        for y in (self.y0, (self.y0 + self.y1) / 2, self.y1):
            p = self.py(y)
            ticks.append(
                f'<line x1="{self.left - 4}" y1="{p:.1f}" x2="{self.left}" y2="{p:.1f}" class="tk"/>'
                f'<text x="{self.left - 6}" y="{p + 3:.1f}" class="tl" text-anchor="end">'
                f"{esc(y_fmt.format(y))}</text>"
            )
        # The white plot area goes under whatever was drawn already (the tolerance band).
        self.parts.insert(
            0,
            f'<rect x="{self.left}" y="{t}" width="{self.w - self.left - self.right}" '
            f'height="{b - t}" class="frame"/>',
        )
        self.parts.append(
            "".join(ticks)
            + f'<text x="{self.w - self.right}" y="{self.h - 2}" class="al" text-anchor="end">'
            f"{esc(x_label)}</text>"
            f'<text x="4" y="11" class="al">{esc(y_label)}</text>'
        )

    def band(self, a: float, b: float, cls: str) -> None:
        pa, pb = self.px(a), self.px(b)
        self.parts.append(
            f'<rect x="{min(pa, pb):.1f}" y="{self.top}" width="{abs(pb - pa):.1f}" '
            f'height="{self.h - self.top - self.bottom}" class="{cls}"/>'
        )

    def vline(self, x: float, cls: str, label: str = "", row: int = 0) -> None:
        p = self.px(x)
        self.parts.append(
            f'<line x1="{p:.1f}" y1="{self.top}" x2="{p:.1f}" y2="{self.h - self.bottom}" class="{cls}"/>'
        )
        if label:
            # Keep the label inside the plot: anchor it away from the nearer edge.
            mid = (self.left + self.w - self.right) / 2
            anchor, dx = ("end", -3) if p > mid else ("start", 3)
            y = self.top + 11 + 12 * row
            self.parts.append(
                f'<text x="{p + dx:.1f}" y="{y}" class="{cls}-t" text-anchor="{anchor}">{esc(label)}</text>'
            )

    def svg(self, aria: str) -> str:
        return (
            f'<svg viewBox="0 0 {self.w} {self.h}" width="{self.w}" height="{self.h}" role="img" '
            f'aria-label="{esc(aria)}">' + "".join(self.parts) + "</svg>"
        )


def _thin(xs: list[float], ys: list[float], n: int = CURVE_POINTS) -> list[tuple[float, float]]:
    """At most ``n`` points, keeping each bucket's highest score (peaks stay visible)."""
    pts = list(zip(xs, ys, strict=False))
    if len(pts) <= n:
        return pts
    size = len(pts) / n
    out = []
    for k in range(n):
        bucket = pts[int(k * size) : max(int((k + 1) * size), int(k * size) + 1)]
        out.append(max(bucket, key=lambda p: p[1]))
    return out


def curve_svg(r: ClipResult, decision: Mapping[str, Any] | None = None) -> str:
    """The sync score against offset: axes, tolerance band, estimate and decision labelled."""
    xs, ys = list(r.curve_ms), list(r.curve_score)
    if len(xs) < 2:
        return '<div class="nocurve">no score curve</div>'
    lo, hi = min(ys), max(ys)
    pad = (hi - lo) * 0.08 or 0.05
    plot = _Plot(xs[0], xs[-1], lo - pad, hi + pad)
    plot.band(-r.tolerance.early_ms, r.tolerance.late_ms, "tol")
    plot.axes("offset, ms (+ = sound late)", "score")
    plot.vline(0.0, "zero")
    pts = " ".join(f"{plot.px(x):.1f},{plot.py(y):.1f}" for x, y in _thin(xs, ys))
    plot.parts.append(f'<polyline points="{pts}" class="curve"/>')
    if r.offset_ms is not None:
        plot.vline(r.offset_ms, "est", f"estimate {_signed(r.offset_ms)}")
    off = finite((decision or {}).get("offset_ms"))
    if decision and off is not None:
        plot.vline(off, "dec", f"{decision.get('action')} {_signed(off)}", row=1)
    return plot.svg(f"sync score by offset for {r.clip_name}")


def track_svg(track: Mapping[str, Any], points: list[tuple[float, float]], tol: Any) -> str:
    """Each clip's offset along the cut, the tolerance band, and the fitted drift or jump."""
    if len(points) < 2:
        return ""
    ts = [p[0] for p in points]
    ys = [p[1] for p in points] + [-tol.early_ms, tol.late_ms]
    lo, hi = min(ys), max(ys)
    pad = (hi - lo) * 0.1 or 20.0
    t_pad = (max(ts) - min(ts)) * 0.05 or 1.0
    plot = _Plot(min(ts) - t_pad, max(ts) + t_pad, lo - pad, hi + pad)
    plot.parts.append(
        f'<rect x="{plot.left}" y="{plot.py(tol.late_ms):.1f}" '
        f'width="{plot.w - plot.left - plot.right}" '
        f'height="{plot.py(-tol.early_ms) - plot.py(tol.late_ms):.1f}" class="tol"/>'
    )
    plot.axes("timeline, s", "offset ms", "{:+.0f}", x_signed=False)
    a, b = finite(track.get("offset_ms")), finite(track.get("offset_end_ms"))
    jump = track.get("jump")
    t0, t1 = min(ts) - t_pad, max(ts) + t_pad
    if isinstance(jump, Mapping) and finite(jump.get("at_s")) is not None:
        at = float(jump["at_s"])
        for x0, x1, y in ((t0, at, finite(jump.get("from_ms"))), (at, t1, finite(jump.get("to_ms")))):
            if y is not None:
                plot.parts.append(
                    f'<line x1="{plot.px(x0):.1f}" y1="{plot.py(y):.1f}" x2="{plot.px(x1):.1f}" '
                    f'y2="{plot.py(y):.1f}" class="fit"/>'
                )
    elif a is not None:
        plot.parts.append(
            f'<line x1="{plot.px(t0):.1f}" y1="{plot.py(a):.1f}" x2="{plot.px(t1):.1f}" '
            f'y2="{plot.py(b if b is not None else a):.1f}" class="fit"/>'
        )
    for t, y in points:
        plot.parts.append(f'<circle cx="{plot.px(t):.1f}" cy="{plot.py(y):.1f}" r="3" class="pt"/>')
    return plot.svg(f"offsets along the cut for {track.get('key')}")


# -- pieces -----------------------------------------------------------------------------------


def decision_of(r: ClipResult) -> dict[str, Any] | None:
    """The review decision on this result (its own sound's, for a clip with several)."""
    meta = getattr(r.clip, "metadata", {}).get(METADATA_KEY) if r.clip is not None else None
    if not isinstance(meta, Mapping):
        return None
    sources = meta.get("sources")
    if sources and r.audio_source is not None:
        label = r.audio_source.label()
        for s in sources:
            src = s.get("audio_source") if isinstance(s, Mapping) else None
            if isinstance(src, Mapping) and s.get("decision") is not None:
                from otio_avsync.results import AudioSource

                try:
                    if AudioSource(**dict(src)).label() == label:
                        return dict(s["decision"])
                except TypeError:
                    continue
        return None
    decision = meta.get("decision")
    return dict(decision) if isinstance(decision, Mapping) else None


def _decision_text(decision: Mapping[str, Any] | None) -> str:
    if not decision:
        return ""
    off = finite(decision.get("offset_ms"))
    return f"{decision.get('action', '')} {_signed(off)}".strip()


def _chip(status: str, n: int | None = None) -> str:
    text = LABELS.get(status, status) + (f" {n}" if n is not None else "")
    return f'<span class="chip s-{esc(status)}">{esc(text)}</span>'


def _row(i: int, r: ClipResult, has_card: bool) -> str:
    row = r.row()
    status = r.status.value
    name = esc(r.clip_name)
    link = f'<a href="#c{i}">{name}</a>' if has_card else name
    conf = f"{r.confidence:.0%}" if r.status.analysable else ""
    frames = _signed(r.offset_frames, "f", 1) if r.offset_frames is not None else ""
    return (
        f'<tr id="r{i}" class="s-{status}"><td>{_chip(status)}</td><td>{link}</td>'
        f"<td>{esc(row['track'] or '')}</td><td>{esc(row['record_tc'] or '')}</td>"
        f"<td>{esc(row['audio_source'] or '')}</td><td class=n>{esc(_signed(r.offset_ms))}</td>"
        f"<td class=n>{esc(frames)}</td><td class=n>{conf}</td>"
        f"<td>{esc(_decision_text(decision_of(r)))}</td><td>{esc(r.message)}</td></tr>"
    )


def _card(i: int, r: ClipResult) -> str:
    decision = decision_of(r)
    thumb = (
        f'<img alt="frame of {esc(r.clip_name)}" width="160" '
        f'src="data:image/jpeg;base64,{base64.b64encode(r.thumbnail_jpeg).decode()}"/>'
        if r.thumbnail_jpeg
        else ""
    )
    facts = [
        ("status", LABELS.get(r.status.value, r.status.value)),
        ("offset", f"{_signed(r.offset_ms)} ({_signed(r.offset_frames, ' frames', 1)})"
         if r.offset_ms is not None and r.offset_frames is not None else "n/a"),
        ("confidence", f"{r.confidence:.0%}"),
        ("sound", r.audio_source.label() if r.audio_source else ""),
        ("tolerance", f"{r.tolerance.name}: -{r.tolerance.early_ms:g} / +{r.tolerance.late_ms:g} ms"),
        ("method", r.method or ""),
    ]
    ref = r.reference or {}
    if ref:
        model = finite(ref.get("model_offset_ms"))
        facts.append(
            ("reference", f"aligned to {ref.get('track') or ref.get('key') or 'the reference'}"
             + (f"; the picture model finds {_signed(model)}" if model is not None else ""))
        )
    if decision:
        facts.append(("decision", _decision_text(decision)))
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(str(v))}</dd>" for k, v in facts if v)
    return (
        f'<article class="card s-{r.status.value}" id="c{i}"><h3>{_chip(r.status.value)} '
        f'{esc(r.clip_name)} <small>{esc(r.record_tc or "")}</small> '
        f'<a class="up" href="#r{i}">table</a></h3>'
        f'<div class="pair">{thumb}{curve_svg(r, decision)}<dl>{dl}</dl></div>'
        f"<p>{esc(r.message)}</p></article>"
    )


def _middle(r: ClipResult) -> float:
    """The middle of a result's clip in the cut, seconds (0 when unknown)."""
    place = _placement(r)
    return place[0] + place[1] / 2 if place else 0.0


def _tracks(context: Mapping[str, Any], results: list[ClipResult]) -> str:
    tracks = [t for t in context.get("tracks") or [] if isinstance(t, Mapping) and t.get("clips")]
    if not tracks:
        return ""
    out = []
    for t in tracks:
        key = t.get("key")
        points = [
            (_middle(r), float(r.offset_ms))
            for r in results
            if r.audio_source is not None
            and r.audio_source.key() == key
            and r.offset_ms is not None
            and r.status in (Status.IN_SYNC, Status.OUT_OF_SYNC)
        ]
        tol = next((r.tolerance for r in results), None)
        graph = track_svg(t, points, tol) if tol is not None else ""
        status = str(t.get("status") or "uncertain")
        out.append(
            f'<article class="track s-{esc(status)}"><h3>{_chip(status)} {esc(str(key))}</h3>'
            f"<p>{esc(str(t.get('message') or ''))}</p>{graph}</article>"
        )
    return "<h2>Tracks</h2>" + "".join(out)


def _settings(context: Mapping[str, Any]) -> str:
    s = context.get("settings") or {}
    tol = s.get("tolerance") if isinstance(s.get("tolerance"), Mapping) else {}
    rows = [
        ("tool", f"otio-avsync {context.get('version') or __version__}"),
        ("audited", context.get("audited_at") or ""),
        ("estimator", s.get("estimator")),
        ("tolerance", f"{tol.get('name', '')}: sound early ≤ {tol.get('early_ms', '?')} ms, "
         f"late ≤ {tol.get('late_ms', '?')} ms" if tol else ""),
        ("search", f"± {s['search_ms']:g} ms" if finite(s.get("search_ms")) is not None else ""),
        ("min confidence", s.get("min_confidence")),
        ("reference search", f"± {s['reference_search_ms']:g} ms"
         if finite(s.get("reference_search_ms")) is not None else ""),
    ]
    ref = context.get("reference")
    if isinstance(ref, Mapping) and ref.get("key"):
        rows.insert(2, ("reference", f"{ref['key']} ({ref.get('chosen', '')}); "
                        f"{plural(int(ref.get('aligned') or 0), 'sound')} aligned to it"))
    dl = "".join(
        f"<dt>{esc(k)}</dt><dd>{esc(str(v))}</dd>" for k, v in rows if v not in (None, "")
    )
    return f'<h2>Settings</h2><dl class="settings">{dl}</dl>'


_CSS = """
:root { --ok: #2e7d32; --bad: #c62828; --unsure: #f9a825; --na: #ef6c00; }
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em 2em; color: #222; }
h1 { font-size: 1.5em; margin: 0 0 .2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
.sub { color: #555; margin: 0 0 1em; }
.chip { display: inline-block; padding: 0 .5em; border-radius: 1em; color: #fff; font-size: 12px; white-space: nowrap; }
.s-in_sync .chip, .chip.s-in_sync { background: var(--ok); }
.chip.s-out_of_sync { background: var(--bad); } .chip.s-uncertain { background: var(--unsure); color: #222; }
.chip.s-no_audio, .chip.s-media_missing, .chip.s-unsupported, .chip.s-error { background: var(--na); }
.strip { margin: 1em 0; } .lane { display: flex; align-items: center; gap: .5em; margin: 3px 0; }
.lname { width: 3em; font-size: 12px; color: #555; text-align: right; }
.bar { position: relative; flex: 1; height: 28px; background: #eee; border-radius: 3px; }
.blk { position: absolute; top: 2px; bottom: 2px; border-right: 1px solid #fff; box-sizing: border-box; }
.blk:hover { outline: 2px solid #222; z-index: 2; }
.blk.s-in_sync { background: var(--ok); } .blk.s-out_of_sync { background: var(--bad); }
.blk.s-uncertain { background: var(--unsure); }
.blk.s-no_audio, .blk.s-media_missing, .blk.s-unsupported, .blk.s-error { background: var(--na); }
.axis { display: flex; justify-content: space-between; margin-left: 3.5em; font-size: 11px; color: #777; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f6f6f6; position: sticky; top: 0; cursor: pointer; } td.n { text-align: right; white-space: nowrap; }
tr:target, article:target { background: #fff8d0; }
.card, .track { border: 1px solid #ddd; border-left: 6px solid var(--na); border-radius: 4px; padding: .3em 1em; margin: .8em 0; break-inside: avoid; }
.card.s-in_sync, .track.s-in_sync { border-left-color: var(--ok); }
.card.s-out_of_sync, .track.s-out_of_sync { border-left-color: var(--bad); }
.card.s-uncertain, .track.s-uncertain { border-left-color: var(--unsure); }
.card h3, .track h3 { font-size: 1.05em; margin: .4em 0; } .card small { color: #666; font-weight: normal; }
.up { font-size: 12px; font-weight: normal; margin-left: .5em; }
.pair { display: flex; gap: 1em; align-items: flex-start; flex-wrap: wrap; }
.pair img { border-radius: 3px; }
dl { display: grid; grid-template-columns: max-content auto; gap: 1px 1em; margin: 0; font-size: 13px; }
dt { color: #666; } dd { margin: 0; }
svg { font: 10px system-ui, sans-serif; overflow: visible; }
svg .frame { fill: #fff; stroke: #bbb; } svg .tk { stroke: #999; } svg .tl { fill: #555; } svg .al { fill: #333; }
svg .tol { fill: var(--ok); fill-opacity: .13; } svg .zero { stroke: #888; stroke-dasharray: 3 3; }
svg .curve { fill: none; stroke: #1565c0; stroke-width: 1.4; }
svg .est { stroke: var(--bad); stroke-width: 1.5; } svg .est-t { fill: var(--bad); font-weight: 600; }
svg .dec { stroke: #283593; stroke-width: 1.5; stroke-dasharray: 5 2; } svg .dec-t { fill: #283593; font-weight: 600; }
svg .fit { stroke: #6a1b9a; stroke-width: 2; } svg .pt { fill: #1565c0; }
.nocurve { width: 440px; height: 60px; color: #888; display: flex; align-items: center; }
details summary { cursor: pointer; margin: .8em 0; font-weight: 600; }
.settings { font-size: 13px; } .muted { color: #777; }
@media print { .strip a { break-inside: avoid; } th { position: static; } }
"""

#: Click a column header to sort; the checkbox keeps flagged and uncertain rows only.
_JS = """
document.querySelectorAll('th').forEach((th, col) => th.addEventListener('click', () => {
  const body = th.closest('table').tBodies[0];
  const dir = th.dataset.dir = th.dataset.dir === 'a' ? 'd' : 'a';
  const key = tr => { const t = tr.cells[col].textContent.trim(); const n = parseFloat(t);
    return isNaN(n) ? t.toLowerCase() : n; };
  [...body.rows].sort((a, b) => { const x = key(a), y = key(b);
    return (x < y ? -1 : x > y ? 1 : 0) * (dir === 'a' ? 1 : -1); }).forEach(r => body.appendChild(r));
}));
const only = document.getElementById('flaggedonly');
if (only) only.addEventListener('change', () => document.querySelectorAll('#results tbody tr')
  .forEach(tr => { tr.hidden = only.checked && !/s-(out_of_sync|uncertain)/.test(tr.className); }));
"""


def write_html(
    results: list[ClipResult],
    out: TextIO,
    *,
    title: str = "timeline",
    context: Mapping[str, Any] | None = None,
) -> None:
    """write_html(results, stream, title=..., context={settings, tracks, reference, ...})

    Writes the report piece by piece; ``context`` is what the audit knew beyond the
    clips (:func:`otio_avsync.report.context_from_timeline` reads it back).
    """
    context = context or {}
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    flagged = sum(r.status in FLAGGED for r in results)
    stamp = context.get("audited_at") or datetime.now(UTC).isoformat(timespec="seconds")
    out.write(
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>AV sync audit: {esc(title)}</title><style>{_CSS}</style></head><body>\n"
        f"<h1>AV sync audit: {esc(title)}</h1>"
        f'<p class="sub">{plural(len(results), "result")}, {flagged} out of sync or uncertain. '
        f"Offsets: + means the sound is late (slip it earlier). otio-avsync "
        f"{esc(str(context.get('version') or __version__))}, {esc(str(stamp))}.</p>"
        f"<p>{''.join(_chip(s, n) for s, n in counts.items())}</p>\n"
    )
    out.write(_strip(results) + "\n")
    out.write(_tracks(context, results) + "\n")
    has_card = [r.status in FLAGGED or len(r.curve_ms) >= 2 for r in results]
    out.write(
        '<h2>Clips</h2><label><input type="checkbox" id="flaggedonly"> out of sync and '
        'uncertain only</label><table id="results"><thead><tr><th>status</th><th>clip</th>'
        "<th>track</th><th>record TC</th><th>sound</th><th>offset</th><th>frames</th>"
        "<th>confidence</th><th>decision</th><th>message</th></tr></thead><tbody>\n"
    )
    for i, r in enumerate(results):
        out.write(_row(i, r, has_card[i]) + "\n")
    out.write("</tbody></table>\n<h2>Out of sync and uncertain</h2>\n")
    shown = 0
    for i, r in enumerate(results):
        if r.status in FLAGGED:
            out.write(_card(i, r) + "\n")
            shown += 1
    if not shown:
        out.write('<p class="muted">None.</p>\n')
    rest = [i for i, r in enumerate(results) if r.status not in FLAGGED and has_card[i]]
    if rest:
        out.write(f"<details><summary>The other clips' score curves ({len(rest)})</summary>\n")
        for i in rest:
            out.write(_card(i, results[i]) + "\n")
        out.write("</details>\n")
    out.write(_settings(context) + f"\n<script>{_JS}</script></body></html>\n")
