"""Test set-up: use the checkout's plugin manifest, never an installed copy's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "otio_avsync" / "plugin_manifest" / "plugin_manifest.json"

# Before anything imports opentimelineio: load our manifest from the source tree
# and ignore entry points, so tests see this checkout's plugin.
os.environ["OTIO_PLUGIN_MANIFEST_PATH"] = str(MANIFEST)
os.environ["OTIO_DISABLE_ENTRYPOINTS_PLUGINS"] = "1"
os.environ.pop("OTIO_AVSYNC", None)


@pytest.fixture(scope="session")
def media_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder shared by the whole session for generated media that is costly to make."""
    return tmp_path_factory.mktemp("media")
