"""The training corpus: splits by speaker, folders of extracted clips, held-out repositories."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from otio_avsync.model import corpus
from otio_avsync.testmedia import ClipSpec, make_clip


@pytest.fixture(scope="module")
def one_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "talk.mp4"
    make_clip(path, ClipSpec(duration_s=2.0, scene="mouth", seed=4, channels=1))
    return path


def test_splits_do_not_overlap_and_hold_no_evaluation_files() -> None:
    assert not corpus.VALIDATION & corpus.CALIBRATION
    for name in corpus.VALIDATION | corpus.CALIBRATION:
        assert not corpus.held_out(name), name
    # One recording under three names (the AOC HDTF clip) sits in one split.
    aoc = [
        n
        for n in corpus.CALIBRATION | corpus.VALIDATION
        if "AlexandriaOcasioCortez" in n or "AOC" in n or "face_3" in n
    ]
    assert len({corpus.split_of(n) for n in aoc}) == 1 and len(aoc) == 3
    # One VoxCeleb2 identity (7414...) in one split.
    assert {corpus.split_of(n) for n in corpus.VALIDATION if "7414" in n} == {"val"}


def test_held_out_repositories_are_recognised() -> None:
    assert corpus.held_out("x.mp4", "v-iashin/SpecVQGAN")
    assert corpus.held_out("moviepy__media_chaplin.mp4")
    assert corpus.held_out("Video-LLaMA__examples_boat.mp4")
    assert not corpus.held_out("VideoLLaMA2__assets_00003491.mp4", "DAMO-NLP-SG/VideoLLaMA2")
    assert not corpus.held_out("GRID-s1__bbaf2n.mpg", "TVR28/LipNet")


def test_real_clips_never_read_a_held_out_repository(tmp_path: Path, one_clip: Path) -> None:
    media = tmp_path / "media"
    (media / "real").mkdir(parents=True)
    for name in ("SpecVQGAN__a.mp4", "somewhere__b.mp4"):
        shutil.copy(one_clip, media / "real" / name)
    manifest = [
        {"file": "real/SpecVQGAN__a.mp4", "category": "AV", "repo": "v-iashin/SpecVQGAN"},
        {"file": "real/somewhere__b.mp4", "category": "TALK", "repo": "someone/somewhere"},
    ]
    (media / "manifest.json").write_text(json.dumps(manifest))
    clips = corpus.real_clips(media, tmp_path / "cache")
    assert [(c.name, c.pool, c.split) for c in clips] == [("somewhere__b.mp4", "talk", "train")]
    assert clips[0].source == "talk-other"


def test_folder_clips_follow_their_source_records(tmp_path: Path, one_clip: Path) -> None:
    folder = tmp_path / "clips"
    files = {
        "grid+corpus/data/s9/a.mpg.mp4": None,
        "grid+corpus/data/s9/b.mpg.mp4": None,
        "someone+events/demo/bang.mp4": None,
        "someone+debate/two.mp4": None,
        "v-iashin+SpecVQGAN/x.mp4": None,
    }
    for rel in files:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(one_clip, folder / rel)
    records = [
        {
            "repo": "grid/corpus",
            "glob": "data/s9/*.mp4",
            "category": "TALK",
            "speaker": "s9",
            "trust": "studio recording (GRID corpus, speaker s9)",
        },
        {"repo": "someone/events", "glob": "demo/*.mp4", "category": "AV", "split": "val"},
        {"repo": "someone/debate", "glob": "*.mp4", "category": "TALK?"},
        {"repo": "v-iashin/SpecVQGAN", "glob": "*.mp4", "category": "AV"},
    ]
    (folder / "sources.json").write_text(json.dumps(records))
    clips = corpus.folder_clips(folder, tmp_path / "cache")
    got = sorted((c.name, c.pool, c.split, c.source) for c in clips)
    assert got == [
        ("GRID-s9__a.mpg.mp4", "studio", "calib", "GRID"),  # every 17th GRID sentence, from the 1st
        ("GRID-s9__b.mpg.mp4", "studio", "train", "GRID"),
        ("events__demo_bang.mp4", "events", "val", "events"),
    ]
    only_val = corpus.folder_clips(folder, tmp_path / "cache", splits=("val",))
    assert [c.name for c in only_val] == ["events__demo_bang.mp4"]


def test_the_recipe_names_its_sources() -> None:
    records = corpus.folder_sources(Path("/nonexistent"))
    repos = {r["repo"] for r in records}
    assert "TVR28/LipNet" in repos and not repos & corpus.HELD_OUT_REPOSITORIES
    assert all({"repo", "glob", "category"} <= set(r) for r in records)
