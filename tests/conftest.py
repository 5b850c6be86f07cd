"""Test set-up: use the checkout's plugin manifest, never an installed copy's."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "otio_avsync" / "plugin_manifest" / "plugin_manifest.json"


def _other_plugin_manifests() -> list[str]:
    """The manifests of the other installed OTIO plugins (the EDL, FCP XML, AAF adapters).

    Entry points are switched off below so that an installed otio-avsync cannot add
    its hook a second time; the adapters we depend on are then listed by path.
    """
    found = []
    for ep in importlib.metadata.entry_points(group="opentimelineio.plugins"):
        if ep.name == "otio_avsync":
            continue
        spec = importlib.util.find_spec(ep.module.split(".")[0])
        if spec is None or not spec.submodule_search_locations:
            continue
        module_dir = Path(next(iter(spec.submodule_search_locations)))
        for part in ep.module.split(".")[1:]:
            module_dir = module_dir / part
        if (module_dir / "plugin_manifest.json").is_file():
            found.append(str(module_dir / "plugin_manifest.json"))
    return found


# Before anything imports opentimelineio: load our manifest from the source tree
# and ignore entry points, so tests see this checkout's plugin.
os.environ["OTIO_PLUGIN_MANIFEST_PATH"] = os.pathsep.join([str(MANIFEST), *_other_plugin_manifests()])
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
