"""Files we write: atomically, checked before any work, with the usual mode.

One home for every writer of the package (timelines, reports, weights, corpus
caches, the result cache): a write either replaces its target whole or leaves
it as it was, and a killed write leaves nothing that a later one does not clean.
Imports nothing above :mod:`otio_avsync.errors`, so every layer can use it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from otio_avsync.errors import TimelineError

__all__ = [
    "TEMP_PREFIX",
    "atomic_path",
    "check_output",
    "clean_stale_temporaries",
    "same_file",
    "write_atomic",
    "write_bytes_atomic",
]


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when two paths name the same file (symlinks and case folded by the OS)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


#: Temporary folders of our writes start with this (then the writer's pid).
TEMP_PREFIX = ".avsync-tmp-"
#: A temporary folder of a live process older than this is stale all the same.
_STALE_AFTER_S = 24 * 3600.0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def clean_stale_temporaries(folder: str | os.PathLike) -> int:
    """clean_stale_temporaries(folder) -> int: remove leftovers of our own killed writes.

    Only folders named ``.avsync-tmp-PID-…`` whose process is gone (or that are a
    day old) are removed: a write killed by SIGKILL leaves one behind.
    """
    import shutil
    import time

    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(TEMP_PREFIX) or not entry.is_dir(follow_symlinks=False):
            continue
        pid_text = entry.name[len(TEMP_PREFIX) :].split("-", 1)[0]
        try:
            age = time.time() - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        if pid_text.isdigit() and _pid_alive(int(pid_text)) and age < _STALE_AFTER_S:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed += 1
    return removed


def _output_folder(target: Path) -> Path:
    return target.parent if str(target.parent) else Path(".")


def check_output(
    target: str | os.PathLike,
    *,
    protect: list[str | os.PathLike] | None = None,
    what: str = "output",
) -> Path:
    """check_output(target, protect=[input], what="output") -> Path

    Everything about an output path that can be known before any work: its
    folder exists and takes new files, it is not a folder itself (except a
    ``.otiod`` bundle), it is not read-only and it is not one of the inputs.
    Raises :class:`TimelineError` with one line.
    """
    target = Path(target)
    folder = _output_folder(target)
    if not folder.exists():
        raise TimelineError(f"{what} {target}: the folder {folder} does not exist")
    if not folder.is_dir():
        raise TimelineError(f"{what} {target}: {folder} is not a folder")
    if target.is_dir() and target.suffix.lower() != ".otiod":
        raise TimelineError(f"{what} {target} is a folder; give a file name")
    if target.exists() and not target.is_dir() and not target.is_file():
        raise TimelineError(f"{what} {target} is not a regular file; give a file name")
    for p in protect or []:
        if target.exists() and Path(p).exists() and same_file(target, p):
            raise TimelineError(f"refusing to overwrite the input file {p}; choose another {what}")
    if target.is_file() and not os.access(target, os.W_OK):
        raise TimelineError(f"{what} {target} is read-only; choose another or make it writable")
    try:  # the one sure test that the folder takes new files (read-only mounts, ACLs)
        probe = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=folder))
        probe.rmdir()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise TimelineError(f"{what} {target}: cannot write in {folder} ({reason})") from None
    return target


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """with atomic_path(target) as tmp: write tmp; it replaces target on success only.

    ``tmp`` does not exist yet (adapters such as ``otioz`` refuse to overwrite)
    and has the target's name, inside a private temporary folder beside it.
    """
    import shutil

    target = Path(target)
    folder = _output_folder(target)
    if not folder.is_dir():
        raise TimelineError(f"output folder does not exist: {folder}")
    clean_stale_temporaries(folder)
    try:
        workdir = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=folder))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise TimelineError(f"cannot write {target}: {reason} in {folder}") from None
    tmp = workdir / target.name
    try:
        yield tmp
        if not tmp.exists():
            raise TimelineError(f"nothing was written for {target}")
        if tmp.is_dir() and target.is_dir():  # a bundle folder (.otiod) replacing another
            os.replace(target, workdir / ".previous")
        try:
            os.replace(tmp, target)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise TimelineError(f"cannot write {target}: {reason}") from None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


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
        if target.exists() and Path(p).exists() and same_file(target, p):
            raise TimelineError(f"refusing to overwrite the input file {p}; choose another output")
    with atomic_path(target) as tmp:
        writer(tmp)
    return target




def write_bytes_atomic(target: str | os.PathLike, data: bytes) -> None:
    """write_bytes_atomic(target, data): a small file replaced whole, with the usual mode.

    For many small files in one folder (the result cache), where a private folder
    per write would cost more than the write: a temporary file beside the target.
    """
    target = Path(target)
    fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=target.parent)
    try:
        mask = os.umask(0o022)
        os.umask(mask)
        os.fchmod(fd, 0o666 & ~mask)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
