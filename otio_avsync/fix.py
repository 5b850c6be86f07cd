"""The fix: slip the sound clips of an audited timeline by the accepted offsets.

An audit leaves on every analysed picture clip, per linked sound, how late the
sound is (``offset_ms > 0`` = sound late). Sound late by X ms means that what
belongs at timeline time t plays at t + X, so the fix makes each sound clip read
its media X ms *later* (``source_range.start_time`` + X): the sound moves X ms
earlier against the picture. Only sound clips move; the picture, the cut and
every clip's timeline position stay as they are.

Which offsets are applied:

- an editor's decision on the picture clip wins (written by the review panel
  into ``clip.metadata["otio_avsync"]["decision"]``, or per sound under
  ``sources[i]["decision"]``): ``accept`` applies the estimate even when it is
  uncertain, ``manual`` applies the decision's ``offset_ms``, ``reject`` leaves
  the sound alone;
- otherwise ``out_of_sync`` clips are fixed, ``uncertain`` ones only with
  ``force`` (a guess is not a finding), and ``in_sync`` ones are left alone.

Drift (a track whose consensus is a straight line: a frame-rate conform error)
is fixed clip by clip like any offset, which centres each clip; the speed
change that removes it is *proposed* in the report and, with ``apply_speed``,
applied to every analysed clip of the track as an OTIO ``LinearTimeWarp`` with
the start moved to match.

Everything a fix changes on a clip is recorded first under
``clip.metadata["otio_avsync"]["fix"]`` (the original ``source_range``, whether
the clip had our metadata, the effects it had), so :func:`revert_fixes`
restores the timeline exactly, however many fixes were applied on top.
Sounds that are the picture media's own streams have no clip to slip: they are
reported as not fixable.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import opentimelineio as otio

from otio_avsync import METADATA_KEY
from otio_avsync.errors import AvsyncError
from otio_avsync.metadata import finite, plain, sound_key

__all__ = ["FixEntry", "FixReport", "apply_fixes", "revert_fixes"]

#: Name of the effect the speed fix adds (the metadata key marks it as ours).
SPEED_EFFECT_NAME = "avsync speed fix"


@dataclass
class FixEntry:
    """What the fix did with one picture clip's sound."""

    clip: str  # picture clip name
    sound: str  # sound key: a track name, or stream:LANG
    status: str  # the audit's verdict
    action: str  # "slipped", "skipped", "not_fixable" or "malformed" (metadata unreadable)
    offset_ms: float | None = None  # the offset applied (sound late > 0)
    reason: str = ""
    audio_clips: list[str] = field(default_factory=list)
    time_scalar: float | None = None  # the speed applied, when a speed fix was made


@dataclass
class FixReport:
    """The outcome of :func:`apply_fixes`: one entry per picture clip and sound."""

    entries: list[FixEntry] = field(default_factory=list)
    #: Per drifting track: {"track", "drift_ppm", "cause", "time_scalar", "applied"}.
    speed_proposals: list[dict[str, Any]] = field(default_factory=list)
    #: Sound clips changed (each counted once).
    clips_changed: int = 0

    @property
    def slipped(self) -> list[FixEntry]:
        return [e for e in self.entries if e.action == "slipped"]

    @property
    def not_fixable(self) -> list[FixEntry]:
        return [e for e in self.entries if e.action == "not_fixable"]

    @property
    def unfixed_flagged(self) -> list[FixEntry]:
        """Out-of-sync sounds left as they are, other than by an editor's reject or a fix
        of the same audit already applied."""
        return [
            e
            for e in self.entries
            if e.status == "out_of_sync"
            and e.action != "slipped"
            and "rejected" not in e.reason
            and "already fixed" not in e.reason
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "clips_changed": self.clips_changed,
            "entries": [asdict(e) for e in self.entries],
            "speed_proposals": list(self.speed_proposals),
        }


# -- reading the audit back -----------------------------------------------------------------


def _sources(meta: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(result, decision or None) per sound of an annotated picture clip."""
    top = meta.get("decision") if isinstance(meta.get("decision"), dict) else None
    entries = meta.get("sources") or [meta]
    primary = sound_key(meta.get("audio_source"))
    out = []
    for m in entries:
        if not isinstance(m, dict):
            continue
        decision = m.get("decision") if isinstance(m.get("decision"), dict) else None
        if decision is None and top is not None:
            key = sound_key(m.get("audio_source"))
            target = top.get("source") or primary
            if m is meta or key == target:
                decision = top
        out.append((m, decision))
    return out


# -- what to do per sound -------------------------------------------------------------------


def _choose(
    m: dict[str, Any], decision: dict[str, Any] | None, force: bool
) -> tuple[float | None, str]:
    """(offset to apply or None, why) for one sound's result."""
    status = str(m.get("status") or "")
    estimate = finite(m.get("offset_ms"))
    if decision is not None:
        action = decision.get("action")
        if action == "reject":
            return None, "the editor rejected the estimate"
        if action == "manual":
            off = finite(decision.get("offset_ms"))
            return (off, "manual offset") if off is not None else (None, "manual without offset")
        if action == "accept":
            off = finite(decision.get("offset_ms"))
            off = estimate if off is None else off
            return (off, "accepted") if off is not None else (None, "nothing to accept")
    if status == "out_of_sync":
        return estimate, "out of sync"
    if status == "uncertain":
        if force and estimate is not None:
            return estimate, "uncertain, forced"
        return None, "uncertain: not applied without --force or an editor's accept"
    if status == "in_sync":
        return None, "in sync"
    return None, f"not analysable ({status})"


@dataclass
class _Plan:
    """The changes proposed for one sound clip by the picture clips over it."""

    clip: otio.schema.Clip
    start_s: float  # timeline seconds of the clip's first frame
    lags: list[float] = field(default_factory=list)  # sound late at the clip start, seconds
    entries: list[FixEntry] = field(default_factory=list)
    drift: float = 0.0  # the track's drift (extra lag per second), 0 when it does not drift
    speed: bool = False  # also change the clip's speed to cancel the drift


def _track_drifts(timeline: otio.schema.Timeline) -> dict[str, dict[str, Any]]:
    """Sound key -> the audit's track consensus, for tracks found to drift with confidence."""
    meta = timeline.metadata.get(METADATA_KEY)
    tracks = plain(meta.get("tracks")) if isinstance(meta, Mapping) else None
    out = {}
    for t in tracks or []:
        if (
            isinstance(t, dict)
            and t.get("model") == "drift"
            and t.get("status") in ("in_sync", "out_of_sync")  # judged with confidence
            and finite(t.get("drift_ppm"))
        ):
            out[str(t.get("key"))] = t
    return out


def apply_fixes(
    timeline: otio.schema.Timeline, *, force: bool = False, apply_speed: bool = False
) -> FixReport:
    """apply_fixes(timeline, force=False, apply_speed=False) -> FixReport

    Changes ``timeline`` in place (pass a copy to keep the original). Raises
    :class:`AvsyncError` when the timeline carries no audit.
    """
    from otio_avsync.jobs import placed_clips

    summary = timeline.metadata.get(METADATA_KEY)
    if not isinstance(summary, Mapping) or "summary" not in summary:
        raise AvsyncError(
            "the timeline carries no audit: run 'otio-avsync audit IN -o AUDITED.otio' first"
        )
    report = FixReport()
    drifts = _track_drifts(timeline)
    report.speed_proposals.extend(_speed_proposals(drifts, apply_speed))
    placed = placed_clips(timeline)
    audio = [p for p in placed if p.kind == otio.schema.TrackKind.Audio]
    plans: dict[int, _Plan] = {}
    for pc in placed:
        if pc.kind != otio.schema.TrackKind.Video:
            continue
        meta = pc.clip.metadata.get(METADATA_KEY)
        if not isinstance(meta, Mapping) or "status" not in meta:
            continue
        problem = _malformed(plain(meta))
        if problem:
            report.entries.append(
                FixEntry(
                    clip=pc.clip.name or "",
                    sound="",
                    status="",
                    action="malformed",
                    reason=f"skipped: its otio_avsync metadata is malformed ({problem})",
                )
            )
            continue
        for m, decision in _sources(plain(meta)):
            entry = _plan_sound(pc, m, decision, audio, drifts, plans, force, apply_speed)
            report.entries.append(entry)
    for plan in plans.values():
        problem = _fix_record_problem(plan.clip)
        if problem:
            for e in plan.entries:
                e.action, e.reason = "malformed", f"skipped: {problem}"
            continue
        _apply_plan(plan, report, str(summary.get("audited_at") or ""))
    return report


def _speed_proposals(drifts: dict[str, dict[str, Any]], apply_speed: bool) -> list[dict[str, Any]]:
    """The speed change proposed for each drifting track (applied with ``apply_speed``)."""
    out = []
    for key, t in drifts.items():
        d = float(t["drift_ppm"]) * 1e-6
        out.append(
            {
                "track": key,
                "drift_ppm": round(float(t["drift_ppm"]), 1),
                "cause": t.get("drift_cause"),
                # Media seconds per timeline second that cancel the drift.
                "time_scalar": 1.0 / (1.0 - d),
                "applied": bool(apply_speed),
            }
        )
    return out


def _plan_sound(
    pc: Any,
    m: dict[str, Any],
    decision: dict[str, Any] | None,
    audio: list[Any],
    drifts: dict[str, dict[str, Any]],
    plans: dict[int, _Plan],
    force: bool,
    apply_speed: bool,
) -> FixEntry:
    """What to do with one sound (its result ``m`` and the editor's decision) of the
    picture clip ``pc``: the sound clips under it get the offset in their plan (in
    ``plans``, by clip); the entry says what was done and why."""
    src = m.get("audio_source") if isinstance(m.get("audio_source"), dict) else {}
    key = sound_key(src)
    entry = FixEntry(
        clip=pc.clip.name or "", sound=key, status=str(m.get("status")), action="skipped"
    )
    offset, why = _choose(m, decision, force)
    trend = drifts.get(key)
    speed = apply_speed and trend is not None
    if offset is None and speed and decision is None and m.get("status") == "in_sync":
        offset, why = finite(m.get("offset_ms")), "in sync, speed fix of a drifting track"
    entry.reason = why
    if offset is None:
        return entry
    entry.offset_ms = round(offset, 3)
    if src.get("kind") == "embedded" or not src.get("track"):
        entry.action = "not_fixable"
        entry.reason = (
            "the sound is the picture media's own audio stream: there is no sound clip "
            "to slip (lay the sound on an audio track, or fix the media)"
        )
        return entry
    frame_s = 1.0 / pc.rate
    under = [
        a
        for a in audio
        if a.track_label == src["track"]
        and min(a.end_s, pc.end_s) - max(a.start_s, pc.start_s) > frame_s / 2
    ]
    if not under:
        entry.action = "not_fixable"
        entry.reason = f"no clip of {src['track']} lies under the picture clip"
        return entry
    drift = float(trend["drift_ppm"]) * 1e-6 if trend is not None else 0.0
    entry.action = "slipped"
    entry.audio_clips = [a.clip.name or "" for a in under]
    mid = pc.start_s + pc.duration_s / 2  # the analysed span is centred on the clip
    for a in under:
        plan = plans.setdefault(
            id(a.clip), _Plan(a.clip, a.media_start_s, drift=drift, speed=speed)
        )
        # The offset is measured at the picture clip's middle. A slip centres the
        # clip there; a speed fix follows the drift's line to the clip's start.
        at = a.media_start_s - mid if speed else 0.0
        plan.lags.append(offset / 1000.0 + drift * at)
        plan.entries.append(entry)
    return entry


_STATUSES = {"in_sync", "out_of_sync", "uncertain", "no_audio", "media_missing"} | {
    "unsupported",
    "error",
}


def _malformed(meta: Any) -> str:
    """Why a picture clip's audit metadata cannot be used ('' when it can)."""
    entries = meta.get("sources") if isinstance(meta, dict) else None
    if entries is not None and not isinstance(entries, list):
        return "'sources' is not a list"
    for m in entries or [meta]:
        if not isinstance(m, dict):
            return "a sound's result is not a mapping"
        if m.get("status") not in _STATUSES:
            return f"unknown status {m.get('status')!r}"
        src = m.get("audio_source")
        if src is not None and not isinstance(src, dict):
            return "'audio_source' is not a mapping"
        if m.get("offset_ms") is not None and finite(m.get("offset_ms")) is None:
            return f"offset_ms {m.get('offset_ms')!r} is not a number"
        for d in (m.get("decision"), meta.get("decision")):
            if d is not None and not isinstance(d, dict):
                return "'decision' is not a mapping"
    return ""


def _fix_record_problem(clip: otio.schema.Clip) -> str:
    """Why a sound clip's earlier fix record cannot be trusted ('' when fine)."""
    meta = clip.metadata.get(METADATA_KEY)
    if meta is None:
        return ""
    if not isinstance(meta, Mapping):
        return f"sound clip {clip.name!r} has otio_avsync metadata that is not a mapping"
    if "fix" in meta and _original(plain(meta["fix"])) is None:
        return f"the fix record of sound clip {clip.name!r} is malformed"
    return ""


def _original(fix: Any) -> dict[str, Any] | None:
    """The validated ``original`` of a fix record, or None when it is malformed."""
    original = fix.get("original") if isinstance(fix, dict) else None
    if not isinstance(original, dict):
        return None
    rng = original.get("source_range")
    if rng is not None:
        try:
            for part in ("start", "duration"):
                value, rate = float(rng[part]["value"]), float(rng[part]["rate"])
                if not (math.isfinite(value) and math.isfinite(rate) and rate > 0):
                    return None
        except (KeyError, TypeError, ValueError):
            return None
    if finite(original.get("effects", 0)) is None:
        return None
    return original


def _apply_plan(plan: _Plan, report: FixReport, audit_stamp: str) -> None:
    """Slip (and with a drift, speed up or slow down) one sound clip, recording the original."""
    clip = plan.clip
    # The same audit applied twice would slip twice: the record says which audit and
    # which offsets the last fix used (a re-audit measures new ones).
    stamp = {"audit": audit_stamp, "lags_ms": [round(v * 1000.0, 3) for v in plan.lags]}
    meta = clip.metadata.get(METADATA_KEY)
    last = plain(meta["fix"]).get("last") if isinstance(meta, Mapping) and "fix" in meta else None
    if last == stamp:
        for e in plan.entries:
            e.action = "skipped"
            e.reason = "already fixed for this audit: re-audit before fixing again"
        return
    rng = clip.source_range or clip.trimmed_range()
    rate = rng.start_time.rate or rng.duration.rate or 24.0
    frame_s = 1.0 / rate
    if max(plan.lags) - min(plan.lags) > frame_s:
        for e in plan.entries:
            e.action = "not_fixable"
            e.reason = (
                f"sound clip {clip.name!r} lies under picture clips that need different "
                "offsets: cut it at the picture cuts first"
            )
        return
    lag = statistics.median(plan.lags)
    ours = [e for e in clip.effects if _is_our_effect(e)]
    current = math.prod(e.time_scalar for e in ours) if ours else 1.0
    # A drifting sound holds (1 - drift) seconds of content per second of media, and
    # the clip plays `current` media seconds per timeline second: a lag of `lag`
    # seconds of content is current * lag / (1 - drift) seconds of media.
    factor = 1.0 / (1.0 - plan.drift)
    shift_s = current * factor * lag
    new_start = otio.opentime.RationalTime(
        rng.start_time.value + shift_s * rng.start_time.rate, rng.start_time.rate
    )
    scalar = current * factor if plan.speed else current
    problem = _outside_media(clip, new_start, rng.duration, scalar)
    if problem:
        for e in plan.entries:
            e.action = "not_fixable"
            e.reason = problem
        return
    _record_original(clip)
    clip.source_range = otio.opentime.TimeRange(new_start, rng.duration)
    if plan.speed:
        if ours:
            ours[0].time_scalar = ours[0].time_scalar * factor
        else:
            clip.effects.append(
                otio.schema.LinearTimeWarp(
                    name=SPEED_EFFECT_NAME,
                    time_scalar=factor,
                    metadata={METADATA_KEY: {"fix": True}},
                )
            )
    fix = clip.metadata[METADATA_KEY]["fix"]
    fix["slip_ms"] = round(float(fix.get("slip_ms", 0.0)) + shift_s * 1000.0, 4)
    fix["time_scalar"] = scalar
    fix["applied"] = int(fix.get("applied", 0)) + 1
    fix["last"] = stamp
    for e in plan.entries:
        if plan.speed:
            e.time_scalar = scalar
    report.clips_changed += 1


def _outside_media(
    clip: otio.schema.Clip,
    start: otio.opentime.RationalTime,
    duration: otio.opentime.RationalTime,
    speed: float,
) -> str:
    """Why the slipped clip would read beyond its media ('' when it stays inside)."""
    ref = clip.media_reference
    avail = getattr(ref, "available_range", None) if ref is not None else None
    if avail is None:
        return ""
    a0 = avail.start_time.to_seconds()
    a1 = avail.end_time_exclusive().to_seconds()
    s0 = start.to_seconds()
    s1 = s0 + duration.to_seconds() * speed
    eps = 1e-6
    if s0 < a0 - eps:
        return f"slipping {clip.name!r} needs {a0 - s0:.3f} s of media before its start"
    if s1 > a1 + eps:
        return f"slipping {clip.name!r} needs {s1 - a1:.3f} s of media after its end"
    return ""


def _is_our_effect(effect: Any) -> bool:
    meta = getattr(effect, "metadata", {}) or {}
    return isinstance(effect, otio.schema.LinearTimeWarp) and METADATA_KEY in meta


def _time(t: otio.opentime.RationalTime) -> dict[str, float]:
    return {"value": float(t.value), "rate": float(t.rate)}


def _record_original(clip: otio.schema.Clip) -> None:
    """Keep what the first fix of a clip changes, so that revert restores it exactly."""
    had = METADATA_KEY in clip.metadata
    meta = clip.metadata.get(METADATA_KEY) if had else None
    if isinstance(meta, Mapping) and "fix" in meta:
        return  # fixed before: the original is already recorded
    rng = clip.source_range
    original: dict[str, Any] = {
        "had_metadata": had,
        "source_range": None
        if rng is None
        else {"start": _time(rng.start_time), "duration": _time(rng.duration)},
        "effects": len(clip.effects),
    }
    if not had:
        clip.metadata[METADATA_KEY] = {}
    clip.metadata[METADATA_KEY]["fix"] = {"original": original}


def revert_fixes(timeline: otio.schema.Timeline, problems: list[str] | None = None) -> int:
    """revert_fixes(timeline, problems=None) -> number of sound clips restored.

    A clip whose fix record is malformed is left as it is, with a sentence in
    ``problems``.
    """
    restored = 0
    for clip in timeline.find_clips():
        meta = clip.metadata.get(METADATA_KEY)
        if not isinstance(meta, Mapping) or "fix" not in meta:
            continue
        original = _original(plain(meta["fix"]))  # a copy: the metadata below is deleted
        if original is None:
            if problems is not None:
                problems.append(f"{clip.name!r}: its fix record is malformed; left as it is")
            continue
        rng = original.get("source_range")
        if rng is None:
            clip.source_range = None
        else:
            s, d = rng["start"], rng["duration"]
            clip.source_range = otio.opentime.TimeRange(
                otio.opentime.RationalTime(s["value"], s["rate"]),
                otio.opentime.RationalTime(d["value"], d["rate"]),
            )
        keep = int(finite(original.get("effects", len(clip.effects))) or 0)
        effects = [e for i, e in enumerate(clip.effects) if i < keep or not _is_our_effect(e)]
        if len(effects) != len(clip.effects):
            clip.effects[:] = effects
        del meta["fix"]
        if not original.get("had_metadata", True) and not len(meta):
            del clip.metadata[METADATA_KEY]
        restored += 1
    return restored
