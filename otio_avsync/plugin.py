"""Package code behind the OTIO plugin modules in ``otio_avsync/plugin_manifest/``.

OTIO loads plugin modules under its own module names, so those stay thin and
import this module absolutely. Nothing heavy is imported at module level: OTIO
imports plugins in every tool of the environment.
"""

from __future__ import annotations

import os
import sys
import urllib.parse
import urllib.request
from functools import lru_cache
from pathlib import Path
from typing import Any

from otio_avsync import hookstate

#: Environment switch for tools that pass no hook arguments (otiotool, scripts).
ENV_SWITCH = "OTIO_AVSYNC"
_TRUE = {"1", "true", "yes", "on"}


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in _TRUE if value is not None else False


def hook_enabled(argument_map: dict[str, Any] | None) -> bool:
    """True when asked: ``-H avsync=1`` or ``OTIO_AVSYNC=1`` (and not suppressed)."""
    if hookstate.is_suppressed():
        return False
    args = argument_map or {}
    return _truthy(args.get("avsync")) or _truthy(os.environ.get(ENV_SWITCH))


def post_adapter_read(in_timeline: Any, argument_map: dict[str, Any] | None = None) -> Any:
    """post_adapter_read(in_timeline, argument_map) -> timeline, annotated when asked.

    Hook arguments (``-H key=value``): ``avsync=1`` to run; ``avsync_tolerance``
    (preset or EARLY,LATE ms), ``avsync_estimator``, ``avsync_search_ms``,
    ``avsync_base`` (folder for relative media paths; default: current folder),
    ``avsync_search`` (folders to relink missing media from, os.pathsep-separated),
    ``avsync_reference`` (the original mix dubs are aligned to: a track name or a
    language, ``none`` for no alignment), ``avsync_reference_search_ms``.
    """
    import opentimelineio as otio

    if not hook_enabled(argument_map) or not isinstance(in_timeline, otio.schema.Timeline):
        return in_timeline
    args = {k: v for k, v in (argument_map or {}).items() if isinstance(k, str)}
    from otio_avsync.audit import AuditOptions, audit_timeline
    from otio_avsync.errors import AvsyncError
    from otio_avsync.progress import summary_line
    from otio_avsync.results import parse_tolerance

    try:
        estimator = str(args.get("avsync_estimator", "attention"))
        from otio_avsync.estimators import ESTIMATORS

        if estimator not in ESTIMATORS:
            raise AvsyncError(
                f"unknown estimator {estimator!r}; avsync_estimator is one of "
                + ", ".join(ESTIMATORS)
            )
        options = AuditOptions(
            estimator=estimator,
            search_ms=float(args.get("avsync_search_ms", 2000.0)),
            tolerance=parse_tolerance(str(args.get("avsync_tolerance", "bt1359"))),
            reference=str(args["avsync_reference"]) if args.get("avsync_reference") else None,
            reference_search_ms=float(args.get("avsync_reference_search_ms", 10000.0)),
        )
        # OTIO runs this hook before the media linker: relink here when our linker's
        # arguments (-M search=DIR) or avsync_search are given, else clips read as missing.
        linker = args.get("media_linker_argument_map") or {}
        folders = _folders(args.get("avsync_search")) + _folders(linker.get("search"))
        if folders:
            relink_timeline(in_timeline, folders)
        reading = _reading_file()
        base = args.get("avsync_base") or (str(reading.parent) if reading else os.getcwd())
        if reading is not None:
            _warn_edl_rate(in_timeline, reading, args.get("adapter_arguments") or {}, base)
        result = audit_timeline(
            in_timeline, options, base_dir=base, progress=_progress_lines("otio-avsync hook")
        )
    except (AvsyncError, ValueError) as exc:
        # Never SystemExit inside the host program: an OTIO error it can catch,
        # which otioconvert run as a module prints as one line.
        raise _otio_error("hook", f"otio-avsync: {exc}") from None
    for note in in_timeline.metadata.get("otio_avsync", {}).get("notes") or []:
        print(f"otio-avsync: {note}", file=sys.stderr)
    print(f"otio-avsync: {summary_line(result)}", file=sys.stderr)
    return in_timeline


def _reading_file() -> Path | None:
    """The file OTIO is reading, so relative media paths resolve as in the CLI.

    OTIO passes the hook no file path; its ``Adapter.read_from_file`` frame has it.
    """
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "read_from_file" and "opentimelineio" in code.co_filename:
            path = frame.f_locals.get("filepath")
            if isinstance(path, str | os.PathLike) and os.path.isfile(path):
                return Path(path).resolve()
        frame = frame.f_back
    return None


def _warn_edl_rate(timeline: Any, path: Path, adapter_args: Any, base: str) -> None:
    """An EDL read at the reader's default 24 fps whose media runs otherwise: say so."""
    from otio_avsync.timeline_io import adapter_name_for, media_rate

    if adapter_name_for(path, None) != "cmx_3600" or "rate" in adapter_args:
        return
    rate = media_rate(timeline, base)
    read_at = float(timeline.duration().rate or 24.0)
    if rate is not None and abs(rate - read_at) > 1e-3:
        print(
            f"otio-avsync: {path.name} was read at {read_at:g} fps but its media runs at "
            f"{rate:g} fps: offsets will be wrong; read it with -a rate={rate:g}",
            file=sys.stderr,
        )


def _progress_lines(label: str) -> Any:
    from otio_avsync.progress import ProgressLines

    return ProgressLines(sys.stderr, label=label)


def _otio_error(kind: str, message: str) -> Exception:
    """An OTIO exception (``OTIOError`` family) that is also an :class:`AvsyncError`.

    ``kind`` "hook" gives a plain ``OTIOError``, "write" a ``WritingNotSupportedError``
    (what OTIO raises when an adapter cannot write the timeline it is given).
    """
    import opentimelineio as otio

    from otio_avsync.errors import AvsyncError

    base = (
        otio.exceptions.WritingNotSupportedError if kind == "write" else otio.exceptions.OTIOError
    )
    error_type = _ERROR_TYPES.get(kind)
    if error_type is None:
        error_type = type("AvsyncOTIOError", (AvsyncError, base), {"__module__": __name__})
        _ERROR_TYPES[kind] = error_type
    _install_excepthook()
    return error_type(message)


_ERROR_TYPES: dict[str, type] = {}


def _install_excepthook() -> None:
    """Left uncaught (otioconvert's console script catches nothing), our error is one line.

    The host program may catch the error; only when nothing does, the process ends
    with the sentence instead of a traceback (and Python's usual status 1).
    """
    import sys

    previous = sys.excepthook
    if getattr(previous, "_otio_avsync", False):
        return

    def hook(kind: Any, value: Any, tb: Any) -> None:
        if isinstance(value, tuple(_ERROR_TYPES.values())):
            print(str(value), file=sys.stderr)
            return
        previous(kind, value, tb)

    hook._otio_avsync = True  # type: ignore[attr-defined]
    sys.excepthook = hook


# -- media linker -------------------------------------------------------------------


def _folders(value: Any) -> list[Path]:
    if not value:
        return []
    items = value if isinstance(value, list | tuple) else str(value).split(os.pathsep)
    return [Path(v).expanduser() for v in items if str(v).strip()]


@lru_cache(maxsize=16)
def _index(folders: tuple[str, ...]) -> dict[str, Path]:
    """File name (lowercase) -> first path found, searching folders recursively in order."""
    found: dict[str, Path] = {}
    for folder in folders:
        for root, _dirs, files in os.walk(folder):
            for name in sorted(files):
                found.setdefault(name.lower(), Path(root) / name)
    return found


def _url_name(url: str | None) -> str | None:
    if not url:
        return None
    path = urllib.parse.urlparse(url).path if "://" in url else url
    return Path(urllib.request.url2pathname(path)).name or None


def find_media(clip: Any, folders: list[Path]) -> Path | None:
    """find_media(clip, folders) -> Path | None: the file an offline clip names."""
    import opentimelineio as otio

    from otio_avsync.jobs import resolve_media_path

    ref = clip.media_reference
    url = getattr(ref, "target_url", None)
    current = resolve_media_path(url, None)
    if current is not None and current.is_file():
        return None  # online: nothing to do
    index = _index(tuple(str(f) for f in folders if f.is_dir()))
    candidates = [_url_name(url)]
    if isinstance(ref, otio.schema.MissingReference) or not url:
        candidates += [ref.name if ref is not None else None, clip.name]
    for name in candidates:
        if name and name.lower() in index:
            return index[name.lower()]
    return None


def link_media_reference(
    in_clip: Any, media_linker_argument_map: dict[str, Any] | None = None
) -> Any:
    """link_media_reference(in_clip, media_linker_argument_map) -> MediaReference | None

    Relinks offline media by file name from the folders in ``-M search=DIR[:DIR]``;
    keeps the old reference's available range and metadata. None = leave as is.
    """
    import opentimelineio as otio

    folders = _folders((media_linker_argument_map or {}).get("search"))
    path = find_media(in_clip, folders)
    if path is None:
        return None
    old = in_clip.media_reference
    return otio.schema.ExternalReference(
        target_url=path.resolve().as_uri(),
        available_range=getattr(old, "available_range", None),
        metadata=dict(old.metadata) if old is not None else {},
    )


def relink_timeline(timeline: Any, folders: list[Path]) -> int:
    """relink_timeline(timeline, folders) -> int: relinks offline clips in place."""
    n = 0
    for clip in timeline.find_clips():
        ref = link_media_reference(clip, {"search": [str(f) for f in folders]})
        if ref is not None:
            clip.media_reference = ref
            n += 1
    return n


# -- report adapter -----------------------------------------------------------------


def write_report_to_string(input_otio: Any, format: str = "json") -> str:
    """write_report_to_string(input_otio, format="json"|"csv"|"html") -> str

    The audit report of an annotated timeline (``-H avsync=1`` or ``otio-avsync audit``).
    """
    from otio_avsync.report import (
        FORMATS,
        context_from_timeline,
        render_report,
        results_from_timeline,
    )

    fmt = str(format).lower().lstrip(".")
    if fmt not in FORMATS and fmt != "htm":
        raise _otio_error(
            "write",
            f"otio-avsync report: unknown format {format!r}; pass -A format=json, csv or html",
        )
    try:
        results = results_from_timeline(input_otio)
    except (ValueError, TypeError, KeyError) as exc:
        raise _otio_error(
            "write", f"otio-avsync report: the timeline's otio_avsync metadata is malformed ({exc})"
        ) from None
    if not results:
        raise _otio_error(
            "write",
            "otio-avsync report: the timeline has no otio-avsync results; read it with "
            "-H avsync=1 or run 'otio-avsync audit' first",
        )
    return render_report(
        results,
        fmt,
        title=getattr(input_otio, "name", "") or "timeline",
        context=context_from_timeline(input_otio),
    )
