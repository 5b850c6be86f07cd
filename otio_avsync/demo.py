"""The ``demo`` command's work: generated media and a slipped timeline, audited against
the known slips; with ``--dubs`` also simulated dubs, audited and fixed."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import click

from otio_avsync.cli_run import run_audit, write_reports
from otio_avsync.console import print_table


def run_demo(folder: Path | None, seed: int, dubs: bool) -> None:
    """Generate a small timeline with media (some clips slipped by known amounts), audit it."""
    from otio_avsync.audit import AuditOptions
    from otio_avsync.testmedia import make_demo
    from otio_avsync.timeline_io import read_timeline, write_timeline

    folder = folder or Path(tempfile.mkdtemp(prefix="avsync-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    click.echo(f"Generating demo media and timeline in {folder} ...", err=True)
    truth = make_demo(folder, seed=seed)
    tl = read_timeline(truth.path)
    result = run_audit(tl, AuditOptions(thumbnails=True), truth.path.parent, False)
    out = truth.path.with_name(truth.path.stem + ".avsync.otio")
    write_timeline(tl, out, protect=[str(truth.path)])
    html = folder / "report.html"
    write_reports(result, (str(html), str(folder / "report.json")), tl.name or "demo", [])
    print_table(result, expected=truth.expected, title="demo timeline (expected = known slip)")
    hits = [
        r
        for r in result.results
        if r.clip_name in truth.expected
        and r.offset_ms is not None
        and abs(r.offset_ms - truth.expected[r.clip_name]) <= 1000.0 / r.rate
    ]
    click.echo(
        f"{len(hits)}/{len(truth.expected)} analysable clips within ±1 frame of the known slip."
    )
    click.echo(f"Annotated timeline: {out}\nHTML report: {html}")
    if dubs:
        demo_dubs(folder / "dubs", seed)


def demo_dubs(folder: Path, seed: int) -> None:
    """The dub part of the demo: simulated dubs, audited, then fixed (with the speed change)."""
    from otio_avsync.audit import AuditOptions
    from otio_avsync.fix import apply_fixes
    from otio_avsync.testdubs import CONFORMS, DubCase, make_dub_timeline
    from otio_avsync.timeline_io import read_timeline, write_timeline

    click.echo(f"Generating simulated dubs in {folder} ...", err=True)
    cases = {
        "fra": DubCase(offset_ms=4000.0),
        "deu": DubCase(speed=CONFORMS["pal"][0]),
        "ita": DubCase(jump_at=3, jump_ms=320.0),
    }
    truth = make_dub_timeline(folder, cases, clips=6, clip_s=4.0, seed=seed)
    tl = read_timeline(truth.path)
    result = run_audit(tl, AuditOptions(), truth.path.parent, False)
    out = truth.path.with_name(truth.path.stem + ".avsync.otio")
    write_timeline(tl, out, protect=[str(truth.path)])
    print_table(result, title="simulated dubs (reference: the original mix)")
    fixed = copy.deepcopy(tl)
    report = apply_fixes(fixed, apply_speed=True)
    fixed_path = truth.path.with_name(truth.path.stem + ".fixed.otio")
    write_timeline(fixed, fixed_path, protect=[str(truth.path)])
    click.echo(
        f"Annotated dubs: {out}\nFixed dubs ({len(report.slipped)} sounds slipped, speed "
        f"changed on {len(report.speed_proposals)} drifting track(s)): {fixed_path}"
    )
