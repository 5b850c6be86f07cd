"""The classical estimator on synthetic signals (no encoding: fast and exact)."""

from __future__ import annotations

import numpy as np
import pytest

from otio_avsync.estimators import get_estimator
from otio_avsync.estimators.base import AVInput, Estimator


def _scene(
    offset_ms: float,
    *,
    fps: float = 25.0,
    seconds: float = 10.0,
    seed: int = 0,
    silent: bool = False,
    still: bool = False,
    rate: int = 16000,
) -> AVInput:
    """Flashes at irregular frames; a click for each at frame time + offset; noise and clutter."""
    rng = np.random.default_rng(seed)
    n = int(seconds * fps)
    frames = np.full((n, 36, 64), 60.0)
    audio = rng.normal(0, 0.003, int(seconds * rate))
    t = 0.5
    while t < seconds - 0.5:
        k = round(t * fps)
        if not still:
            frames[k : k + 2, 10:26, 20:44] += 120.0  # a two-frame flash
        s = round((k / fps + offset_ms / 1000.0) * rate)
        if 0 <= s < len(audio) - 400 and not silent:
            audio[s : s + 400] += 0.5 * np.exp(-np.arange(400) / 60.0) * rng.choice([-1, 1], 400)
        t += rng.uniform(0.35, 1.2)
    if not still:  # a slowly moving distractor
        for k in range(n):
            x = int(5 + 40 * (0.5 + 0.5 * np.sin(k / 17.0)))
            frames[k, 28:34, x : x + 6] = 200.0
        frames += rng.normal(0, 2.0, frames.shape)
    return AVInput(
        frames=np.clip(frames, 0, 255).astype(np.uint8),
        frame_times=np.arange(n) / fps,
        fps=fps,
        audio=audio.astype(np.float32),
        rate=rate,
    )


def test_registry_gives_an_estimator() -> None:
    est = get_estimator("baseline")
    assert isinstance(est, Estimator)
    with pytest.raises(ValueError, match="unknown estimator"):
        get_estimator("nope")


@pytest.mark.parametrize("offset_ms", [-400.0, -120.0, -40.0, 0.0, 17.0, 80.0, 250.0, 1500.0])
def test_finds_known_offset_within_a_frame(offset_ms: float) -> None:
    est = get_estimator("baseline").estimate(_scene(offset_ms, seed=int(abs(offset_ms))))
    assert est.offset_ms is not None
    assert abs(est.offset_ms - offset_ms) < 20.0, est.offset_ms  # half a frame at 25 fps
    assert est.confidence > 0.5
    assert not est.at_search_edge


def test_sign_convention_sound_late_is_positive() -> None:
    late = get_estimator("baseline").estimate(_scene(+200.0))
    early = get_estimator("baseline").estimate(_scene(-200.0))
    assert late.offset_ms > 150 and early.offset_ms < -150


def test_ntsc_rate_and_vfr_timestamps() -> None:
    fps = 30000 / 1001
    av = _scene(100.0, fps=fps)
    est = get_estimator("baseline").estimate(av)
    assert abs(est.offset_ms - 100.0) < 1000 / fps / 2
    # Drop every 7th frame: times carry the truth, not the frame count.
    keep = np.arange(len(av.frames)) % 7 != 3
    vfr = AVInput(av.frames[keep], av.frame_times[keep], fps, av.audio, av.rate)
    est = get_estimator("baseline").estimate(vfr)
    assert abs(est.offset_ms - 100.0) < 1000 / fps


def test_silence_is_not_a_guess() -> None:
    est = get_estimator("baseline").estimate(_scene(0.0, silent=True))
    assert est.confidence < 0.5
    assert est.note


def test_still_picture_is_not_a_guess() -> None:
    est = get_estimator("baseline").estimate(_scene(0.0, still=True))
    assert est.offset_ms is None and est.confidence == 0.0
    assert "motion" in est.note


def test_offset_beyond_search_range_is_flagged_at_edge() -> None:
    est = get_estimator("baseline").estimate(_scene(1500.0), search_ms=500.0)
    assert est.at_search_edge or est.confidence < 0.5


def test_windows_and_curve_are_reported() -> None:
    est = get_estimator("baseline").estimate(_scene(40.0, seconds=20.0))
    assert len(est.windows) >= 3
    agreeing = [w for w in est.windows if w.offset_ms is not None and abs(w.offset_ms - 40) < 40]
    assert len(agreeing) >= len(est.windows) - 1
    assert len(est.curve_ms) == len(est.curve_score) > 100
    assert est.curve_ms[0] == pytest.approx(-2000.0) and est.curve_ms[-1] == pytest.approx(2000.0)


def test_too_short_span() -> None:
    av = _scene(0.0, seconds=0.1)
    est = get_estimator("baseline").estimate(av)
    assert est.offset_ms is None and "short" in est.note
