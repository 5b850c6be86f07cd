"""The demo shows material the model never trained or calibrated on."""

from __future__ import annotations

from pathlib import Path

import pytest

from otio_avsync import testmedia
from otio_avsync.model.config import TrainConfig
from otio_avsync.model.corpus import synthetic_seeds

RECIPE = Path(testmedia.__file__).resolve().parent / "model" / "recipe.toml"


def _corpus_seeds(recipe_seeds: range) -> set[int]:
    """Every generator seed training and calibration draw for these recipe seeds."""
    from otio_avsync.model.train import CALIBRATION_SEED_SHIFT, CALIBRATION_SYNTHETIC_CLIPS

    count = TrainConfig.load(RECIPE).synthetic_clips
    seeds: set[int] = set()
    for s in recipe_seeds:
        seeds.update(synthetic_seeds(s, count))
        seeds.update(synthetic_seeds(s + CALIBRATION_SEED_SHIFT, CALIBRATION_SYNTHETIC_CLIPS))
    return seeds


def test_demo_seeds_never_coincide_with_the_corpus() -> None:
    corpus = _corpus_seeds(range(1000))
    assert {0, 1, 5, 47, 100_000} <= corpus  # the shipped recipe's seed 0 among them
    demo = {x for d in range(1000) for x in testmedia.demo_seeds(d)}
    assert len(demo) == 7 * 1000
    assert not corpus & demo


def test_make_demo_generates_with_the_demo_seeds(monkeypatch, tmp_path: Path) -> None:
    built: list = []

    def capture(folder, name, entries, *_, **__):
        built.extend(entries)
        raise StopIteration  # nothing to write: only the specs matter

    monkeypatch.setattr(testmedia, "_build_timeline", capture)
    for seed in (0, 3):
        built.clear()
        with pytest.raises(StopIteration):
            testmedia.make_demo(tmp_path, seed=seed)
        used = [e.spec.seed for e in built if e.spec is not None]
        assert len(used) == 5 and set(used) <= set(testmedia.demo_seeds(seed))
        assert not set(used) & _corpus_seeds(range(10))
