"""Training and evaluation material: real clips from the shared media folder and generated ones.

The shared folder (``../shared/media`` beside the checkout) is third-party
material for local training and evaluation; nothing from it is committed. Each
clip is decoded once into the front end's tiles and 16 kHz mono sound and cached
as ``.npz`` under the cache folder.

Splits are by speaker or source, fixed here so that every run (training,
calibration, benchmarks) agrees: ``VALIDATION`` is never trained on nor used for
calibration; ``CALIBRATION`` fits the confidence mapping.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from otio_avsync.files import atomic_path
from otio_avsync.model.frontend import AUDIO_RATE, FRAME_WIDTH, picture_tiles

#: Repositories kept for independent evaluation of the product: never trained,
#: tuned, calibrated nor validated on, although ../shared/media holds copies of
#: some of their files.
HELD_OUT_REPOSITORIES = frozenset(
    {
        "v-iashin/BMT",
        "DAMO-NLP-SG/Video-LLaMA",
        "Zulko/moviepy",
        "ajay-sainy/Wav2Lip-GFPGAN",
        "bytedance/LatentSync",
        "facebookresearch/VisualVoice",
        "nicknochnack/LipNet",
        "rizkiarm/LipNet",
        "smeetrs/deep_avsr",
        "v-iashin/SparseSync",
        "v-iashin/SpecVQGAN",
        "yiranran/Audio-driven-TalkingFace-HeadPose",
        "v-iashin/Synchformer",
    }
)
#: File-name marks of the held-out repositories' copies (the manifest names its
#: repository too; folders of clips may not). ``video_features`` is the same
#: author's, whose samples the held-out repositories share.
_HELD_OUT_MARKS = ("SpecVQGAN", "moviepy", "Video-LLaMA__", "LatentSync", "video_features__")


def held_out(name: str, repo: str = "") -> bool:
    """Whether a clip comes from a repository kept for independent evaluation."""
    return repo in HELD_OUT_REPOSITORIES or any(m in name for m in _HELD_OUT_MARKS)


#: Never trained on nor calibrated on; the benchmark's (bench/bench_model.py).
#: Speaker-disjoint from training: VidTIMIT's fadg0, VoxCeleb2 identities (PC-AVS's
#: samples; 7414* are one identity), HDTF speakers; clips of the same recording
#: under other names (the AOC HDTF clip) sit in one split.
VALIDATION = frozenset(
    {
        # talking faces, sync trusted by origin
        *(
            f"Text2Video-VidTIMIT__fadg0_{s}.mkv"
            for s in (
                *("sa1", "sa2", "si1279", "si1909", "si649"),
                *("sx109", "sx19", "sx199", "sx289", "sx379"),
            )
        ),
        "PC-AVS__misc_Audio_Source_00015.mp4",
        "PC-AVS__misc_Audio_Source_00373.mp4",
        "PC-AVS__misc_Audio_Source_741400104.mp4",
        "PC-AVS__misc_Pose_Source_741400163.mp4",
        "PC-AVS__misc_Input_00002.mp4",
        "PC-AVS__misc_Input_00098.mp4",
        "PC-AVS__misc_Pose_Source_00473.mp4",
        "PC-AVS__misc_Pose_Source_517600055.mp4",
        "SadTalker__examples_ref_video_WDA_KatieHill_000.mp4",
        "SadTalker__test_examples_source_image_RD_Radio34_000.mp4",
        "SadTalker__test_examples_source_image_WDA_EdMarkey0_000.mp4",
        # talking faces whose own sync is not vouched for
        "AniPortrait__configs_inference_head_pose_temp_pose_ref_video.mp4",
        "styletalk__paired_reagan_clip1.mkv",
        "styletalk__paired_KristiNoem.mkv",
        "video-retalking__examples_face_2.mp4",
        "video-retalking__examples_face_5.mp4",
        "Wav2Lip__checkpoints_test.mov",
        "astorfi-lipreading__data_sample_video.mp4",
        # non-speech events
        "deb-pd-extendedview__diver.mov",
        "deb-renpy-demo__oa4_launch.webm",
        "CondFoleyGen__data_demo_video_chopping.mp4",
        "CondFoleyGen__data_demo_video_hitting_bag.mp4",
        "CondFoleyGen__data_demo_video_hitting_metal.mp4",
        "Video-LLaVA__videollava_serve_examples_sample_demo_22.mp4",
        "decord__examples_flipping_a_pancake.mkv",
    }
)

#: Fits the confidence calibration; not trained on. GRID clips join it by
#: :data:`GRID_CALIBRATION_EVERY`.
CALIBRATION = frozenset(
    {
        "PC-AVS__misc_Pose_Source_796100172.mp4",
        "PC-AVS__misc_Audio_Source_00086.mp4",
        "PC-AVS__misc_Audio_Source_681100216.mp4",
        "PC-AVS__misc_Input_00010.mp4",
        "SadTalker__test_examples_source_image_WDA_BobMenendez_000.mp4",
        "SadTalker__test_examples_source_image_RD_Radio2_000.mp4",
        "SadTalker__examples_ref_video_WDA_AlexandriaOcasioCortez_000.mp4",
        "V-Express__test_samples_short_case_AOC_gt.mp4",
        "video-retalking__examples_face_3.mp4",
        "styletalk__paired_feifeili_clip1.mkv",
        "styletalk__paired_feifeili_clip2_short.mkv",
        "styletalk__paired_feifeili_clip3.mkv",
        "DH_live__video_data_000001_video.mp4",
        "deb-python3-hug-doc__movie.mp4",
        "deb-forensics-samples-files__movie-hello.mp4",
    }
)
#: Every this-many-th GRID sentence (sorted by name) calibrates instead of training.
GRID_CALIBRATION_EVERY = 17

#: File-name marks of the talking-face sources, which figures are reported by.
_SOURCE_MARKS = (
    ("GRID", "GRID"),
    ("VidTIMIT", "VidTIMIT"),
    ("PC-AVS__", "VoxCeleb2"),
    ("_WDA_", "HDTF"),
    ("_RD_", "HDTF"),
    ("AOC_gt", "HDTF"),
)
#: Sources whose sync is trusted by origin (../shared/README.md): the rest
#: (lip-sync projects' inputs, StyleTalk muxes) may carry offsets of their own.
TRUSTED_SOURCES = frozenset({"GRID", "VidTIMIT", "VoxCeleb2", "HDTF"})
#: Studio recordings form their own pool (one clean frontal speaker each).
STUDIO_SOURCES = ("GRID", "VidTIMIT")


def source_of(name: str, pool: str) -> str:
    """The source a figure is reported by: GRID, VidTIMIT, VoxCeleb2, HDTF, talk-other, ..."""
    if pool not in ("talk", "studio"):
        return pool
    return next((source for mark, source in _SOURCE_MARKS if mark in name), "talk-other")


def trusted_talk(name: str) -> bool:
    """Whether a talking-face clip's own sync is trusted by its origin."""
    return source_of(name, "talk") in TRUSTED_SOURCES


#: Manifest category -> data pool.
_POOLS = {"TALK": "talk", "TALK?": "talk", "AV": "events", "GEN": "generated"}


@dataclass
class Clip:
    """One clip as the model sees it; ``audio`` starts with the first frame."""

    name: str
    pool: str  # studio | talk | events | generated | synthetic
    split: str  # train | val | calib
    fps: float
    tiles: np.ndarray  # uint8 (F, tile, 2*tile)
    mouth_boxes: np.ndarray  # float32 (F, 4)
    audio: np.ndarray  # float32 (M,) at AUDIO_RATE
    path: str = ""  # the source file, for estimators that decode it themselves
    geometry: np.ndarray | None = None  # float32 (F, G) lip geometry, if the model reads it

    @property
    def source(self) -> str:
        return source_of(self.name, self.pool)

    @property
    def duration_s(self) -> float:
        return len(self.tiles) / self.fps


def default_media_dir() -> Path | None:
    """``$OTIO_AVSYNC_MEDIA`` or ``../shared/media`` beside the checkout, if present."""
    env = os.environ.get("OTIO_AVSYNC_MEDIA")
    candidates = [Path(env)] if env else []
    # From a checkout the package sits two levels below the project root; an
    # installed package (the venv of `make`) does not, so also look from the
    # working directory, which is the project root for `make` and CI.
    here = Path(__file__).resolve()
    cwd = Path.cwd().resolve()
    candidates += [p / "shared" / "media" for p in (*here.parents[2:4], cwd.parent, cwd)]
    for c in candidates:
        if (c / "manifest.json").is_file():
            return c
    return None


def default_clips_dir() -> Path | None:
    """``$OTIO_AVSYNC_CLIPS``: a folder of clips laid out by ``extract.py``, if set."""
    env = os.environ.get("OTIO_AVSYNC_CLIPS")
    return Path(env) if env else None


def default_cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "otio-avsync"


def split_of(name: str) -> str:
    if name in VALIDATION:
        return "val"
    if name in CALIBRATION:
        return "calib"
    return "train"


def decode_clip(
    path: Path,
    *,
    max_s: float = 30.0,
    tile: int = 32,
    mouth: str = "haar",
    geometry: bool = False,
) -> dict[str, np.ndarray]:
    """decode_clip(path) -> arrays fps, tiles, boxes, audio (int16), geometry for ``max_s`` s."""
    from otio_avsync.decode import probe, read_audio, read_video

    info = probe(path)
    if info.video is None or not info.audio:
        raise ValueError(f"{path} needs picture and sound")
    dur = min(max_s, float(info.video.duration_s or max_s))
    video = read_video(path, 0.0, dur, width=FRAME_WIDTH, gray=True)
    fps = float(info.video.fps or 25.0)
    start = float(video.times[0]) if len(video.times) else 0.0
    audio = read_audio(path, start, len(video.frames) / fps, rate=AUDIO_RATE).samples
    pt = picture_tiles(video.frames, tile, mouth=mouth, geometry=geometry)
    out = {
        "fps": np.float64(fps),
        "tiles": pt.tiles,
        "boxes": pt.mouth_boxes,
        "audio": (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16),
    }
    if pt.geometry is not None:
        out["geometry"] = pt.geometry
    return out


def _cached(
    path: Path, cache: Path, tile: int, mouth: str = "haar", geometry: bool = False
) -> dict[str, np.ndarray]:
    st = path.stat()
    # Bump the version when the front end changes what it computes.
    front = f"{tile}:v1" if mouth == "haar" else f"{tile}:{mouth}:v2"
    if geometry:
        front += ":geometry-v1"
    key = f"{path.name}:{st.st_size}:{st.st_mtime_ns}:{front}"
    key = hashlib.sha1(key.encode()).hexdigest()[:16]
    out = cache / "clips" / f"{path.stem[:60]}-{key}.npz"
    if out.exists():
        with np.load(out) as z:
            return dict(z)
    data = decode_clip(path, tile=tile, mouth=mouth, geometry=geometry)
    out.parent.mkdir(parents=True, exist_ok=True)
    # A private temporary per write: parallel trainings may decode the same clip at once.
    with atomic_path(out) as tmp:
        np.savez(tmp, **data)
    return data


def _to_clip(name: str, pool: str, split: str, data: dict[str, np.ndarray], path: Path) -> Clip:
    return Clip(
        path=str(path),
        name=name,
        pool=pool,
        split=split,
        fps=float(data["fps"]),
        tiles=data["tiles"],
        mouth_boxes=data["boxes"],
        audio=data["audio"].astype(np.float32) / 32767.0,
        geometry=data.get("geometry"),
    )


def _pool(category: str, name: str) -> str:
    pool = _POOLS.get(category, "events")
    return "studio" if pool == "talk" and source_of(name, pool) in STUDIO_SOURCES else pool


def real_clips(
    media_dir: Path,
    cache: Path,
    *,
    splits: tuple[str, ...] = ("train", "val", "calib"),
    tile: int = 32,
    mouth: str = "haar",
    geometry: bool = False,
) -> list[Clip]:
    """Clips listed in ``manifest.json`` (real and generated), decoded through the cache.

    ``tile``, ``mouth`` and ``geometry`` are the front end's (the model's
    ``ModelConfig``). Files of the held-out repositories are never read.
    """
    manifest = json.loads((media_dir / "manifest.json").read_text())
    entries = []
    for rec in manifest:
        name = Path(rec["file"]).name
        if held_out(name, rec.get("repo", "")):
            continue
        pool = _pool(rec.get("category", ""), name)
        split = "train" if pool == "generated" else split_of(name)
        entries.append((name, pool, split, media_dir / rec["file"]))
    return _load(entries, cache, splits, tile=tile, mouth=mouth, geometry=geometry)


def _load(
    entries: list[tuple[str, str, str, Path]],
    cache: Path,
    splits: tuple[str, ...],
    **front: object,
) -> list[Clip]:
    clips = []
    for name, pool, split, path in entries:
        if split not in splits:
            continue
        try:
            data = _cached(path, cache, **front)  # type: ignore[arg-type]
        except Exception as exc:  # a broken third-party file must not stop a run
            print(f"skipping {name}: {exc}")
            continue
        if len(data["tiles"]) < 30:
            continue
        clips.append(_to_clip(name, pool, split, data, path))
    return clips


def folder_sources(folder: Path) -> list[dict[str, str]]:
    """The source records of a folder of clips: its ``sources.json``, else the recipe's.

    A record names a repository (``owner/name``), a path pattern under it and a
    category (TALK, TALK? or AV), as ``../shared/data/train-sources.json`` does.
    """
    own = folder / "sources.json"
    path = own if own.is_file() else Path(__file__).with_name("sources.json")
    return json.loads(path.read_text())


def folder_clips(
    folder: Path,
    cache: Path,
    *,
    splits: tuple[str, ...] = ("train", "val", "calib"),
    tile: int = 32,
    mouth: str = "haar",
    geometry: bool = False,
) -> list[Clip]:
    """Clips under ``folder`` as ``extract.py`` lays them out (``owner+name/<path>``).

    Only files matched by a source record are read; TALK? (who speaks is
    ambiguous) is left out. A clip is named ``<name>__<path with _>`` (the
    manifest's way), GRID sentences ``GRID-<speaker>__<file>``; a record's
    ``split`` puts all its clips there, else :func:`split_of` decides.
    """
    import fnmatch

    entries = []
    for rec in folder_sources(folder):
        cat, repo = rec.get("category", ""), rec["repo"]
        if cat not in ("TALK", "AV") or held_out("", repo):
            continue
        base = folder / repo.replace("/", "+")
        found = sorted(p for p in base.rglob("*") if p.is_file())
        found = [p for p in found if fnmatch.fnmatch(p.relative_to(base).as_posix(), rec["glob"])]
        grid = "GRID corpus" in rec.get("trust", "")
        for i, path in enumerate(found):
            rel = path.relative_to(base).as_posix().replace("/", "_")
            name = (
                f"GRID-{rec.get('speaker', '')}__{path.name}"
                if grid
                else f"{base.name.split('+')[-1]}__{rel}"
            )
            split = rec.get("split") or split_of(name)
            if grid and split == "train" and i % GRID_CALIBRATION_EVERY == 0:
                split = "calib"
            entries.append((name, _pool(cat, name), split, path))
    return _load(entries, cache, splits, tile=tile, mouth=mouth, geometry=geometry)


def synthetic_seeds(seed: int, count: int) -> list[int]:
    """The generator seeds of :func:`synthetic_clips`: ``seed * 1000 + i``.

    The demo (``testmedia.demo_seeds``) keeps clear of them, so that it never
    shows clips the model was trained or calibrated on.
    """
    return [seed * 1000 + i for i in range(count)]


def synthetic_clips(
    cache: Path,
    count: int,
    *,
    seed: int = 0,
    tile: int = 32,
    mouth: str = "haar",
    geometry: bool = False,
) -> list[Clip]:
    """Aligned clips from the test-media generator: mouths, balls, flashes, distractors, rates."""
    from otio_avsync.testmedia import ClipSpec, make_clip

    rng = np.random.default_rng(seed)
    folder = cache / "synthetic"
    clips = []
    for i, clip_seed in enumerate(synthetic_seeds(seed, count)):
        scene = ("mouth", "ball", "flash", "mixed")[i % 4]
        fps = (Fraction(25), Fraction(30), Fraction(24), Fraction(30000, 1001))[
            int(rng.integers(4))
        ]
        spec = ClipSpec(
            duration_s=8.0,
            fps=fps,
            width=int(rng.choice([192, 256, 320])),
            height=int(rng.choice([144, 180])),
            scene=scene,
            distractors=bool(rng.random() < 0.7),
            seed=clip_seed,
            channels=1,
            sample_rate=16000,
        )
        path = folder / f"syn-{seed}-{i:03d}-{scene}.mp4"
        if not path.exists():
            # Generate under a private name, then rename: parallel runs share the cache.
            folder.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp:
                make_clip(tmp, spec)
        data = _cached(path, cache, tile, mouth, geometry)
        clips.append(_to_clip(path.name, "synthetic", "train", data, path))
    return clips
