"""Reading and writing timelines safely.

Reads go through any OTIO adapter (EDL, FCP XML, AAF...) with OTIO's errors
turned into one-line :class:`TimelineError` messages; writes are atomic (a
temporary file in the target folder, then a rename) and never replace the input.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import opentimelineio as otio

from otio_avsync import hookstate
from otio_avsync.errors import TimelineError


def read_timeline(path: str | os.PathLike, adapter: str | None = None) -> otio.schema.Timeline:
    """read_timeline(path, adapter=None) -> Timeline

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
            result = otio.adapters.read_from_file(str(p), adapter_name=adapter)
    except otio.exceptions.NoKnownAdapterForExtensionError:
        raise TimelineError(
            f"no OTIO adapter reads '{p.suffix or p.name}' files; "
            "pass --adapter NAME (see 'otiopluginfo')"
        ) from None
    except otio.exceptions.NotSupportedError as exc:
        raise TimelineError(f"cannot read {p}: {exc}") from None
    except Exception as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TimelineError(f"cannot read timeline {p}: {detail}") from None
    if isinstance(result, otio.schema.SerializableCollection):
        timelines = list(result.find_children(descended_from_type=otio.schema.Timeline))
        if len(timelines) != 1:
            raise TimelineError(f"{p} holds {len(timelines)} timelines; audit one at a time")
        result = timelines[0]
    if not isinstance(result, otio.schema.Timeline):
        raise TimelineError(f"{p} does not contain a timeline (found {type(result).__name__})")
    return result


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when two paths name the same file (symlinks and case folded by the OS)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """with atomic_path(target) as tmp: write tmp; it replaces target on success only."""
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise TimelineError(f"output folder does not exist: {folder}")
    fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix, dir=folder)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_atomic(
    target: str | os.PathLike,
    writer: Callable[[Path], None],
    *,
    protect: list[str | os.PathLike] | None = None,
) -> Path:
    """write_atomic(target, writer, protect=[input]) -> Path

    ``writer(tmp_path)`` writes the file; refuses to overwrite any path in ``protect``.
    """
    target = Path(target)
    for p in protect or []:
        if target.exists() and same_file(target, p):
            raise TimelineError(f"refusing to overwrite the input file {p}; choose another output")
    with atomic_path(target) as tmp:
        writer(tmp)
    return target


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

    return write_atomic(target, _write, protect=protect)


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
