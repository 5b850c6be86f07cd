"""Reading and writing timelines safely.

Reads go through any OTIO adapter (EDL, FCP XML, AAF...) with OTIO's errors
turned into one-line :class:`TimelineError` messages; writes are atomic (a
temporary file in the target folder, then a rename) and never replace the input.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import opentimelineio as otio

from otio_avsync import hookstate
from otio_avsync.errors import TimelineError
from otio_avsync.files import (  # noqa: F401  (re-exported: the writers' one home is files.py)
    TEMP_PREFIX,
    atomic_path,
    check_output,
    clean_stale_temporaries,
    same_file,
    write_atomic,
)

#: Readers that moved out of OTIO's core package, and the distribution that has them.
_ADAPTER_PACKAGES = {
    ".edl": "otio-cmx3600-adapter",
    ".xml": "otio-fcp-adapter",
    ".aaf": "otio-aaf-adapter",
    ".ale": "otio-ale-adapter",
}
_INSTALL_HINT = "OTIO's official adapters come with 'pip install opentimelineio-plugins==0.18.1'"


def parse_adapter_args(pairs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """parse_adapter_args(["rate=25", ...]) -> {"rate": 25}: values as numbers or booleans.

    Like ``otioconvert -a``, but typed: the EDL reader does arithmetic with ``rate``.
    """
    args: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise TimelineError(f"adapter argument {pair!r} is not KEY=VALUE")
        args[key.strip()] = _typed(value.strip())
    return args


def _typed(value: str) -> Any:
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def adapter_name_for(path: str | os.PathLike, adapter: str | None) -> str | None:
    """The adapter that reads ``path`` (``adapter`` or the one for its suffix), or None."""
    if adapter:
        return adapter
    try:
        return otio.adapters.from_filepath(str(path)).name
    except Exception:
        return None


def read_timeline(
    path: str | os.PathLike,
    adapter: str | None = None,
    adapter_args: dict[str, Any] | None = None,
) -> otio.schema.Timeline:
    """read_timeline(path, adapter=None, adapter_args=None) -> Timeline

    Our own ``post_adapter_read`` hook stays quiet during this read, so that an
    environment switch for the hook does not analyse the timeline twice.
    """
    p = Path(path)
    if not p.exists():
        raise TimelineError(f"timeline not found: {p}")
    if p.is_dir():
        raise TimelineError(f"{p} is a folder, not a timeline file")
    try:
        with hookstate.suppressed():
            result = otio.adapters.read_from_file(
                str(p), adapter_name=adapter, **(adapter_args or {})
            )
    except otio.exceptions.NoKnownAdapterForExtensionError:
        package = _ADAPTER_PACKAGES.get(p.suffix.lower())
        hint = f"; {_INSTALL_HINT} ({package})" if package else ""
        raise TimelineError(
            f"no OTIO adapter reads '{p.suffix or p.name}' files{hint}; "
            "or pass --adapter NAME (see 'otiopluginfo')"
        ) from None
    except otio.exceptions.NotSupportedError as exc:
        raise TimelineError(f"cannot read {p}: {exc}") from None
    except TypeError as exc:
        if adapter_args and "argument" in str(exc):
            raise TimelineError(
                f"the {adapter_name_for(p, adapter)} adapter does not take "
                f"{', '.join(adapter_args)}: {exc}"
            ) from None
        raise TimelineError(f"cannot read timeline {p}: {exc}") from None
    except Exception as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "Could not find plugin" in detail:
            detail += f" ({_INSTALL_HINT})"
        raise TimelineError(f"cannot read timeline {p}: {detail}") from None
    if isinstance(result, otio.schema.SerializableCollection):
        timelines = list(result.find_children(descended_from_type=otio.schema.Timeline))
        if len(timelines) != 1:
            raise TimelineError(f"{p} holds {len(timelines)} timelines; audit one at a time")
        result = timelines[0]
    if not isinstance(result, otio.schema.Timeline):
        raise TimelineError(f"{p} does not contain a timeline (found {type(result).__name__})")
    return result


def media_rate(timeline: otio.schema.Timeline, base_dir: str | os.PathLike | None) -> float | None:
    """The frame rate of the first picture clip's media that can be probed, or None.

    A CMX EDL does not state its rate (the reader assumes 24): the media's own
    rate is the sensible default for reading its timecodes.
    """
    from otio_avsync.decode import probe
    from otio_avsync.errors import MediaError
    from otio_avsync.jobs import resolve_media_path

    for track in timeline.video_tracks():
        for clip in track.find_clips():
            url = getattr(clip.media_reference, "target_url", None)
            path = resolve_media_path(url, base_dir)
            if path is None or not path.is_file():
                continue
            try:
                video = probe(path).video
            except (MediaError, OSError):
                continue
            if video is not None and video.fps:
                return float(video.fps)
    return None


def read_timeline_for_audit(
    path: str | os.PathLike,
    adapter: str | None = None,
    adapter_args: dict[str, Any] | None = None,
) -> tuple[otio.schema.Timeline, str | None]:
    """read_timeline_for_audit(path, adapter, adapter_args) -> (timeline, note)

    As :func:`read_timeline`; an EDL read without ``rate`` is read again at its
    media's frame rate when that differs from the reader's default, and ``note``
    says so (None otherwise).
    """
    args = dict(adapter_args or {})
    timeline = read_timeline(path, adapter, args)
    if adapter_name_for(path, adapter) != "cmx_3600" or "rate" in args:
        return timeline, None
    rate = media_rate(timeline, Path(path).resolve().parent)
    read_at = float(timeline.duration().rate or 24.0)
    if rate is None or abs(rate - read_at) < 1e-3:
        return timeline, None
    timeline = read_timeline(path, adapter, {**args, "rate": rate})
    note = (
        f"the EDL does not state its frame rate: read at {rate:g} fps, its media's rate "
        f"(not {read_at:g}); pass --adapter-arg rate=N to choose"
    )
    return timeline, note


def write_timeline(
    timeline: otio.schema.Timeline,
    target: str | os.PathLike,
    *,
    adapter: str | None = None,
    protect: list[str | os.PathLike] | None = None,
) -> Path:
    """write_timeline(timeline, target, adapter=None, protect=[input]) -> Path"""

    def _write(tmp: Path) -> None:
        try:
            otio.adapters.write_to_file(timeline, str(tmp), adapter_name=adapter)
        except otio.exceptions.NoKnownAdapterForExtensionError:
            raise TimelineError(
                f"no OTIO adapter writes '{Path(target).suffix}' files; use .otio"
            ) from None
        except TimelineError:
            raise
        except Exception as exc:  # an adapter's own failure: one line, the cause kept
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise TimelineError(f"cannot write {target}: {detail}") from exc

    return write_atomic(target, _write, protect=protect)


def check_timeline_output(
    target: str | os.PathLike,
    *,
    adapter: str | None = None,
    protect: list[str | os.PathLike] | None = None,
) -> Path:
    """check_timeline_output(target, adapter=None, protect=[input]) -> Path

    :func:`check_output`, and an OTIO adapter that writes the target's suffix.
    """
    target = check_output(target, protect=protect, what="output")
    if adapter is None:
        try:
            found = otio.adapters.from_filepath(str(target))
        except Exception:
            raise TimelineError(
                f"output {target}: no OTIO adapter writes '{target.suffix or target.name}' "
                "files; use .otio (or .otioz, .otiod)"
            ) from None
        if not (found.has_feature("write_to_file") or found.has_feature("write_to_string")):
            raise TimelineError(
                f"output {target}: the {found.name} adapter cannot write; use .otio"
            )
    return target


def rebase_relative_urls(
    timeline: otio.schema.Timeline, from_dir: str | os.PathLike, to_dir: str | os.PathLike
) -> int:
    """rebase_relative_urls(timeline, from_dir, to_dir) -> int

    Relative media paths resolve against the timeline's folder; when the output
    goes elsewhere they are rewritten relative to the new folder so the written
    timeline still finds its media. Returns how many URLs changed.
    """
    src, dst = Path(from_dir).resolve(), Path(to_dir).resolve()
    if src == dst:
        return 0
    changed = 0
    for clip in timeline.find_clips():
        refs = clip.media_references().values()
        for ref in refs:
            url = getattr(ref, "target_url", None)
            if not url or "://" in url or Path(url).is_absolute():
                continue
            ref.target_url = Path(os.path.relpath(src / url, dst)).as_posix()
            changed += 1
    return changed
