"""The hostile-input corpus as tests: every case handled cleanly (see ``hostile_corpus``).

A case fails with the list of what was not clean: a wrong exit status, a traceback,
no message, a changed input, a stray file, or a confident verdict on media whose
truth is unknown or that is damaged. ``bench/bench_hostile.py`` runs the same cases.
"""

from __future__ import annotations

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
