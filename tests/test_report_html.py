"""The HTML report: what it shows, that it stays small and self-contained, and how it renders.

The rendering test opens the report in a real headless Chromium (Debian's
``chromium``) and looks at the pixels; it is skipped, with the reason, where no
Chromium is installed (``.ci/run`` installs it).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from otio_avsync.audit import AuditOptions, audit_timeline
from otio_avsync.report import context_from_timeline, results_from_timeline, to_html, write_report
from otio_avsync.results import BT1359, AudioSource, ClipResult, Status
from otio_avsync.testmedia import make_slipped_timeline
from otio_avsync.timeline_io import read_timeline
from otio_avsync.ui import model as rm
from otio_avsync.ui.synthetic import annotated_timeline


def _result(**kw) -> ClipResult:
    base = dict(
        clip_name="shot <1>", status=Status.OUT_OF_SYNC, message="m", offset_ms=2000.0,
        offset_frames=50.0, confidence=0.9, rate=25.0, tolerance=BT1359,
        audio_source=AudioSource("track", track="A1"),
        curve_ms=[float(x) for x in range(-2000, 2001, 10)],
        curve_score=[float(np.cos(x / 300.0)) for x in range(-2000, 2001, 10)],
    )
    base.update(kw)
    return ClipResult(**base)


def _svg_texts(page: str) -> list[tuple[float, str, str]]:
    return [
        (float(x), anchor, text)
        for x, anchor, text in re.findall(r'<text x="([\d.]+)" y="[\d.]+" class="est-t" text-anchor="(\w+)">([^<]*)<', page)
    ]


def test_estimate_label_stays_inside_the_plot_and_axes_are_drawn() -> None:
    page = to_html([_result()], title="t")
    [(x, anchor, text)] = _svg_texts(page)
    assert text == "estimate +2000 ms" and anchor == "end" and x <= 440  # drawn leftwards from the right edge
    assert "offset, ms (+ = sound late)" in page and ">-2000<" in page and ">+2000<" in page
    assert 'class="tol"' in page  # the tolerance band
    left = to_html([_result(offset_ms=-2000.0, offset_frames=-50.0)])
    [(x, anchor, _)] = _svg_texts(left)
    assert anchor == "start"


def test_report_is_self_contained_and_escapes_names() -> None:
    page = to_html([_result(), _result(clip_name="<script>x</script>", status=Status.IN_SYNC)])
    assert "<script>x</script>" not in page and "&lt;script&gt;" in page
    assert not re.search(r'(src|href)="(https?:)?//', page) and "<link" not in page
    assert "@import" not in page and "url(" not in page


def test_strip_tracks_decisions_settings_from_an_annotated_timeline(tmp_path: Path) -> None:
    truth = make_slipped_timeline(tmp_path, [0, 6, -4], clip_s=4.0, handle_s=0.5, seed=5)
    tl = read_timeline(truth.path)
    audit_timeline(tl, AuditOptions(estimator="baseline", thumbnails=True), base_dir=tmp_path)
    rows = {r.name: r for r in rm.load_rows(tl)}
    rm.set_decision(rows["slipped_01"], "manual", 230.0)
    results = results_from_timeline(tl)
    page = to_html(results, title="cut", context=context_from_timeline(tl))
    blocks = re.findall(r'<a class="blk s-(\w+)" href="#r(\d+)"', page)
    assert [s for s, _ in blocks] == ["in_sync", "out_of_sync", "out_of_sync"]
    for _, i in blocks:
        assert f'<tr id="r{i}"' in page
    assert 'class="dec-t"' in page and "manual +230 ms" in page
    assert "<h2>Tracks</h2>" in page and "A1:" in page
    assert "baseline" in page and "bt1359" in page and "otio-avsync 0.1.0" in page


def test_thumbnails_only_for_flagged_clips_as_small_jpegs(tmp_path: Path) -> None:
    truth = make_slipped_timeline(tmp_path, [0, 6], clip_s=4.0, handle_s=0.5, seed=6)
    tl = read_timeline(truth.path)
    result = audit_timeline(tl, AuditOptions(estimator="baseline", thumbnails=True), base_dir=tmp_path)
    by = {r.clip_name: r for r in result.results}
    assert by["slipped_00"].status is Status.IN_SYNC and by["slipped_00"].thumbnail_jpeg is None
    thumb = by["slipped_01"].thumbnail_jpeg
    assert thumb is not None and thumb[:2] == b"\xff\xd8" and len(thumb) < 12_000


def _thumb() -> bytes:
    """A worst-case thumbnail: noise does not compress."""
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (90, 160, 3), dtype=np.uint8)).save(buf, "JPEG", quality=70)
    return buf.getvalue()


def _synthetic(n: int) -> tuple[list[ClipResult], dict]:
    tl = annotated_timeline(n, languages=("eng",))
    results = results_from_timeline(tl)
    thumb = _thumb()
    for r in results:
        if r.status in (Status.OUT_OF_SYNC, Status.UNCERTAIN):
            r.thumbnail_jpeg = thumb
        r.clip = None  # the strip falls back to the analysed spans; the timeline can go
    return results, context_from_timeline(tl)


def test_a_1000_clip_report_is_small_and_written_in_pieces(tmp_path: Path) -> None:
    peaks = {}
    for n in (250, 1000):
        results, context = _synthetic(n)
        tracemalloc.start()
        write_report(results, "html", tmp_path / f"r{n}.html", title="big", context=context)
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    size = (tmp_path / "r1000.html").stat().st_size
    assert size < 15_000_000, size
    # Streamed: writing 4x the clips does not take 4x the memory (nor much at all).
    assert peaks[1000] < 2 * peaks[250] + 1_000_000 and peaks[1000] < 8_000_000, peaks


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--no-first-run", "--hide-scrollbars",
]


def screenshot(html: Path, png: Path, size: str = "1300,1400") -> subprocess.CompletedProcess[str]:
    """Render ``html`` in headless Chromium into ``png``."""
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={size}",
             f"--screenshot={png}", html.resolve().as_uri()],
            capture_output=True, text=True, timeout=120,
        )


@pytest.mark.slow
@pytest.mark.skipif(_chromium() is None, reason="no Chromium (apt-get install chromium) to render the report")
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    truth = make_slipped_timeline(tmp_path, [0, 8, 0, -5], clip_s=4.0, handle_s=0.5, seed=8)
    tl = read_timeline(truth.path)
    result = audit_timeline(tl, AuditOptions(estimator="baseline", thumbnails=True), base_dir=tmp_path)
    from otio_avsync.report import context_from_audit

    html = tmp_path / "report.html"
    write_report(result.results, "html", html, title="cut", context=context_from_audit(result))
    png = tmp_path / "report.png"
    run = screenshot(html, png)
    assert png.is_file(), run.stderr
    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert img.shape[1] == 1300

    def share(rgb: tuple[int, int, int]) -> float:
        return float(np.mean(np.all(np.abs(img - np.array(rgb)) <= 12, axis=-1)))

    # The strip and the chips: the status colours are on screen, in proportion.
    assert share((0x2E, 0x7D, 0x32)) > 0.002 and share((0xC6, 0x28, 0x28)) > 0.002
    # The thumbnails of the flagged clips decoded (a broken image draws nothing).
    dom = subprocess.run(
        [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'p2'}", "--dump-dom", html.as_uri()],
        capture_output=True, text=True, timeout=120,
    ).stdout
    assert dom.count('<tr id="r') == 4 and dom.count("data:image/jpeg") == 2
