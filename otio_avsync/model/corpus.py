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

#: Held out for evaluation (speakers and sources not in training or calibration).
VALIDATION = frozenset(
    {
        # talking faces
        "AniPortrait__configs_inference_head_pose_temp_pose_ref_video.mp4",
        "LatentSync__assets_demo1_video.mp4",
        "PC-AVS__misc_Audio_Source_00015.mp4",
        "PC-AVS__misc_Audio_Source_741400104.mp4",
        "PC-AVS__misc_Input_00098.mp4",
        "PC-AVS__misc_Pose_Source_00473.mp4",
        "SadTalker__examples_ref_video_WDA_KatieHill_000.mp4",
        "SadTalker__test_examples_source_image_RD_Radio34_000.mp4",
        "styletalk__paired_reagan_clip1.mkv",
        "styletalk__paired_KristiNoem.mkv",
        "video-retalking__examples_face_2.mp4",
        "video-retalking__examples_face_5.mp4",
        "Wav2Lip__checkpoints_test.mov",
        "astorfi-lipreading__data_sample_video.mp4",
        # non-speech events
        "SpecVQGAN__data_vggsound_video_-1pRmoJIGQc_10000_20000.mp4",
        "SpecVQGAN__data_vggsound_video_3HgbEKrbA9s_54000_64000.mp4",
        "SpecVQGAN__data_vggsound_video_54bz5yqN2IA_4000_14000.mp4",
        "SpecVQGAN__data_vggsound_video_7tMPoaU2oL4_0_10000.mp4",
        "SpecVQGAN__data_vggsound_video_D1NO38P8vqI_284000_294000.mp4",
        "Video-LLaMA__examples_boat.mp4",
        "moviepy__media_chaplin.mp4",
        "deb-pd-extendedview__diver.mov",
        "deb-renpy-demo__oa4_launch.webm",
        "video_features__sample_v_GGSY1Qvo990.mp4",
    }
)

#: Fits the confidence calibration; not trained on.
CALIBRATION = frozenset(
    {
        "PC-AVS__misc_Pose_Source_796100172.mp4",
        "PC-AVS__misc_Audio_Source_00086.mp4",
        "SadTalker__test_examples_source_image_WDA_BobMenendez_000.mp4",
        "video-retalking__examples_face_3.mp4",
        "styletalk__paired_feifeili_clip1.mkv",
        "styletalk__paired_feifeili_clip2_short.mkv",
        "styletalk__paired_feifeili_clip3.mkv",
        "DH_live__video_data_000001_video.mp4",
        "SpecVQGAN__data_vggsound_video_0nib7bMm8BA_15000_25000.mp4",
        "SpecVQGAN__data_vggsound_video_6zlMP_kQ_-w_30000_40000.mp4",
        "Video-LLaMA__examples_IronMan.mp4",
        "deb-python3-hug-doc__movie.mp4",
        "moviepy__media_audrey.mp4",
    }
)

#: Talking-face sources whose sync is trusted by origin (../shared/README.md): VoxCeleb2
#: (PC-AVS's samples), HDTF (WDA_* / RD_* names) and VidTIMIT. The rest (lip-sync
#: projects' inputs, StyleTalk muxes) may carry offsets of their own.
TRUSTED_TALK = ("PC-AVS__", "_WDA_", "_RD_", "VidTIMIT")


def trusted_talk(name: str) -> bool:
    """Whether a talking-face clip's own sync is trusted by its origin."""
    return any(mark in name for mark in TRUSTED_TALK)


#: Manifest category -> data pool.
_POOLS = {"TALK": "talk", "TALK?": "talk", "AV": "events", "GEN": "generated"}


@dataclass
class Clip:
    """One clip as the model sees it; ``audio`` starts with the first frame."""

    name: str
    pool: str  # talk | events | generated | synthetic
    split: str  # train | val | calib
    fps: float
    tiles: np.ndarray  # uint8 (F, tile, 2*tile)
    mouth_boxes: np.ndarray  # float32 (F, 4)
    audio: np.ndarray  # float32 (M,) at AUDIO_RATE
    path: str = ""  # the source file, for estimators that decode it themselves

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
    path: Path, *, max_s: float = 30.0, tile: int = 32, mouth: str = "haar"
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """decode_clip(path) -> (fps, tiles, mouth_boxes, audio) for the first ``max_s`` seconds."""
    from otio_avsync.decode import probe, read_audio, read_video

    info = probe(path)
    if info.video is None or not info.audio:
        raise ValueError(f"{path} needs picture and sound")
    dur = min(max_s, float(info.video.duration_s or max_s))
    video = read_video(path, 0.0, dur, width=FRAME_WIDTH, gray=True)
    fps = float(info.video.fps or 25.0)
    start = float(video.times[0]) if len(video.times) else 0.0
    audio = read_audio(path, start, len(video.frames) / fps, rate=AUDIO_RATE).samples
    pt = picture_tiles(video.frames, tile, mouth=mouth)
    return fps, pt.tiles, pt.mouth_boxes, audio.astype(np.float32)


def _cached(path: Path, cache: Path, tile: int, mouth: str = "haar") -> dict[str, np.ndarray]:
    st = path.stat()
    # Bump the version when the front end changes what it computes.
    front = f"{tile}:v1" if mouth == "haar" else f"{tile}:{mouth}:v2"
    key = hashlib.sha1(f"{path.name}:{st.st_size}:{st.st_mtime_ns}:{front}".encode()).hexdigest()
    key = key[:16]
    out = cache / "clips" / f"{path.stem[:60]}-{key}.npz"
    if out.exists():
        with np.load(out) as z:
            return dict(z)
    fps, tiles, boxes, audio = decode_clip(path, tile=tile, mouth=mouth)
    out.parent.mkdir(parents=True, exist_ok=True)
    # A private temporary per write: parallel trainings may decode the same clip at once.
    with atomic_path(out) as tmp:
        np.savez(
            tmp,
            fps=np.float64(fps),
            tiles=tiles,
            boxes=boxes,
            audio=(audio * 32767).astype(np.int16),
        )
    return {
        "fps": np.float64(fps),
        "tiles": tiles,
        "boxes": boxes,
        "audio": (audio * 32767).astype(np.int16),
    }


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
    )


def real_clips(
    media_dir: Path,
    cache: Path,
    *,
    splits: tuple[str, ...] = ("train", "val", "calib"),
    tile: int = 32,
    mouth: str = "haar",
) -> list[Clip]:
    """Clips listed in ``manifest.json`` (real and generated), decoded through the cache.

    ``tile`` and ``mouth`` are the front end's (the model's ``ModelConfig``).
    """
    manifest = json.loads((media_dir / "manifest.json").read_text())
    clips = []
    for rec in manifest:
        name = Path(rec["file"]).name
        pool = _POOLS.get(rec.get("category", ""), "events")
        split = "train" if pool == "generated" else split_of(name)
        if split not in splits:
            continue
        try:
            data = _cached(media_dir / rec["file"], cache, tile, mouth)
        except Exception as exc:  # a broken third-party file must not stop a run
            print(f"skipping {name}: {exc}")
            continue
        if len(data["tiles"]) < 30:
            continue
        clips.append(_to_clip(name, pool, split, data, media_dir / rec["file"]))
    return clips


def synthetic_seeds(seed: int, count: int) -> list[int]:
    """The generator seeds of :func:`synthetic_clips`: ``seed * 1000 + i``.

    The demo (``testmedia.demo_seeds``) keeps clear of them, so that it never
    shows clips the model was trained or calibrated on.
    """
    return [seed * 1000 + i for i in range(count)]


def synthetic_clips(
    cache: Path, count: int, *, seed: int = 0, tile: int = 32, mouth: str = "haar"
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
        data = _cached(path, cache, tile, mouth)
        clips.append(_to_clip(path.name, "synthetic", "train", data, path))
    return clips
