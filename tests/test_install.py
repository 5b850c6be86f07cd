"""The plugin is found however the package is installed: editable, and from the checkout root.

OTIO skips a plugin whose entry point fails to import with only a log line, so a
layout that differs between the source tree and an install loses the hook silently
(``otioconvert -H avsync=1`` then does nothing). These run OTIO's own discovery in
fresh interpreters, without the test session's ``OTIO_PLUGIN_MANIFEST_PATH``.
"""

from __future__ import annotations

import importlib.metadata
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Prints where otio_avsync comes from, where OTIO loads our adapter from, and the hook list.
PROBE = (
    "import opentimelineio as otio, otio_avsync\n"
    "m = otio.plugins.ActiveManifest()\n"
    "print(otio_avsync.__file__)\n"
    "print(otio.adapters.from_name('avsync_report').module_abs_path())\n"
    "print([h.name for h in m.hook_scripts])\n"
    "print(m.hooks.get('post_adapter_read'))\n"
)


def _entry_point_env() -> dict[str, str]:
    """The environment of a user: entry points on, no manifest path, no PYTHONPATH."""
    drop = ("OTIO_PLUGIN_MANIFEST_PATH", "OTIO_DISABLE_ENTRYPOINTS_PLUGINS", "PYTHONPATH")
    return {k: v for k, v in os.environ.items() if k not in drop}


def _probe(python: str | Path, cwd: Path) -> list[str]:
    proc = subprocess.run(
        [str(python), "-c", PROBE],
        capture_output=True,
        text=True,
        env=_entry_point_env(),
        cwd=cwd,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    assert "could not load plugin" not in proc.stderr, proc.stderr
    return proc.stdout.strip().splitlines()


def test_plugin_found_from_checkout_root() -> None:
    """Python started in the checkout imports the source package: it must hold the manifest."""
    try:
        importlib.metadata.distribution("otio-avsync")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("otio-avsync is not installed in this environment (no entry point)")
    pkg, adapter, hooks, post_read = _probe(sys.executable, ROOT)
    assert pkg == str(ROOT / "otio_avsync" / "__init__.py")
    assert adapter.startswith(str(ROOT / "otio_avsync" / "plugin_manifest"))
    assert "avsync_audit" in hooks and "avsync_audit" in post_read


@pytest.mark.slow
def test_editable_install_registers_plugin(tmp_path: Path) -> None:
    """``pip install -e .`` into a fresh venv; OTIO finds the hook through the entry point."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # Dependencies (and hatchling, the build backend) come from this environment; the
    # ``zz`` name puts them after the editable install's own path hook.
    parents = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (purelib / "zz_parent_env.pth").write_text("\n".join(parents) + "\n")
    inst = subprocess.run(
        [
            sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
            "--no-deps", "--no-build-isolation", "-e", str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert inst.returncode == 0, inst.stderr
    dist = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.distribution('otio-avsync')._path)"],
        capture_output=True,
        text=True,
        env=_entry_point_env(),
        cwd=tmp_path,
        check=True,
    ).stdout.strip()
    assert dist.startswith(str(purelib)), dist  # the editable install's metadata comes first
    pkg, adapter, hooks, post_read = _probe(python, tmp_path)
    assert pkg == str(ROOT / "otio_avsync" / "__init__.py")
    assert adapter.startswith(str(ROOT / "otio_avsync" / "plugin_manifest"))
    assert "avsync_audit" in hooks and "avsync_audit" in post_read


def _make(*args: str) -> int:
    return subprocess.run(
        ["make", "-q", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    ).returncode


@pytest.mark.skipif(
    not (ROOT / ".venv" / ".package-installed").exists(),
    reason="the package was not installed by 'make install' (no stamp to compare)",
)
def test_make_reinstalls_only_when_sources_change() -> None:
    """``make test`` after ``make install``: nothing to redo, unless a source is newer."""
    assert _make("install") == 0  # up to date (today's Makefile always reinstalls)
    assert _make("install", "-W", "otio_avsync/cli.py") == 1
    assert _make("install", "-W", "otio_avsync/plugin_manifest/plugin_manifest.json") == 1
    assert _make("install", "-W", "tests/test_install.py") == 0
