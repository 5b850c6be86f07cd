"""Lip geometry: head pose and face size drop out; gaps are flagged, not invented."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from otio_avsync.model import augment
from otio_avsync.model.lips import GEOMETRY_FEATURES, MEASURES, POINTS, lip_geometry, measures


def _face(open_: float) -> np.ndarray:
    """A rough frontal face in pixels (eyes 60 px apart), mouth open by ``open_`` px."""
    p = {
        33: (-30, 0, 0),
        263: (30, 0, 0),
        168: (0, -2, -5),
        1: (0, 30, -15),
        152: (0, 75 + open_, 0),
        61: (-18, 50, 0),
        291: (18, 50, 0),
        78: (-12, 50, -2),
        308: (12, 50, -2),
        0: (0, 45, -6),
        17: (0, 55 + open_, -5),
        13: (0, 49, -4),
        14: (0, 51 + open_, -4),
    }
    return np.array([p[i] for i in POINTS], np.float64)


def test_measures_ignore_head_pose_distance_and_position() -> None:
    faces = np.stack([_face(o) for o in (0.0, 6.0, 12.0)])
    base = measures(faces)
    rot = Rotation.from_euler("xyz", [12, -25, 8], degrees=True).as_matrix()
    moved = np.einsum("ij,fkj->fki", rot, faces) * 1.7 + np.array([300.0, 120.0, 5.0])
    np.testing.assert_allclose(measures(moved), base, atol=1e-9)
    assert base[2, 0] > base[1, 0] > base[0, 0]  # the inner opening follows the mouth


def test_gaps_are_bridged_briefly_then_flagged() -> None:
    pts = np.stack([_face(o) for o in np.linspace(0, 10, 12)])
    pts[3] = np.nan  # one missed frame: bridged
    pts[6:11] = np.nan  # five: not
    g = lip_geometry(pts)
    assert g.shape == (12, GEOMETRY_FEATURES)
    assert list(g[:, -1]) == [1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1]
    assert np.all(g[8] == 0)
    assert np.all(g[:, len(MEASURES)][:3] > 0)  # the opening grows: a positive velocity


def test_sound_augmentation_keeps_the_timing() -> None:
    rng = np.random.default_rng(1)
    rate = 16000
    x = np.zeros(rate * 2, np.float32)
    for t in (0.3, 0.9, 1.4):  # clicks
        x[int(t * rate) : int(t * rate) + 80] = rng.normal(size=80)
    for seed in range(4):
        y = augment.sound(x, rate, np.random.default_rng(seed), 1.0)
        env_x = np.convolve(np.abs(x), np.ones(160), "same")
        env_y = np.convolve(np.abs(y), np.ones(160), "same")
        lags = np.arange(-400, 401)
        cc = [np.dot(env_x[400:-400], env_y[400 + k : len(env_y) - 400 + k]) for k in lags]
        assert abs(lags[int(np.argmax(cc))]) <= 80  # within 5 ms
