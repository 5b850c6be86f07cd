"""Test set-up: use the checkout's plugin manifest, never an installed copy's."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "plugin_manifest" / "plugin_manifest.json"
SHARED_MEDIA = ROOT.parent / "shared" / "media"

# Before anything imports opentimelineio: load our manifest from the source tree
# and ignore entry points, so tests see this checkout's plugin.
os.environ["OTIO_PLUGIN_MANIFEST_PATH"] = str(MANIFEST)
os.environ["OTIO_DISABLE_ENTRYPOINTS_PLUGINS"] = "1"
os.environ.pop("OTIO_AVSYNC", None)


@pytest.fixture(scope="session")
def media_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder shared by the whole session for generated media that is costly to make."""
    return tmp_path_factory.mktemp("media")


# The result cache: never the user's own folder. A session folder catches anything
# started before a test's fixture runs; each test then gets a fresh one.
_SESSION_CACHE = Path(tempfile.mkdtemp(prefix="avsync-test-cache-"))
os.environ["OTIO_AVSYNC_CACHE"] = str(_SESSION_CACHE)
# CLI runs use one process unless a test asks for workers (--jobs): two cores are shared.
os.environ.setdefault("OTIO_AVSYNC_JOBS", "1")


@pytest.fixture(autouse=True)
def _private_result_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> Path:
    folder = tmp_path_factory.mktemp("result-cache")
    monkeypatch.setenv("OTIO_AVSYNC_CACHE", str(folder))
    return folder


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_SESSION_CACHE, ignore_errors=True)
