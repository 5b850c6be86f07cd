"""The result cache: a job whose inputs have not changed reuses its estimate.

A re-audit after a ``fix`` should redo only the sounds the fix slipped, and an
unchanged timeline should cost next to nothing. An entry is keyed by everything
the estimator's answer depends on: the identity of each media file (path, size,
modification time and a hash of its head), the picture span and, for every sound
clip, its place relative to the picture and its media time (so a slip changes
the key), the estimator (name, class, weights file hash, mouth tracker) and the
settings that reach it (search range, sound padding). The *judgement* (status
against the tolerance, the message) is redone from the cached estimate, so a new
``--tolerance`` or ``--min-confidence`` reuses every entry.

Entries are small JSON files (JSON, not pickle: a cache folder may be shared, and
reading it must never run code), written atomically (a temporary file in the
same folder, then a rename), so concurrent runs never see half an entry and two
runs writing one key write the same content. An entry that does not parse or
does not match its key counts as a miss and is rewritten.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
from dataclasses import asdict
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

from otio_avsync import __version__
from otio_avsync.files import write_bytes_atomic
from otio_avsync.jobs import AnalysisJob

log = logging.getLogger(__name__)

#: Environment variable naming the cache folder (tests point it at a temporary one).
CACHE_ENV = "OTIO_AVSYNC_CACHE"
#: Bump when the entry format or what a key covers changes.
SCHEMA = 1
#: Bytes of each media file's head that go into its identity.
HEAD_BYTES = 256 * 1024


def default_cache_dir() -> Path:
    """``$OTIO_AVSYNC_CACHE``, else the user cache folder (``~/.cache/otio-avsync`` on Linux)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("otio-avsync", appauthor=False))


def _file_digest(path: Path, limit: int | None = None) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        if limit is not None:
            h.update(f.read(limit))
        else:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def estimator_identity(name: str, instance: Any = None) -> dict[str, Any]:
    """What makes one estimator's answers differ from another's, without loading it.

    The class and the packaged weights it may load (hashed: retrained weights
    under the same name are another model), and for the attention models the
    mouth tracker in use (the face mesh when MediaPipe is installed, else Haar
    boxes). Nothing is imported: an unchanged re-audit should cost next to nothing.
    """
    from otio_avsync.estimators import ESTIMATORS

    target = ESTIMATORS[name]
    if instance is not None:
        target = f"{type(instance).__module__}:{type(instance).__qualname__}"
    ident: dict[str, Any] = {"name": name, "class": target}
    if target.startswith("otio_avsync.estimators.attention:"):
        from otio_avsync.model.weights import WEIGHT_FILES, packaged_weights

        ident["weights"] = {v: _weights_digest(packaged_weights(v)) for v in sorted(WEIGHT_FILES)}
        if instance is not None and hasattr(instance, "mouth"):
            ident["mouth"] = instance.mouth
        else:
            ident["mouth"] = "landmarks" if find_spec("mediapipe") is not None else "haar"
    for attr in ("max_blocks", "window_blocks", "peaks", "window_s", "hop_s", "step_ms"):
        value = getattr(instance, attr, None)
        if isinstance(value, int | float):
            ident[attr] = value
    return ident


@functools.lru_cache(maxsize=8)
def _weights_digest(path: Path) -> str:
    return _file_digest(path)


def _json_default(value: Any) -> Any:
    """numpy scalars and arrays as JSON types."""
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class ResultCache:
    """ResultCache(folder): get/put estimates by the key of :meth:`job_key`."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder).expanduser()
        self._media: dict[str, dict[str, Any]] = {}
        self.hits = self.misses = self.corrupt = self.writes = 0

    # -- keys -------------------------------------------------------------------
    def media_identity(self, path: Path) -> dict[str, Any]:
        """Path, size, modification time and a hash of the head of a file (memoised per run)."""
        resolved = str(Path(path).resolve())
        ident = self._media.get(resolved)
        if ident is None:
            st = os.stat(resolved)
            ident = {
                "path": resolved,
                "size": st.st_size,
                "mtime_ns": st.st_mtime_ns,
                "head": _file_digest(Path(resolved), HEAD_BYTES),
            }
            self._media[resolved] = ident
        return ident

    def job_key(
        self, job: AnalysisJob, *, search_ms: float, estimator: dict[str, Any]
    ) -> str | None:
        """The key of a job's estimate; None when it is not analysed or its media is gone."""
        if job.status is not None or job.picture is None or job.picture.path is None:
            return None
        pic = job.picture
        # Only the sound the renderer reads counts: the span and the search range around it.
        pad = min(search_ms / 1000.0, job.audio_pad_s)
        lo, hi = job.span_start_s - pad, job.span_start_s + job.span_duration_s + pad
        heard = [
            s
            for s in job.sound
            if s.path is not None
            and s.timeline_start_s < hi
            and s.timeline_start_s + s.duration_s > lo
        ]
        try:
            sound = [
                {
                    "media": self.media_identity(s.path),
                    "clip": s.clip_name,
                    "at_s": round(s.timeline_start_s - job.span_start_s, 9),
                    "duration_s": round(s.duration_s, 9),
                    "media_time_s": round(s.media_time_s, 9),
                    "origin_s": s.media_origin_s,
                    "stream": s.stream_index,
                    "speed": s.speed,
                }
                for s in heard
            ]
            picture = {
                "media": self.media_identity(pic.path),
                "media_time_s": round(pic.media_time_s, 9),
                "origin_s": pic.media_origin_s,
                "duration_s": round(job.span_duration_s, 9),
            }
        except OSError:
            return None
        doc = {
            "schema": SCHEMA,
            "version": __version__,
            "estimator": estimator,
            "search_ms": search_ms,
            "pad_s": round(pad, 9),
            "picture": picture,
            "sound": sound,
        }
        text = json.dumps(doc, sort_keys=True, default=_json_default)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / f"v{SCHEMA}" / key[:2] / f"{key}.json"

    # -- entries ----------------------------------------------------------------
    def get(self, key: str) -> Any:
        """The cached :class:`~otio_avsync.analysis.JobOutcome`, or None (missing or corrupt)."""
        path = self._path(key)
        try:
            text = path.read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):
            self.misses += 1
            return None
        except OSError as exc:
            log.warning("result cache: cannot read %s: %s", path, exc)
            self.misses += 1
            return None
        try:
            entry = json.loads(text)
            if entry.get("key") != key or entry.get("schema") != SCHEMA:
                raise ValueError("entry does not match its key")
            outcome = _outcome_from(entry)
        except Exception:
            self.corrupt += 1
            self.misses += 1
            log.info("result cache: ignoring a corrupt entry %s", path)
            return None
        self.hits += 1
        return outcome

    def put(self, key: str, outcome: Any) -> None:
        """Store a successful outcome atomically; an unwritable cache is only a warning."""
        if outcome.estimate is None or outcome.status is not None:
            return
        coverage = getattr(outcome, "coverage", None)
        if coverage is not None and coverage.damaged:  # read again next time: it may be fixed
            return
        entry = {"schema": SCHEMA, "key": key, **_outcome_to(outcome)}
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            text = json.dumps(entry, default=_json_default, allow_nan=True)
            write_bytes_atomic(path, text.encode("utf-8"))
        except OSError as exc:
            log.warning("result cache: cannot write %s: %s", path, exc)
            return
        self.writes += 1


def _outcome_to(outcome: Any) -> dict[str, Any]:

    est = outcome.estimate
    return {
        "estimate": {
            "offset_ms": est.offset_ms,
            "confidence": est.confidence,
            "method": est.method,
            "windows": [asdict(w) for w in est.windows],
            "curve_ms": est.curve_ms,
            "curve_score": est.curve_score,
            "at_search_edge": est.at_search_edge,
            "note": est.note,
            "attention": est.attention,
            "evidence": est.evidence,
        },
    }


def _outcome_from(entry: dict[str, Any]) -> Any:
    from otio_avsync.analysis import JobOutcome
    from otio_avsync.estimators.base import Estimate
    from otio_avsync.results import WindowResult

    e = entry["estimate"]
    est = Estimate(
        offset_ms=None if e["offset_ms"] is None else float(e["offset_ms"]),
        confidence=float(e["confidence"]),
        method=str(e["method"]),
        windows=[WindowResult(**w) for w in e["windows"]],
        curve_ms=np.asarray(e["curve_ms"], dtype=np.float64),
        curve_score=np.asarray(e["curve_score"], dtype=np.float64),
        at_search_edge=bool(e["at_search_edge"]),
        note=str(e["note"]),
        attention=e["attention"],
        evidence=dict(e["evidence"]),
    )
    return JobOutcome(estimate=est, cached=True)
