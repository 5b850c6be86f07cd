"""The attention model: shapes, front end, weights, offset scan, silence and stillness."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from otio_avsync.decode import read_audio, read_video
from otio_avsync.estimators import get_estimator
from otio_avsync.estimators.base import AVInput
from otio_avsync.model import frontend
from otio_avsync.model.config import VARIANTS, ModelConfig, TrainConfig
from otio_avsync.model.frontend import (
    landmarks_available,
    picture_tiles,
    sound_features,
    track_mouth,
    track_mouth_landmarks,
)
from otio_avsync.model.lips import POINTS
from otio_avsync.model.network import AVSyncNet, fold_batch_norm, prepare_video
from otio_avsync.model.weights import (
    WEIGHT_FILES,
    load_bundle,
    load_model,
    model_config,
    packaged_weights,
)
from otio_avsync.testmedia import ClipSpec, make_clip


@pytest.mark.parametrize("variant", VARIANTS)
def test_network_shapes_and_attention_sums_to_one(variant: str) -> None:
    cfg = ModelConfig(variant=variant)
    net = AVSyncNet(cfg).eval()
    b, n, t = 2, 3, cfg.block_frames
    tiles = torch.randint(0, 255, (b, n, t, cfg.tile, 2 * cfg.tile), dtype=torch.uint8)
    mel = torch.randn(b, 4 * n * t + 40, cfg.mel_bands)
    index = (20 + 4 * torch.arange(n * t)).view(1, n, t).expand(b, -1, -1)
    with torch.no_grad():
        d = net(tiles, mel, index)
    assert d.logits.shape == (b, 2)
    assert d.block_weights.shape == (b, n)
    torch.testing.assert_close(d.block_weights.sum(1), torch.ones(b))
    if variant == "spatio-temporal":
        h, w = cfg.map_shape
        assert d.spatial is not None and d.spatial.shape == (b, n, t, h, w)
        torch.testing.assert_close(d.spatial.sum(dim=(1, 2, 3, 4)), torch.ones(b))
    else:
        assert d.spatial is None


@pytest.mark.parametrize("train", [False, True])
def test_fast_convolutions_match_plain_conv3d(train: bool) -> None:
    """The 2D and channels-last forms of the factorised convolutions compute nn.Conv3d's result."""
    torch.manual_seed(0)
    net = AVSyncNet(ModelConfig()).train(train)
    tiles = torch.randint(0, 255, (3, 25, 32, 64), dtype=torch.uint8)
    x = prepare_video(tiles, 32)
    fast = net.picture(x)
    plain = x
    for conv, norm, relu in net.picture.layers:
        plain = relu(norm(torch.nn.Conv3d.forward(conv, plain)))
    torch.testing.assert_close(fast, plain, rtol=1e-4, atol=1e-4)
    fused = torch.randn(4, 64, 25, 4, 8)
    plain_fused = fused
    for conv, norm, relu in net.fusion:
        plain_fused = relu(norm(torch.nn.Conv3d.forward(conv, plain_fused)))
    torch.testing.assert_close(net.fusion(fused), plain_fused, rtol=1e-4, atol=1e-4)


def test_folded_batch_norm_keeps_the_outputs() -> None:
    net, _ = load_model(None, "spatio-temporal")
    tiles = torch.randint(0, 255, (2, 2, 25, 32, 64), dtype=torch.uint8)
    mel = torch.randn(2, 300, 40)
    index = (40 + 4 * torch.arange(50)).view(1, 2, 25).expand(2, -1, -1)
    geometry = torch.randn(2, 2, 25, net.cfg.geometry) if net.cfg.geometry else None
    with torch.no_grad():
        before = net(tiles, mel, index, geometry)
        after = fold_batch_norm(net)(tiles, mel, index, geometry)
    # Every BatchNorm after a convolution is folded; the geometry tower's input
    # normalisation (before its first convolution, whose zero padding it must not move) stays.
    left = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm3d | torch.nn.BatchNorm1d)]
    assert left == ([net.geometry.norm] if net.geometry is not None else [])
    torch.testing.assert_close(after.logits, before.logits, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(after.spatial, before.spatial, rtol=1e-4, atol=1e-5)


def test_sound_grid_places_a_click_at_its_time() -> None:
    rate, fps = 16000, 25.0
    audio = np.zeros(rate * 4, np.float32)
    at_s = 1.3  # picture time; audio starts 0.5 s before the picture
    i = int((at_s + 0.5) * rate)
    audio[i : i + 160] = np.random.default_rng(0).normal(0, 0.5, 160)
    sf = sound_features(audio, rate, -0.5, fps)
    assert sf.origin == 50  # 0.5 s * 100 grid points per second
    peak = int(np.argmax(sf.level_db))
    assert abs((peak - sf.origin) / (4 * fps) - at_s) <= 0.02


def test_no_face_means_no_mouth_tile() -> None:
    frames = np.full((12, 90, 160), 128, np.uint8)
    assert np.isnan(track_mouth(frames)).all()
    pt = picture_tiles(frames)
    assert pt.tiles.shape == (12, 32, 64) and pt.face_fraction == 0.0
    assert (pt.tiles[:, :, 32:] == 0).all()


@pytest.mark.skipif(not landmarks_available(), reason="MediaPipe is not installed")
def test_no_face_means_no_mouth_tile_with_landmarks() -> None:
    frames = np.full((12, 90, 160), 128, np.uint8)
    assert np.isnan(track_mouth_landmarks(frames)).all()
    pt = picture_tiles(frames, mouth="landmarks")
    assert pt.tiles.shape == (12, 32, 64) and pt.face_fraction == 0.0
    assert (pt.tiles[:, :, 32:] == 0).all()


def test_landmark_crop_keeps_its_shape_at_the_frame_edge(monkeypatch) -> None:
    """A mouth box that runs off the frame still gives the whole tile, edge pixels repeated."""
    frames = np.tile(np.arange(160, dtype=np.uint8)[None, None, :], (3, 90, 1))
    box = np.array([[0.9, 0.5, 1.2, 0.7]] * 3, np.float32)  # x runs to 192 of 160 pixels
    points = np.full((3, len(POINTS), 3), np.nan, np.float32)
    monkeypatch.setattr(frontend, "track_face_mesh", lambda f, every=2: (box, points))
    pt = picture_tiles(frames, mouth="landmarks")
    mouth = pt.tiles[0, :, 32:].astype(int)
    assert mouth[:, 0].max() < 150 and (mouth[:, -12:] == 159).all()
    with pytest.raises(ValueError, match="mouth tracker"):
        picture_tiles(frames, mouth="eyes")


def test_weights_without_a_mouth_tracker_are_haar_weights() -> None:
    """Weights saved before the landmark front end keep the front end they were trained on."""
    bundle = load_bundle(packaged_weights("spatio-temporal"))
    # Weights from before the landmark front end had neither a tracker nor lip geometry.
    old = ("mouth", "geometry")
    legacy = {**bundle, "config": {k: v for k, v in bundle["config"].items() if k not in old}}
    assert model_config(legacy).mouth == "haar"
    assert ModelConfig().mouth == "landmarks"
    with pytest.raises(ValueError, match="mouth"):
        ModelConfig(mouth="eyes")


def test_attention_falls_back_to_haar_without_mediapipe(monkeypatch, caplog) -> None:
    import otio_avsync.estimators.attention as attention

    monkeypatch.setattr(attention, "landmarks_available", lambda: False)
    est = get_estimator("attention")
    if est.cfg.mouth == "landmarks":
        assert est.mouth == "haar"
        assert "MediaPipe is not installed" in caplog.text
    else:
        assert est.mouth == "haar" and not caplog.text


def test_train_recipe_round_trips_and_rejects_unknown_settings(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text('steps = 3\nseed = 5\n[model]\nvariant = "temporal"\n')
    cfg = TrainConfig.load(path)
    assert cfg.steps == 3 and cfg.seed == 5 and cfg.model.variant == "temporal"
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    path.write_text("stpes = 3\n")
    with pytest.raises(ValueError, match="stpes"):
        TrainConfig.load(path)


@pytest.mark.parametrize("variant", list(WEIGHT_FILES))
def test_shipped_weights_load_with_calibration(variant: str) -> None:
    path = packaged_weights(variant)
    assert path.is_file() and path.stat().st_size < 20 * 2**20
    net, bundle = load_model(variant=variant)
    assert net.cfg.variant == variant
    assert bundle["calibration"]["coef"] and bundle["record"]["steps"] > 0


def _decoded(path: Path, duration: float, pad: float = 2.2) -> AVInput:
    video = read_video(path, 0.0, duration, width=256, gray=True)
    audio = read_audio(path, 0.0, duration, rate=16000).samples
    audio = np.concatenate(
        [np.zeros(int(pad * 16000), np.float32), audio, np.zeros(int(pad * 16000), np.float32)]
    )
    return AVInput(video.frames, video.times - video.times[0], 25.0, audio, 16000, -pad, duration)


@pytest.fixture(scope="module")
def estimator():
    return get_estimator("attention")


@pytest.mark.parametrize(
    ("scene", "offset_frames", "seed"),
    [
        ("mouth", 0, 1),
        ("mouth", 7, 2),
        ("ball", -5, 3),
        ("flash", 11, 4),
        ("mixed", -13, 5),
        ("mixed", 3, 6),
    ],
)
def test_scan_finds_injected_offset_on_generated_media(
    estimator, tmp_path: Path, scene: str, offset_frames: int, seed: int
) -> None:
    offset_ms = offset_frames * 40.0
    clip = make_clip(
        tmp_path / "c.mp4",
        ClipSpec(
            duration_s=8.0,
            fps=Fraction(25),
            scene=scene,
            offset_ms=offset_ms,
            seed=100 + seed,
            channels=1,
        ),
    )
    est = estimator.estimate(_decoded(clip.path, 8.0), search_ms=2000.0)
    assert est.offset_ms is not None
    assert abs(est.offset_ms - offset_ms) <= 40.0, est
    assert est.confidence >= 0.5
    blocks = est.attention["blocks"]
    assert len(blocks) == 8 and abs(sum(b["weight"] for b in blocks) - 1.0) < 1e-3
    h, w = est.attention["map_shape"]
    assert all(len(bytes.fromhex(b["map"])) == h * w for b in blocks)
    assert len(est.curve_ms) == len(est.curve_score) > 50


def test_silence_is_uncertain_not_a_guess(estimator, tmp_path: Path) -> None:
    clip = make_clip(
        tmp_path / "s.mp4", ClipSpec(duration_s=5.0, scene="mouth", silent=True, seed=7, channels=1)
    )
    est = estimator.estimate(_decoded(clip.path, 5.0))
    assert est.offset_ms is None and est.confidence == 0.0
    assert "silence" in est.note


def test_still_picture_is_uncertain(estimator, tmp_path: Path) -> None:
    clip = make_clip(
        tmp_path / "p.mp4", ClipSpec(duration_s=5.0, scene="mouth", still=True, seed=8, channels=1)
    )
    est = estimator.estimate(_decoded(clip.path, 5.0))
    assert est.offset_ms is None
    assert "motion" in est.note


@pytest.mark.parametrize("contrastive", ["infonce", "margin"])
def test_training_steps_change_the_weights(tmp_path: Path, contrastive: str) -> None:
    from otio_avsync.model.corpus import synthetic_clips
    from otio_avsync.model.train import train

    clips = synthetic_clips(tmp_path, 2, seed=3)
    cfg = TrainConfig(steps=2, batch_windows=2, window_blocks=2, threads=1, contrastive=contrastive)
    torch.manual_seed(cfg.seed)  # train() starts from the same seed: the same initial weights
    before = {k: v.clone() for k, v in AVSyncNet(cfg.model).state_dict().items()}
    net, record = train(cfg, clips, log=lambda _: None)
    assert record["steps"] == 2 and record["history"]
    assert np.isfinite(record["history"][-1]["loss"])
    assert record["history"][-1]["nce"] > 0  # the embedding loss took part
    changed = [
        k
        for k, v in net.state_dict().items()
        if v.dtype.is_floating_point and not torch.equal(v, before[k])
    ]
    assert changed


def test_calibration_writes_weights_that_train_and_load(tmp_path: Path) -> None:
    """The scan runs with BatchNorm folded into the convolutions; the calibrated file
    must still hold the trainable form, which load_model reads strictly."""
    import dataclasses

    from otio_avsync.model.corpus import synthetic_clips
    from otio_avsync.model.train import calibrate, train
    from otio_avsync.model.weights import save_bundle

    clips = synthetic_clips(tmp_path, 2, seed=3)
    cfg = TrainConfig(steps=1, batch_windows=2, window_blocks=2, threads=1, calibration_offsets=3)
    net, record = train(cfg, clips, log=lambda _: None)
    out = tmp_path / "w.pt"
    save_bundle(out, net, train=cfg.to_dict(), record=record, calibration=None)
    calibrate(out, [dataclasses.replace(c, split="calib") for c in clips], cfg, log=lambda _: None)
    again, bundle = load_model(out)
    assert bundle["calibration"]["cases"] == 6 and bundle["calibration"]["coef"]
    assert any(isinstance(m, torch.nn.BatchNorm3d) for m in again.modules())
    torch.testing.assert_close(again.head[0].weight, net.head[0].weight)


def test_attention_survives_the_timeline_round_trip(tmp_path: Path) -> None:
    import opentimelineio as otio

    from otio_avsync import METADATA_KEY
    from otio_avsync.audit import AuditOptions, audit_timeline
    from otio_avsync.report import results_from_timeline
    from otio_avsync.testmedia import make_slipped_timeline

    truth = make_slipped_timeline(tmp_path, [4], clip_s=6.0, handle_s=0.5, seed=21)
    tl = otio.adapters.read_from_file(str(truth.path))
    audit_timeline(tl, AuditOptions(estimator="attention"), base_dir=truth.path.parent)
    out = tmp_path / "a.otio"
    otio.adapters.write_to_file(tl, str(out))
    again = otio.adapters.read_from_file(str(out))
    metas = [c.metadata[METADATA_KEY] for c in again.find_clips() if METADATA_KEY in c.metadata]
    assert metas and all(m["method"] == "attention" and m["attention"]["blocks"] for m in metas)
    (result,) = [
        r for r in results_from_timeline(otio.adapters.read_from_file(str(out))) if r.attention
    ]
    assert result.attention["map_shape"] == [4, 8]
    assert isinstance(result.attention["blocks"][0]["weight"], float)


def test_training_with_lip_geometry_and_augmentation(tmp_path: Path) -> None:
    """The recipe's path: a geometry stream, near negatives, every augmentation on."""
    import dataclasses

    from otio_avsync.model.corpus import synthetic_clips
    from otio_avsync.model.lips import GEOMETRY_FEATURES
    from otio_avsync.model.train import train

    clips = synthetic_clips(tmp_path, 2, seed=3)
    rng = np.random.default_rng(0)
    clips = [
        dataclasses.replace(
            c, geometry=rng.normal(size=(len(c.tiles), GEOMETRY_FEATURES)).astype(np.float32)
        )
        for c in clips
    ]
    model = dataclasses.replace(ModelConfig(), geometry=GEOMETRY_FEATURES)
    cfg = TrainConfig(
        model=model,
        steps=2,
        batch_windows=2,
        window_blocks=2,
        threads=1,
        augment=1.0,
        near_fraction=1.0,
        hard_fraction=1.0,
        easy_only_fraction=0.0,
    )
    net, record = train(cfg, clips, log=lambda _: None)
    assert np.isfinite(record["history"][-1]["loss"])
    assert net.geometry is not None
    assert any(
        v.abs().sum() > 0
        for k, v in net.state_dict().items()
        if k.startswith("geometry.") and v.dtype.is_floating_point
    )
