"""The hostile-input corpus as tests: every case handled cleanly (see ``hostile_corpus``).

A case fails with the list of what was not clean: a wrong exit status, a traceback,
no message, a changed input, a stray file, or a confident verdict on media whose
truth is unknown or that is damaged. ``bench/bench_hostile.py`` runs the same cases.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from hostile_cases import CASES
from hostile_corpus import Kit, execute, make_kit


@pytest.fixture(scope="session")
def kit(media_cache: Path) -> Kit:
    """The generated media every case shares (about 3 s to make)."""
    return make_kit(media_cache / "hostile")


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=c.name, marks=[pytest.mark.slow] if c.slow else []) for c in CASES],
)
def test_hostile_case_is_handled_cleanly(case, kit: Kit, tmp_path: Path) -> None:
    outcome = execute(case, kit, tmp_path / "case")
    assert outcome.clean, (outcome.problems, outcome.run)


# -- the rules behind the corpus, one by one -------------------------------------------------


def test_one_meaning_of_flagged_and_the_exit_statuses() -> None:
    import json

    from otio_avsync.report import to_json
    from otio_avsync.results import (
        DEFAULT_FAIL_ON,
        ClipResult,
        Status,
        exit_status,
        is_flagged,
    )

    assert all(s.flagged == is_flagged(s) == (s in DEFAULT_FAIL_ON) for s in Status)
    S = Status
    assert exit_status([S.IN_SYNC, S.IN_SYNC]) == 0
    assert exit_status([S.IN_SYNC, S.OUT_OF_SYNC, S.ERROR]) == 1  # flagged wins
    for unchecked in (S.UNCERTAIN, S.NO_AUDIO, S.MEDIA_MISSING, S.UNSUPPORTED, S.ERROR):
        assert exit_status([S.IN_SYNC, unchecked]) == 3
        assert exit_status([S.IN_SYNC, unchecked], unchecked_ok=True) == 0
        assert exit_status([S.IN_SYNC, unchecked], (unchecked,)) == 1
    assert exit_status([]) == 3  # nothing was checked: not "all in sync"
    # The JSON report counts what --fail-on counts.
    results = [ClipResult("a", S.ERROR, "boom"), ClipResult("b", S.IN_SYNC, "ok")]
    assert json.loads(to_json(results))["flagged"] == 0
    doc = json.loads(to_json(results, fail_on=(S.ERROR,)))
    assert doc["flagged"] == 1 and doc["exit_status"] == 1 and doc["unchecked"] == 1


def test_tolerances_that_accept_nothing_or_are_negative_are_refused() -> None:
    from otio_avsync.results import parse_tolerance

    for bad in ("0,0", "-5,40", "40,-5", "nan,3", "loose"):
        with pytest.raises(ValueError):
            parse_tolerance(bad)
    assert parse_tolerance("0,40").late_ms == 40.0  # sound never early: allowed


def test_padded_window_before_the_start_timecode_keeps_the_time_base() -> None:
    from otio_avsync.decode import MediaInfo, StreamInfo
    from otio_avsync.jobs import MediaSpan
    from otio_avsync.render import file_time

    video = StreamInfo(
        0, "video", "h264", None, None, 0.0, 4.0, Fraction(25), False, 160, 90, None, None
    )
    info = MediaInfo("x.mov", "mov", 4.0, 0.0, "01:00:00:00", (video,))
    tc = 3600.0
    # The clip starts 0.4 s into the file; its sound window, padded by 2 s, starts before it.
    span = MediaSpan("c", None, None, 0.0, 7.0, tc + 0.4 - 2.0, None, clip_media_s=tc + 0.4)
    assert file_time(span, info) == pytest.approx(-1.6)
    # Media time that is not timecode-based (a clip from 0) stays as it is.
    raw = MediaSpan("c", None, None, 0.0, 3.0, 0.5, None, clip_media_s=0.5)
    assert file_time(raw, info) == pytest.approx(0.5)


def test_csv_cells_that_would_run_as_formulas_are_neutralised() -> None:
    from otio_avsync.report import csv_safe

    for text in ("=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "＝1"):
        assert csv_safe(text).startswith("'")
    assert csv_safe("shot 1") == "shot 1" and csv_safe(-2.5) == -2.5  # numbers stay data


def test_outputs_are_checked_before_any_work(tmp_path: Path, monkeypatch) -> None:
    import os

    from otio_avsync.errors import TimelineError
    from otio_avsync.timeline_io import check_output, check_timeline_output

    existing = tmp_path / "old.otio"
    existing.write_text("{}")
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != existing)
    with pytest.raises(TimelineError, match="read-only"):
        check_output(existing)  # root ignores file modes: the check asks os.access
    monkeypatch.undo()
    with pytest.raises(TimelineError, match="does not exist"):
        check_output(tmp_path / "nope" / "x.json")
    with pytest.raises(TimelineError, match="no OTIO adapter writes"):
        check_timeline_output(tmp_path / "x.pdf")
    with pytest.raises(TimelineError, match="refusing to overwrite"):
        check_output(existing, protect=[existing])
    assert check_timeline_output(tmp_path / "x.otioz") == tmp_path / "x.otioz"
    assert list(tmp_path.iterdir()) == [existing]  # the probes leave nothing behind


def test_bundles_are_written_and_replaced_atomically(tmp_path: Path) -> None:
    import opentimelineio as otio

    from otio_avsync.timeline_io import write_timeline

    tl = otio.schema.Timeline(name="t")
    for name in ("t.otioz", "t.otiod"):
        for _ in range(2):  # the second write replaces the first
            write_timeline(tl, tmp_path / name)
        assert otio.adapters.read_from_file(str(tmp_path / name)).name == "t"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.otiod", "t.otioz"]
