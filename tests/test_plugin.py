"""The OTIO plugin: registration (source tree and installed wheel), hook, linker, report adapter."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import opentimelineio as otio
import pytest

from otio_avsync.testmedia import make_slipped_timeline

ROOT = Path(__file__).resolve().parents[1]
OTIO_BIN = Path(sys.executable).parent


def test_manifest_registers_hook_linker_and_adapter() -> None:
    manifest = otio.plugins.ActiveManifest(force_reload=True)
    assert "avsync_audit" in manifest.hooks["post_adapter_read"]
    assert "avsync_relink" in [m.name for m in manifest.media_linkers]
    adapter = otio.adapters.from_name("avsync_report")
    assert "avsync" in adapter.suffixes
    assert not (
        {"otio_json", "otioz", "otiod", "adapter"}
        & {a.name for a in manifest.adapters if a.filepath.startswith(str(ROOT))}
    )


def test_plugin_import_keeps_otio_startup_light() -> None:
    code = (
        "import sys, opentimelineio as otio\n"
        "otio.adapters.from_name('avsync_report').module()\n"
        "otio.media_linker.from_name('avsync_relink').module()\n"
        "[h.module() for h in otio.plugins.ActiveManifest().hook_scripts if h.name == 'avsync_audit']\n"
        "heavy = [m for m in ('torch', 'PySide6', 'av', 'scipy') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


@pytest.mark.slow
def test_installed_wheel_registers_plugin(tmp_path: Path) -> None:
    """Build the wheel, install it alone, and ask OTIO (entry points, no env manifest)."""
    if shutil.which("pip", path=str(OTIO_BIN)) is None and not (OTIO_BIN / "pip").exists():
        pytest.skip("pip not available")
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("otio_avsync-*.whl")
    target = tmp_path / "site"
    inst = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert inst.returncode == 0, inst.stderr
    assert (target / "otio_avsync" / "plugin_manifest" / "plugin_manifest.json").exists()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OTIO_PLUGIN_MANIFEST_PATH", "OTIO_DISABLE_ENTRYPOINTS_PLUGINS", "PYTHONPATH")
    }
    env["PYTHONPATH"] = str(target)
    code = (
        "import opentimelineio as otio, otio_avsync\n"
        "m = otio.plugins.ActiveManifest()\n"
        "a = otio.adapters.from_name('avsync_report')\n"
        "print(otio_avsync.__file__)\n"
        "print(a.module_abs_path())\n"
        "print('avsync_audit' in m.hooks['post_adapter_read'])\n"
        "print([l.name for l in m.media_linkers])\n"
        "from otio_avsync.model.weights import packaged_weights, load_model\n"
        "print(packaged_weights())\n"
        "net, bundle = load_model()\n"
        "print(bundle['config']['variant'], bool(bundle['calibration'].get('coef')))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    pkg_file, adapter_path, hooked, linkers, weights, loaded = proc.stdout.strip().splitlines()
    # The model's weights come from the installed package, calibrated.
    assert weights.startswith(str(target / "otio_avsync" / "model" / "weights"))
    assert loaded == "spatio-temporal True"
    assert pkg_file.startswith(str(target))
    assert adapter_path.startswith(str(target / "otio_avsync" / "plugin_manifest"))
    assert hooked == "True" and "avsync_relink" in linkers
    # Run from the checkout root, the source package hides the installed one: it must
    # be the same package, so the entry point still finds its manifest there.
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "could not load plugin" not in proc.stderr, proc.stderr
    pkg_file, adapter_path, hooked, linkers, *_ = proc.stdout.strip().splitlines()
    assert pkg_file.startswith(str(ROOT / "otio_avsync"))
    assert adapter_path.startswith(str(ROOT / "otio_avsync" / "plugin_manifest"))
    assert hooked == "True" and "avsync_relink" in linkers


@pytest.fixture(scope="module")
def small_timeline(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("hooked")
    return make_slipped_timeline(folder, [0, 6], clip_s=5.0, handle_s=0.5, seed=12)


def test_hook_only_runs_when_asked(small_timeline, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(small_timeline.path.parent)
    plain = otio.adapters.read_from_file(str(small_timeline.path))
    assert all("otio_avsync" not in c.metadata for c in plain.find_clips())
    assert all(not c.markers for c in plain.find_clips())
    args = {"avsync": "1"}
    hooked = otio.adapters.read_from_file(str(small_timeline.path), hook_function_argument_map=args)
    statuses = {c.name: c.metadata["otio_avsync"]["status"] for c in hooked.tracks[0].find_clips()}
    assert statuses == {"slipped_00": "in_sync", "slipped_01": "out_of_sync"}
    monkeypatch.setenv("OTIO_AVSYNC", "1")
    via_env = otio.adapters.read_from_file(str(small_timeline.path))
    assert sum(len(c.markers) for c in via_env.find_clips()) == 2


def test_otioconvert_with_hook_argument_and_report_adapter(small_timeline, tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = tmp_path / "cut.otio"
    run = subprocess.run(
        [
            str(OTIO_BIN / "otioconvert"),
            "-i",
            str(small_timeline.path),
            "-o",
            str(out),
            "-H",
            "avsync=1",
            "-H",
            f"avsync_base={small_timeline.path.parent}",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    tl = otio.adapters.read_from_file(str(out))
    markers = [m for c in tl.find_clips() for m in c.markers]
    assert [m.color for m in markers] == ["GREEN", "RED"]
    # Converting the annotated file again with the hook does not duplicate markers.
    out2 = tmp_path / "cut2.otio"
    subprocess.run(
        [
            str(OTIO_BIN / "otioconvert"),
            "-i",
            str(out),
            "-o",
            str(out2),
            "-H",
            "avsync=1",
            "-H",
            f"avsync_base={small_timeline.path.parent}",
        ],
        env=env,
        check=True,
        timeout=300,
    )
    tl2 = otio.adapters.read_from_file(str(out2))
    assert sum(len(c.markers) for c in tl2.find_clips()) == 2
    # The report adapter writes the audit of an annotated timeline.
    rep = tmp_path / "cut.avsync"
    run = subprocess.run(
        [str(OTIO_BIN / "otioconvert"), "-i", str(out), "-o", str(rep), "-A", "format=csv"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert rep.read_text().splitlines()[0].startswith("clip,track")
    # A bad hook argument is one clear line, not a traceback; inside OTIO the hook raises
    # an OTIO error the host can catch (never SystemExit), so otioconvert fails with
    # Python's status 1 for an uncaught error.
    bad = subprocess.run(
        [
            str(OTIO_BIN / "otioconvert"),
            "-i",
            str(small_timeline.path),
            "-o",
            str(tmp_path / "x.otio"),
            "-H",
            "avsync=1",
            "-H",
            "avsync_tolerance=loose",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and "tolerance" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr


def test_media_linker_relinks_offline_media(small_timeline, tmp_path: Path) -> None:
    tl = otio.adapters.read_from_file(str(small_timeline.path))
    for clip in tl.find_clips():
        name = Path(clip.media_reference.target_url).name
        clip.media_reference.target_url = f"/offline/volume/{name}"
    moved = tmp_path / "moved.otio"
    otio.adapters.write_to_file(tl, str(moved))
    linked = otio.adapters.read_from_file(
        str(moved),
        media_linker_name="avsync_relink",
        media_linker_argument_map={"search": str(small_timeline.path.parent)},
    )
    for clip in linked.find_clips():
        path = Path(otio.url_utils.filepath_from_url(clip.media_reference.target_url))
        assert path.is_file()
        assert clip.media_reference.available_range is not None
