"""What the command line prints: plain one-line text, tables that never read names as
markup, a quiet end when the reader of stdout goes away, and one-line log messages.

Kept apart from :mod:`otio_avsync.cli` so that the commands stay short.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from otio_avsync.results import Status

#: Environment switch for tracebacks, as ``--debug``.
DEBUG_ENV = "OTIO_AVSYNC_DEBUG"


def safe_text(text: Any) -> str:
    """One line of plain text: control characters (a newline in a clip name) escaped."""
    value = "" if text is None else str(text)
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in value)


def markup(text: Any) -> str:
    """Text for a rich table or progress bar: never read as markup (``[/]``, ``[link=…]``)."""
    from rich.markup import escape

    return escape(safe_text(text))


def emit(text: str) -> None:
    """Print to stdout; a reader that went away (``| head -1``) ends the output quietly."""
    try:
        click.echo(text)
        sys.stdout.flush()
    except BrokenPipeError:
        stdout_gone()


def stdout_gone() -> None:
    """Point stdout at /dev/null so that Python's final flush does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


#: Table width when writing to a pipe or a file: a log line may be long, but not cut.
PIPE_WIDTH = 400


def rich_console(stderr: bool = False) -> Any:
    """A rich console; off a terminal it is wide enough that tables are never cut."""
    from rich.console import Console

    console = Console(stderr=stderr)
    if not console.is_terminal:
        console = Console(stderr=stderr, width=PIPE_WIDTH)
    return console


def print_table(result: Any, *, expected: dict[str, float] | None = None, title: str = "") -> None:
    """The results as a table on stdout, then the track lines and the summary line.

    Names, sounds and notes are escaped: a clip named ``[/]`` or ``[link=…]`` is
    shown as it is, never read as markup.
    """
    from rich.table import Table

    if not result.results:
        emit(summary_line(result))
        return
    colours = {"in_sync": "green", "out_of_sync": "red", "uncertain": "yellow"}
    table = Table(title=title or None)
    for col in ("status", "clip", "record TC", "sound", "offset", "confidence"):
        table.add_column(col, justify="right" if col in ("offset", "confidence") else "left")
    if expected is not None:
        table.add_column("expected", justify="right")
    table.add_column("note", overflow="fold", max_width=60)
    for r in result.results:
        row = r.row()
        offset = "" if r.offset_ms is None else f"{r.offset_frames:+.1f}f {r.offset_ms:+.0f} ms"
        cells = [
            f"[{colours.get(r.status.value, 'dark_orange')}]{r.status.value}[/]",
            markup(r.clip_name),
            markup(row["record_tc"] or ""),
            markup(row["audio_source"] or ""),
            offset,
            f"{r.confidence:.0%}" if r.status.analysable else "",
        ]
        if expected is not None:
            exp = expected.get(r.clip_name)
            cells.append("" if exp is None else f"{exp * r.rate / 1000:+.1f}f {exp:+.0f} ms")
        # In/out of sync speak for themselves; explain only the other verdicts.
        note = "" if r.status in (Status.IN_SYNC, Status.OUT_OF_SYNC) else r.message
        cells.append(markup(note))
        table.add_row(*cells)
    rich_console().print(table)
    print_tracks(result)
    emit(summary_line(result))


def print_tracks(result: Any) -> None:
    """One line per sound track (or stream language): its consensus, drift or jump."""
    from otio_avsync.progress import plural

    ref = getattr(result, "reference", None)
    if ref and ref.get("aligned"):  # with one sound there is nothing to align: say nothing
        aligned = plural(int(ref["aligned"]), "sound")
        emit(f"Reference: {safe_text(ref['key'])} ({ref['chosen']}); {aligned} aligned to it.")
    for t in getattr(result, "tracks", None) or []:
        if t.clips:
            emit(f"  [{t.status.value}] {safe_text(t.message)}")


def summary_line(result: Any) -> str:
    """The audit in one line (see :func:`otio_avsync.progress.summary_line`)."""
    from otio_avsync.progress import summary_line as line

    return line(result)


def debugging() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes", "on")


class _OneLine(logging.Formatter):
    """Log records as one line, without the traceback (that is for --debug)."""

    def format(self, record: logging.LogRecord) -> str:
        return f"otio-avsync: {safe_text(record.getMessage())}"


class _Stderr(logging.Handler):
    """Writes to whatever ``sys.stderr`` is now (tests and callers may swap it)."""

    _otio_avsync_cli = True

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def configure_logging(debug: bool) -> None:
    """Our log records on stderr: one line each, or with level and traceback under --debug."""
    logger = logging.getLogger("otio_avsync")
    handler = next((h for h in logger.handlers if isinstance(h, _Stderr)), None)
    if handler is None:
        handler = _Stderr()
        logger.addHandler(handler)
    if debug:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler.setLevel(logging.DEBUG)
        logger.setLevel(logging.DEBUG)
    else:
        handler.setFormatter(_OneLine())
        handler.setLevel(logging.WARNING)
        logger.setLevel(logging.NOTSET)


def print_fixes(report: Any, output: Path) -> None:
    """What ``fix`` did, one line per sound; names printed as plain single lines."""
    for e in report.entries:
        where = f"{safe_text(e.clip)} / {safe_text(e.sound)}"
        if e.action == "slipped":
            speed = f", speed x{e.time_scalar:.6f}" if e.time_scalar else ""
            emit(f"slipped      {where}: {e.offset_ms:+.1f} ms{speed}")
        elif e.action == "not_fixable" or e.status in ("out_of_sync", "uncertain"):
            emit(f"{e.action:<12} {where}: {safe_text(e.reason)}")
    for p in report.speed_proposals:
        verb = "applied" if p["applied"] else "proposed (--apply-speed applies it)"
        cause = f" ({p['cause']})" if p.get("cause") else ""
        emit(
            f"{safe_text(p['track'])}: drifts {p['drift_ppm']:+.0f} ppm{cause}; speed x"
            f"{p['time_scalar']:.6f} {verb}."
        )
    emit(
        f"{len(report.slipped)} sound(s) slipped, {report.clips_changed} clip(s) changed, "
        f"{len(report.not_fixable)} not fixable. Re-audit {safe_text(output)} to confirm."
    )
