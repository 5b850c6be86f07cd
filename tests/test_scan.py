"""The attention scan on paths the other tests do not reach: long spans, the other variants."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from otio_avsync.decode import read_audio, read_video
from otio_avsync.estimators import get_estimator
from otio_avsync.spans import AVInput
from otio_avsync.testmedia import ClipSpec, make_clip


def _decoded(path: Path, duration: float, pad: float = 2.2) -> AVInput:
    """The picture at the estimator's size and the sound padded as the audit pads it."""
    video = read_video(path, 0.0, duration, width=256, gray=True)
    audio = read_audio(path, 0.0, duration, rate=16000).samples
    silence = np.zeros(int(pad * 16000), np.float32)
    audio = np.concatenate([silence, audio, silence])
    return AVInput(video.frames, video.times - video.times[0], 25.0, audio, 16000, -pad, duration)


@pytest.fixture(scope="module")
def long_clip(media_cache: Path) -> tuple[AVInput, float]:
    """A minute of generated media (the audit's longest span), sound 5 frames late."""
    path = media_cache / "scan_long.mp4"
    offset_ms = 200.0
    if not path.exists():
        make_clip(
            path,
            ClipSpec(
                duration_s=60.0, fps=Fraction(25), scene="mixed", offset_ms=offset_ms, seed=4242
            ),
        )
    return _decoded(path, 60.0), offset_ms


@pytest.mark.slow
def test_a_minute_long_span_reads_ten_blocks_spread_over_it(long_clip) -> None:
    """60 blocks of 25 frames: the scan reads 10, first and last included, evenly spread."""
    av, offset_ms = long_clip
    est = get_estimator("attention")
    assert est.max_blocks == 10
    result = est.estimate(av, search_ms=2000.0)
    assert result.offset_ms is not None and abs(result.offset_ms - offset_ms) <= 40.0, result
    assert result.confidence >= 0.5
    starts = [b["start_s"] for b in result.attention["blocks"]]
    assert len(starts) == 10 and starts[0] == 0.0 and starts[-1] == 59.0
    gaps = np.diff(starts)
    assert gaps.min() >= 6.0 and gaps.max() <= 7.0  # 59 s / 9 gaps, rounded to blocks
    assert abs(sum(b["weight"] for b in result.attention["blocks"]) - 1.0) < 1e-3
    assert result.evidence["log_blocks"] == pytest.approx(math.log(10))
    # Two windows of five blocks: the first starts at the span's start, the last
    # ends with the span, and each found the offset on its own.
    assert len(result.windows) == 2
    assert result.windows[0].start_s == 0.0
    last = result.windows[-1]
    assert last.start_s + last.duration_s == pytest.approx(60.0, abs=0.05)
    assert all(abs(w.offset_ms - offset_ms) <= 40.0 for w in result.windows)


def test_max_blocks_bounds_the_blocks_read(long_clip) -> None:
    """Fewer blocks when asked: the same spread, first and last included."""
    av, _ = long_clip
    short = AVInput(
        av.frames[:500],
        av.frame_times[:500],
        av.fps,
        av.audio[: (20 + 5) * 16000],
        16000,
        av.audio_start_s,
        20.0,
    )
    result = get_estimator("attention", max_blocks=4).estimate(short, search_ms=1000.0)
    starts = [b["start_s"] for b in result.attention["blocks"]]
    assert starts == [0.0, 6.0, 13.0, 19.0]  # linspace(0, 19, 4) rounded to blocks


@pytest.fixture(scope="module")
def variant_clips(media_cache: Path) -> list[tuple[AVInput, float]]:
    out = []
    for scene, frames, seed in [("mouth", 7, 4301), ("ball", -5, 4302)]:
        path = media_cache / f"scan_{scene}.mp4"
        if not path.exists():
            make_clip(
                path,
                ClipSpec(
                    duration_s=6.0,
                    fps=Fraction(25),
                    scene=scene,
                    offset_ms=frames * 40.0,
                    seed=seed,
                    channels=1,
                ),
            )
        out.append((_decoded(path, 6.0), frames * 40.0))
    return out


@pytest.mark.parametrize(
    ("name", "variant"), [("attention-temporal", "temporal"), ("attention-none", "none")]
)
def test_the_other_variants_scan_and_explain_themselves(variant_clips, name, variant) -> None:
    est = get_estimator(name)
    assert est.cfg.variant == variant
    for av, offset_ms in variant_clips:
        result = est.estimate(av, search_ms=2000.0)
        assert result.method == name
        assert result.offset_ms is not None and abs(result.offset_ms - offset_ms) <= 40.0, result
        assert result.confidence >= 0.5
        assert result.attention["variant"] == variant
        blocks = result.attention["blocks"]
        weights = [b["weight"] for b in blocks]
        assert len(blocks) == 6 and abs(sum(weights) - 1.0) < 1e-3
        # Without spatial attention there is no map to draw.
        assert all("map" not in b for b in blocks)
        if variant == "none":  # the control: a plain average
            assert max(weights) - min(weights) < 1e-3
