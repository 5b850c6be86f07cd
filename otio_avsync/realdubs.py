"""Dub reels made the way real dubs are made, from real speech and real beds.

A dub's mix is built from the same music-and-effects stems (the M&E) as the
original's, under dialogue recorded by other speakers with their own timing;
the M&E is often remixed for the dub (EQ, level rides, a bus compressor, a
different balance of the music and effects stems). Synthetic dubs whose
"dialogue" sits on the original's onsets overstate any alignment method, so the
benchmark and the real-media tests use these reels:

- **Picture**: V1 cuts real talking clips back to back, each playing its own
  camera file (the picture's own sound is not used).
- **Original mix** (``A1 ORIG``): one continuous file under the whole reel:
  each clip's own dialogue over a continuous bed made of real non-speech
  recordings (music, effects or both), at ``bed_db`` against the dialogue
  (RMS of the bed against the RMS of the dialogue where it speaks), or no bed.
- **Dubs** (``A<n> DUB <lang>``): one continuous file per language: dialogue
  of speakers who are not in the original, with its own timing, over the same
  stems remixed as the :class:`DubSpec` says; each dub clip reads its file
  from where the editor put it: slipped by a known amount (one slip for the
  whole track, one per clip, or a jump after an edit), at a wrong speed for
  a conform error.

Nothing is downloaded: the caller passes clips (``../shared/media`` in this
project's benchmark); :func:`sources_from_manifest` picks them from a
manifest, split so that tuning and measuring never share a speaker or a bed.
Ground truth follows :mod:`otio_avsync.testdubs`: a dub clip covering timeline
time ``t`` reads its file at ``t - L``; a file playing ``speed`` times too slow
is late there by ``t - (t - L) / speed``, evaluated at the clip's middle.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import opentimelineio as otio
from scipy import signal

# Repositories kept for independent evaluation (``../shared/data/README.md``): their
# files are never used here, even where a copy sits in the media folder.
from otio_avsync.model.corpus import HELD_OUT_REPOSITORIES
from otio_avsync.testdubs import DubTruth, _write_wav
from otio_avsync.testmedia import TRUTH_METADATA_KEY

__all__ = [
    "HELD_OUT_REPOSITORIES",
    "DubSpec",
    "RealSources",
    "load_audio",
    "make_real_dub_timeline",
    "sources_from_manifest",
]

#: Beds: file-name fragments of the non-speech clips used as music stems (the rest
#: of the non-speech clips are effects stems), and the split each bed belongs to.
_MUSIC = ("00003491", "hug-doc")
_TUNE_BEDS = ("diver", "GGSY", "demo_3", "hug-doc", "VID_2019")
#: Talking clips of the tuning split (by source); every other source is held out.
_TUNE_TALK = ("PC-AVS", "VidTIMIT")
RATE = 48000


def speaker_of(name: str) -> str:
    """A speaker (or recording) key: clips of one key never face each other as dub and original.

    Several files in the media folder are the same recording under other names
    (an HDTF clip reused by three projects); they share a key.
    """
    if re.search(r"AlexandriaOcasio|AOC|RD_Radio10|retalking__examples_face_3", name):
        return "aoc"
    m = re.search(r"PC-AVS__misc_\w+?_(\d+)\.mp4", name)
    if m:
        n = m.group(1)
        return "vox" + (n[:4] if len(n) > 5 else n)
    if "VidTIMIT" in name:
        return name.split("__")[1].split("_")[0]
    m = re.search(r"paired_([A-Za-z]+)", name)
    return m.group(1).lower() if m else Path(name).stem


@dataclass(frozen=True)
class RealSources:
    """Talking clips (speaker key, path) and non-speech beds (``music``/``effects``, path)."""

    talk: tuple[tuple[str, Path], ...]
    beds: tuple[tuple[str, Path], ...]


def sources_from_manifest(media_dir: str | Path, split: str = "tune") -> RealSources:
    """sources_from_manifest(media_dir, split="tune") -> RealSources

    ``split`` is ``tune`` (where thresholds may be chosen) or ``held`` (where they
    are only measured); files of :data:`HELD_OUT_REPOSITORIES` are never taken.
    """
    if split not in ("tune", "held"):
        raise ValueError(f"split must be 'tune' or 'held', not {split!r}")
    media_dir = Path(media_dir)
    records = json.loads((media_dir / "manifest.json").read_text())
    talk, beds = [], []
    for rec in records:
        if rec.get("repo") in HELD_OUT_REPOSITORIES:
            continue
        name, path = rec["file"], media_dir / rec["file"]
        if not path.is_file() or not rec.get("acodec"):
            continue
        tune = split == "tune"
        if rec["category"] == "TALK" and rec.get("duration_s", 0) >= 2.5:
            if any(k in name for k in _TUNE_TALK) == tune:
                talk.append((speaker_of(name), path))
        elif (
            rec["category"] == "AV"
            and rec.get("speech_frac", 1.0) <= 0.35
            and any(k in name for k in _TUNE_BEDS) == tune
        ):
            beds.append(("music" if any(k in name for k in _MUSIC) else "effects", path))
    return RealSources(tuple(sorted(talk)), tuple(sorted(beds)))


@dataclass(frozen=True)
class DubSpec:
    """One dub track: how its M&E was remixed and how its clips are placed.

    ``slip_ms``: one slip for the whole track; ``clip_slip_ms``: each clip slipped by
    its own amount drawn within ±that (added to ``slip_ms``); ``jump_at``/``jump_ms``:
    from that clip on, this much more; ``speed``: the file plays this many times too
    slow (a conform error). ``remix``: ``none``, ``eq``, ``ride``, ``comp`` (a bus
    compressor over the whole dub mix), ``stems`` (another balance of the music
    and effects stems) or ``all``.
    """

    remix: str = "none"
    slip_ms: float = 0.0
    clip_slip_ms: float = 0.0
    jump_at: int | None = None
    jump_ms: float = 0.0
    speed: Fraction | float = 1

    @property
    def drift_ppm(self) -> float:
        return (1.0 - 1.0 / float(self.speed)) * 1e6


def load_audio(path: Path, rate: int = RATE) -> np.ndarray:
    """load_audio(path, rate=48000) -> the whole first sound stream, mono float64."""
    from otio_avsync.decode import probe, read_audio

    dur = probe(path).duration_s or 0.0
    return read_audio(path, 0.0, dur, rate=rate).samples.astype(np.float64)


def _active_rms(x: np.ndarray) -> float:
    """RMS where the signal speaks: 20 ms frames within 35 dB of the loudest."""
    n = len(x) // 960 * 960
    frames = x[:n].reshape(-1, 960)
    e = np.sqrt(np.mean(frames**2, axis=1))
    if not len(e) or e.max() <= 0:
        return 0.0
    return float(np.sqrt(np.mean(frames[e > e.max() * 10 ** (-35 / 20)] ** 2)))


def _bed_stem(clips: Sequence[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of bed: the clips one after another, joined by half-second crossfades.

    Each clip plays once before any repeats, and a repeat is played 3-10 % faster or
    slower (pitch and tempo): a film's M&E does not loop a few seconds of sound
    sample for sample, and such a loop would make any alignment ambiguous.
    """
    out = np.zeros(n)
    if not clips:
        return out
    fade = RATE // 2
    order: list[int] = []
    played: set[int] = set()
    pos = 0
    while pos < n:
        if not order:
            order = [int(i) for i in rng.permutation(len(clips))]
        index = order.pop()
        clip = clips[index]
        if index in played:
            factor = 1 + rng.uniform(0.03, 0.10) * rng.choice([-1, 1])
            ratio = Fraction(factor).limit_denominator(200)
            clip = signal.resample_poly(clip, ratio.numerator, ratio.denominator)
        played.add(index)
        clip = clip / (np.sqrt(np.mean(clip**2)) + 1e-12)
        seg = clip.copy()
        f = min(fade, len(seg) // 2)
        seg[:f] *= np.linspace(0.0, 1.0, f)
        seg[-f:] *= np.linspace(1.0, 0.0, f)
        m = min(len(seg), n - pos)
        out[pos : pos + m] += seg[:m]
        pos += max(len(seg) - f, RATE)
    return out


def _eq(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    sos = signal.butter(2, rng.uniform(120.0, 400.0), "highpass", fs=RATE, output="sos")
    y = signal.sosfilt(sos, x)
    b, a = signal.iirpeak(rng.uniform(800.0, 5000.0), 1.2, fs=RATE)
    return y + rng.uniform(-0.6, 0.6) * signal.lfilter(b, a, y)


def _ride(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(len(x)) / RATE
    depth = rng.uniform(3.0, 8.0)
    gain_db = depth * np.sin(2 * np.pi * t / rng.uniform(4.0, 15.0) + rng.uniform(0, 2 * np.pi))
    return x * 10 ** (gain_db / 20)


def _compress(x: np.ndarray, ratio: float = 4.0) -> np.ndarray:
    """A feed-forward compressor: 10 ms attack, 150 ms release, threshold at the median level."""
    level = np.abs(x)
    env = np.empty_like(level)
    att, rel = np.exp(-1 / (0.010 * RATE)), np.exp(-1 / (0.150 * RATE))
    # Attack/release smoothing, in blocks of one millisecond (a Python loop per sample is slow).
    block = RATE // 1000
    peaks = level[: len(level) // block * block].reshape(-1, block).max(axis=1)
    e, out = 0.0, np.empty(len(peaks))
    a_blk, r_blk = att**block, rel**block
    for i, p in enumerate(peaks):
        e = a_blk * e + (1 - a_blk) * p if p > e else r_blk * e + (1 - r_blk) * p
        out[i] = e
    env[: len(out) * block] = np.repeat(out, block)
    env[len(out) * block :] = out[-1] if len(out) else 0.0
    thr = float(np.median(env[env > 0])) if np.any(env > 0) else 1.0
    gain = np.where(env > thr, (np.maximum(env, 1e-12) / thr) ** (1 / ratio - 1), 1.0)
    return x * gain


def _dialogue(
    lines: Sequence[np.ndarray],
    starts: Sequence[int],
    lengths: Sequence[int],
    n: int,
    rng: np.random.Generator,
    *,
    own_timing: bool,
) -> np.ndarray:
    """A dialogue stem: one line per clip, in place (original) or with its own timing (dub)."""
    out = np.zeros(n)
    for line, s, length in zip(lines, starts, lengths, strict=True):
        if own_timing:  # another speaker's take: its own start and length within the clip
            s += int(rng.integers(0, RATE * 2 // 5))
            a = int(rng.integers(0, max(1, len(line) - length)))
            line = line[a : a + length]
        seg = line[: max(0, min(length, n - s))]
        out[s : s + len(seg)] += seg
    return out


@dataclass
class _Reel:
    """The layout of one reel: its picture clips and where everything lies, in samples."""

    name: str
    picks: list[Path]
    lengths: list[int]
    head: int
    total: int
    bed_db: float | None
    bed: str
    orig_path: Path | None = None
    dub_paths: dict[str, Path] = field(default_factory=dict)

    @property
    def starts(self) -> list[int]:
        return [int(x) for x in np.cumsum([self.head, *self.lengths[:-1]])]


def _pools(sources: RealSources, rng: np.random.Generator) -> tuple[list[Path], list[Path]]:
    """Talking clips for the original and for the dubs: no speaker in both."""
    speakers = sorted({s for s, _ in sources.talk})
    if len(speakers) < 2:
        raise ValueError("realistic dubs need talking clips of at least two speakers")
    rng.shuffle(speakers)
    orig_speakers = set(speakers[: max(1, len(speakers) // 2)])
    orig_pool = [p for s, p in sources.talk if s in orig_speakers]
    dub_pool = [p for s, p in sources.talk if s not in orig_speakers]
    return (orig_pool, dub_pool) if len(orig_pool) >= len(dub_pool) else (dub_pool, orig_pool)


def make_real_dub_timeline(
    folder: str | Path,
    sources: RealSources,
    dubs: Mapping[str, DubSpec],
    *,
    bed_db: float | None,
    bed: str = "mix",
    clips: int = 10,
    head_s: float = 14.0,
    seed: int = 0,
    name: str = "reel",
) -> DubTruth:
    """make_real_dub_timeline(folder, sources, {"fra": DubSpec()}, bed_db=-18) -> DubTruth

    ``bed``: ``music``, ``effects`` or ``mix`` (both stems); ``bed_db=None``: no bed
    at all. ``head_s`` of bed before the first clip and after the last leave room
    for slips and the alignment's search.
    """
    folder = Path(folder)
    media = folder / "media"
    media.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 11])
    orig_pool, dub_pool = _pools(sources, rng)
    picks = [orig_pool[i % len(orig_pool)] for i in rng.permutation(max(clips, len(orig_pool)))]
    cache: dict[Path, np.ndarray] = {}

    def audio(p: Path) -> np.ndarray:
        if p not in cache:
            cache[p] = load_audio(p)
        return cache[p]

    frame = RATE // 25  # clips last whole frames of the 25 fps timeline
    lengths = [len(audio(p)) // frame * frame for p in picks[:clips]]
    head = round(head_s * RATE)
    reel = _Reel(name, picks[:clips], lengths, head, 2 * head + sum(lengths), bed_db, bed)
    d_orig = _dialogue(
        [audio(p) for p in reel.picks], reel.starts, lengths, reel.total, rng, own_timing=False
    )
    level = _active_rms(d_orig)
    kinds = {"music": ("music",), "effects": ("effects",), "mix": ("music", "effects")}[bed]
    stems = {
        k: _bed_stem([audio(p) for kind, p in sources.beds if kind == k], reel.total, rng)
        for k in kinds
    }
    gain = 0.0 if bed_db is None else level * 10 ** (bed_db / 20)
    reel.orig_path = media / f"{name}_orig.wav"
    _write_wav(reel.orig_path, _normalise(d_orig + _bed_mix(stems, {}, gain))[None, :], RATE)
    for lang, spec in dubs.items():
        lines = [audio(dub_pool[int(rng.integers(len(dub_pool)))]) for _ in reel.picks]
        d_dub = _dialogue(lines, reel.starts, lengths, reel.total, rng, own_timing=True)
        d_dub *= level / (_active_rms(d_dub) + 1e-12)
        mix = _dub_mix(d_dub, stems, gain, spec, rng)
        reel.dub_paths[lang] = media / f"{name}_dub_{lang}.wav"
        _write_wav(reel.dub_paths[lang], _normalise(mix)[None, :], RATE)
    return _timeline(folder, reel, dubs, rng)


def _bed_mix(stems: Mapping[str, np.ndarray], gains_db: Mapping[str, float], gain: float):
    """The stems summed (each at ``gains_db`` relative to an even balance), at ``gain`` RMS."""
    out = sum((s * 10 ** (gains_db.get(k, 0.0) / 20) for k, s in stems.items()), 0.0)
    if not isinstance(out, np.ndarray):
        return 0.0
    return out / (np.sqrt(np.mean(out**2)) + 1e-12) * gain


def _dub_mix(
    dialogue: np.ndarray,
    stems: Mapping[str, np.ndarray],
    gain: float,
    spec: DubSpec,
    rng: np.random.Generator,
) -> np.ndarray:
    """The dub's mix: its dialogue over the stems remixed as ``spec`` says, at its speed."""
    gains_db = {}
    if spec.remix in ("stems", "all") and len(stems) > 1:
        gains_db = {k: float(rng.uniform(-6, 6)) for k in stems}
    bed = _bed_mix(stems, gains_db, gain)
    if isinstance(bed, np.ndarray):
        if spec.remix in ("eq", "all"):
            bed = _eq(bed, rng)
        if spec.remix in ("ride", "all"):
            bed = _ride(bed, rng)
    mix = dialogue + bed
    if spec.remix in ("comp", "all"):
        mix = _compress(mix)
    speed = Fraction(spec.speed).limit_denominator(100000)
    if speed != 1:  # a file that plays `speed` times too slow: stretched by `speed`
        mix = signal.resample_poly(mix, speed.numerator, speed.denominator)
    return mix


def _normalise(x: np.ndarray) -> np.ndarray:
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    return x * (0.7 / peak) if peak > 0 else x


def _tr(start_s: float, dur_s: float) -> otio.opentime.TimeRange:
    """A time range at 25 fps from seconds."""
    return otio.opentime.TimeRange(
        otio.opentime.RationalTime(start_s * 25, 25), otio.opentime.RationalTime(dur_s * 25, 25)
    )


def _timeline(
    folder: Path, reel: _Reel, dubs: Mapping[str, DubSpec], rng: np.random.Generator
) -> DubTruth:
    from otio_avsync.decode import probe

    assert reel.orig_path is not None
    tl = otio.schema.Timeline(
        name=reel.name, metadata={TRUTH_METADATA_KEY: {"bed_db": reel.bed_db, "bed": reel.bed}}
    )
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    v1.append(otio.schema.Gap(source_range=_tr(0.0, reel.head / RATE)))
    names = [f"{reel.name}_{i:02d}" for i in range(len(reel.picks))]
    spans = [(s / RATE, n / RATE) for s, n in zip(reel.starts, reel.lengths, strict=True)]
    for clip_name, p, (_t0, dur) in zip(names, reel.picks, spans, strict=True):
        v1.append(
            otio.schema.Clip(
                name=clip_name,
                media_reference=otio.schema.ExternalReference(
                    target_url=str(Path(p).resolve()),
                    available_range=_tr(0.0, probe(p).duration_s or dur),
                ),
                source_range=_tr(0.0, dur),
                metadata={TRUTH_METADATA_KEY: {"role": "picture", "source": Path(p).name}},
            )
        )
    ref_name = "A1 ORIG"
    a1 = otio.schema.Track(name=ref_name, kind=otio.schema.TrackKind.Audio)
    a1.append(
        otio.schema.Clip(
            name=f"{reel.name}_orig",
            media_reference=otio.schema.ExternalReference(
                target_url=f"media/{reel.orig_path.name}",
                available_range=_tr(0.0, reel.total / RATE),
            ),
            source_range=_tr(0.0, reel.total / RATE),
        )
    )
    tl.tracks.extend([v1, a1])
    expected: dict[str, dict[str, float]] = {ref_name: dict.fromkeys(names, 0.0)}
    cases: dict[str, DubSpec] = {}
    for lang, spec in dubs.items():
        name = f"A{len(tl.tracks)} DUB {lang}"
        track, expected[name] = _dub_track(name, lang, spec, reel, names, spans, rng)
        cases[name] = spec
        tl.tracks.append(track)
    path = folder / f"{reel.name}.otio"
    otio.adapters.write_to_file(tl, str(path))
    written = [reel.orig_path.resolve(), *(p.resolve() for p in reel.dub_paths.values())]
    return DubTruth(
        path=path,
        rate=Fraction(25),
        expected=expected,
        cases=cases,  # type: ignore[arg-type]
        reference_track=ref_name,
        clip_names=tuple(names),
        media=tuple(written),
    )


def _dub_track(
    track_name: str,
    lang: str,
    spec: DubSpec,
    reel: _Reel,
    names: list[str],
    spans: list[tuple[float, float]],
    rng: np.random.Generator,
) -> tuple[otio.schema.Track, dict[str, float]]:
    """A dub track: each clip reads the dub file from where the editor put it."""
    track = otio.schema.Track(
        name=track_name,
        kind=otio.schema.TrackKind.Audio,
        metadata={"otio_avsync": {"language": lang}},
    )
    track.append(otio.schema.Gap(source_range=_tr(0.0, reel.head / RATE)))
    speed = float(spec.speed)
    expected = {}
    for i, (clip_name, (t0, dur)) in enumerate(zip(names, spans, strict=True)):
        slip = spec.slip_ms
        if spec.clip_slip_ms:
            slip += float(rng.uniform(-spec.clip_slip_ms, spec.clip_slip_ms))
        if spec.jump_at is not None and i >= spec.jump_at:
            slip += spec.jump_ms
        mid = t0 + dur / 2
        expected[clip_name] = (mid - (mid - slip / 1000.0) / speed) * 1000.0
        track.append(
            otio.schema.Clip(
                name=f"{clip_name}_{lang}",
                media_reference=otio.schema.ExternalReference(
                    target_url=f"media/{reel.dub_paths[lang].name}",
                    available_range=_tr(0.0, reel.total / RATE * speed),
                ),
                source_range=_tr(t0 - slip / 1000.0, dur),
                metadata={
                    TRUTH_METADATA_KEY: {
                        "role": "dub",
                        "expected_offset_ms": round(expected[clip_name], 3),
                    }
                },
            )
        )
    return track, expected
