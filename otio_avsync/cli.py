"""``otio-avsync``: audit timelines, check single files, run the demo.

Exit status (see :mod:`otio_avsync.results`): 0 = every clip checked, nothing
flagged; 1 = clips flagged (``--fail-on``); 3 = nothing flagged but some clips
could not be checked (``--allow-unchecked`` makes that 0); 2 = usage error, bad
input or a bug (one line on stderr; the traceback with ``--debug``).
Progress goes to stderr; the summary table (or ``--json``) to stdout.
"""

from __future__ import annotations

import copy
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from otio_avsync import __version__
from otio_avsync.console import (
    DEBUG_ENV,
    configure_logging,
    emit,
    markup,
    print_fixes,
    print_table,
    rich_console,
    safe_text,
    stdout_gone,
)
from otio_avsync.console import debugging as _debugging
from otio_avsync.errors import AvsyncError
from otio_avsync.estimators import DEFAULT_ESTIMATOR, ESTIMATORS
from otio_avsync.results import (
    EXIT_FLAGGED,
    EXIT_OK,
    EXIT_UNCHECKED,
    EXIT_USAGE,
    TOLERANCE_PRESETS,
    Status,
    Tolerance,
    parse_tolerance,
)

EXIT_BAD_INPUT = EXIT_USAGE
__all__ = ["EXIT_BAD_INPUT", "EXIT_FLAGGED", "EXIT_OK", "EXIT_UNCHECKED", "main", "run"]


class _ToleranceType(click.ParamType):
    name = "TOLERANCE"

    def convert(self, value: Any, param: Any, ctx: Any) -> Tolerance:
        if isinstance(value, Tolerance):
            return value
        try:
            return parse_tolerance(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _common_options(f: Any) -> Any:
    f = click.option(
        "--tolerance",
        type=_ToleranceType(),
        default="bt1359",
        show_default=True,
        help=f"Preset ({', '.join(TOLERANCE_PRESETS)}) or 'EARLY_MS,LATE_MS' the sound may be off.",
    )(f)
    f = click.option(
        "--estimator",
        type=click.Choice(list(ESTIMATORS)),
        default=DEFAULT_ESTIMATOR,
        show_default=True,
        help="How offsets are estimated: the attention model (default), its temporal-only and "
        "plain-average variants, or the classical correlation baseline.",
    )(f)
    f = click.option(
        "--search",
        "search_ms",
        type=click.FloatRange(min=40, max=30000),
        default=2000.0,
        show_default=True,
        help="Search offsets within ± this many ms.",
    )(f)
    f = click.option(
        "--min-confidence",
        type=click.FloatRange(0, 1),
        default=0.5,
        show_default=True,
        help="Below this confidence a clip is 'uncertain' rather than judged.",
    )(f)
    f = click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")(
        f
    )
    f = click.option("-q", "--quiet", is_flag=True, help="No progress bar or table.")(f)
    f = click.option(
        "--allow-unchecked",
        "unchecked_ok",
        is_flag=True,
        help="Clips that could not be checked (uncertain, media missing, no audio, error) "
        "do not make the exit status 3.",
    )(f)
    return f


def _options(
    tolerance: Tolerance,
    estimator: str,
    search_ms: float,
    min_confidence: float,
    fail_on: tuple[str, ...] = ("out_of_sync", "error"),
    thumbnails: bool = False,
    reference: str | None = None,
    reference_search_ms: float = 10000.0,
    unchecked_ok: bool = False,
) -> Any:
    from otio_avsync.audit import AuditOptions

    return AuditOptions(
        estimator=estimator,
        search_ms=search_ms,
        tolerance=tolerance,
        min_confidence=min_confidence,
        thumbnails=thumbnails,
        fail_on=tuple(Status(s) for s in fail_on),
        reference=reference,
        reference_search_ms=reference_search_ms,
        unchecked_ok=unchecked_ok,
    )


def _run_audit(
    timeline: Any, options: Any, base_dir: Any, quiet: bool, executor: Any = None, cache: Any = None
) -> Any:
    """Audit one timeline (see :func:`_run_audits`)."""
    return _run_audits([(timeline, base_dir)], options, quiet, executor, cache)[0]


def _run_audits(
    items: list[tuple[Any, Any]], options: Any, quiet: bool, executor: Any, cache: Any
) -> list[Any]:
    """Audit timelines through one executor, with progress on stderr: a live bar on a
    terminal, plain lines in logs and pipes."""
    from otio_avsync.audit import audit_timelines

    console = rich_console(stderr=True)
    if quiet or not console.is_terminal:
        progress = None if quiet else _progress_lines()
        results = audit_timelines(items, options, progress=progress, executor=executor, cache=cache)
    else:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("analysing", total=None)

            def progress(done: int, total: int, name: str) -> None:
                label = markup(f"analysing {safe_text(name)[:30]}")
                bar.update(task, completed=done, total=total, description=label)

            results = audit_timelines(
                items, options, progress=progress, executor=executor, cache=cache
            )
    if cache is not None and not quiet:
        work = [r.work for r in results]
        reused, jobs = sum(w["reused"] for w in work), sum(w["jobs"] for w in work)
        click.echo(f"cache: {reused} of {jobs} job(s) reused ({cache.folder})", err=True)
    return results


def _execution(jobs: int | None, ray: str | None, cache_dir: Path | None, no_cache: bool):
    """The executor and result cache that --jobs, --ray, --cache and --no-cache ask for."""
    from otio_avsync.cache import ResultCache, default_cache_dir
    from otio_avsync.execute import make_executor

    cache = None if no_cache else ResultCache(cache_dir or default_cache_dir())
    return make_executor(jobs, ray), cache


def _execution_options(f: Any) -> Any:
    f = click.option(
        "--no-cache",
        is_flag=True,
        help="Analyse every job again; neither read nor write the cache.",
    )(f)
    f = click.option(
        "--cache",
        "cache_dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Result cache folder (default: $OTIO_AVSYNC_CACHE, else the user cache folder, "
        "~/.cache/otio-avsync on Linux). Unchanged jobs reuse their results.",
    )(f)
    f = click.option(
        "--ray",
        metavar="ADDRESS",
        help="Run the jobs as Ray tasks: 'auto' (this machine's cluster), 'local' (start one "
        "here) or a cluster address. Media paths must be readable on the workers. Needs "
        "pip install 'otio-avsync[ray]'.",
    )(f)
    f = click.option(
        "-j",
        "--jobs",
        type=click.IntRange(min=1),
        envvar="OTIO_AVSYNC_JOBS",
        help="Worker processes (default: the cores available; 1 = this process).",
    )(f)
    return f


def _progress_lines() -> Any:
    from otio_avsync.progress import ProgressLines

    return ProgressLines(sys.stderr)


def _write_reports(result: Any, reports: tuple[str, ...], title: str, protect: list[str]) -> None:
    from otio_avsync.report import context_from_audit, write_report
    from otio_avsync.timeline_io import write_atomic

    context = context_from_audit(result)
    fail_on = result.options.fail_on
    for target in reports:
        fmt = Path(target).suffix.lstrip(".").lower()

        def writer(tmp: Path, fmt: str = fmt) -> None:
            write_report(result.results, fmt, tmp, title=title, context=context, fail_on=fail_on)

        write_atomic(target, writer, protect=protect)


def _check_report_suffixes(reports: tuple[str, ...], protect: list[str] | None = None) -> None:
    """Every report's suffix and path, checked before any decoding (exit 2 if bad)."""
    from otio_avsync.report import FORMATS
    from otio_avsync.timeline_io import check_output

    for target in reports:
        fmt = Path(target).suffix.lstrip(".").lower()
        if fmt not in FORMATS and fmt != "htm":
            raise click.BadParameter(
                f"{target}: report format comes from the suffix: one of {', '.join(FORMATS)}",
                param_hint="--report",
            )
        check_output(target, protect=protect, what="report")
    if len({str(Path(t).resolve()) for t in reports}) < len(reports):
        raise click.BadParameter("the same report path is given twice", param_hint="--report")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="otio-avsync")
@click.option(
    "--debug",
    is_flag=True,
    help=f"Show tracebacks of internal errors (also {DEBUG_ENV}=1).",
)
def main(debug: bool) -> None:
    """Check picture/sound sync of editorial timelines (OTIO, EDL, FCP XML, AAF...).

    Offsets: positive = sound late; the fix slips the audio earlier.

    Exit status: 0 all clips checked and nothing flagged; 1 clips flagged
    (--fail-on); 3 some clips could not be checked (--allow-unchecked: 0);
    2 usage error, bad input or an internal error.
    """
    if debug:
        os.environ[DEBUG_ENV] = "1"
    configure_logging(debug or _debugging())


@main.command()
@click.argument("timelines", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the annotated timeline here (.otio keeps markers and metadata).",
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="For several timelines (or a folder): write DIR/<name>.avsync.otio, "
    "DIR/<name>.report.<fmt> each and one combined report (DIR/report.json, or the -r paths).",
)
@click.option(
    "-r",
    "--report",
    "reports",
    multiple=True,
    help="Write a report: .json, .csv or .html (repeatable).",
)
@click.option("--adapter", help="OTIO adapter to read TIMELINE with (default: from its suffix).")
@click.option(
    "-a",
    "--adapter-arg",
    "adapter_args",
    multiple=True,
    metavar="KEY=VALUE",
    help="Argument for the reading adapter, as otioconvert -a (repeatable): e.g. rate=25 for "
    "an EDL (default: its media's frame rate).",
)
@click.option(
    "--media-dir",
    "media_dirs",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Relink offline media by file name from this folder (repeatable).",
)
@click.option(
    "--fail-on",
    multiple=True,
    default=("out_of_sync",),
    show_default=True,
    type=click.Choice([s.value for s in Status]),
    help="Statuses that count as flagged: the exit status 1, the table's and the JSON "
    "report's 'flagged' (repeatable).",
)
@click.option(
    "--reference-track",
    "reference",
    metavar="NAME",
    help="The original mix the other sounds (dubs) are aligned to, audio to audio: a track "
    "name or a stream language. Default: a track marked or named like one (ORIG, M&E, MIX, "
    "REF...), else the sound the picture estimator finds in sync; 'none' turns alignment off.",
)
@click.option(
    "--reference-search",
    "reference_search_ms",
    type=click.FloatRange(min=40, max=60000),
    default=10000.0,
    show_default=True,
    help="Search the reference within ± this many ms.",
)
@_execution_options
@_common_options
def audit(
    timelines: tuple[Path, ...],
    output: Path | None,
    out_dir: Path | None,
    reports: tuple[str, ...],
    adapter: str | None,
    adapter_args: tuple[str, ...],
    media_dirs: tuple[str, ...],
    fail_on: tuple[str, ...],
    reference: str | None,
    reference_search_ms: float,
    tolerance: Tolerance,
    estimator: str,
    search_ms: float,
    min_confidence: float,
    as_json: bool,
    quiet: bool,
    unchecked_ok: bool,
    jobs: int | None,
    ray: str | None,
    cache_dir: Path | None,
    no_cache: bool,
) -> None:
    """Audit every picture clip of each TIMELINE (a file, or a folder of them) against its
    linked sound. Several timelines share one pool of workers and one result cache."""
    from otio_avsync.plugin import relink_timeline
    from otio_avsync.report import to_json
    from otio_avsync.timeline_io import (
        check_timeline_output,
        parse_adapter_args,
        read_timeline_for_audit,
        rebase_relative_urls,
        same_file,
        write_timeline,
    )

    many = out_dir is not None or len(timelines) > 1 or timelines[0].is_dir()
    if many and output is not None:
        raise click.UsageError("-o names one output; with several timelines use --out-dir DIR")
    timeline = timelines[0]
    protect_in = [str(t) for t in timelines]
    # Every output is checked before anything is decoded: a bad one fails in a second.
    _check_report_suffixes(reports, protect_in + ([str(output)] if output else []))
    if output is not None:
        if timeline.exists() and output.exists() and same_file(output, timeline):
            raise AvsyncError(f"refusing to overwrite the input file {timeline}; choose another -o")
        check_timeline_output(output, protect=[timeline])
    executor, cache = _execution(jobs, ray, cache_dir, no_cache)
    options = _options(
        tolerance,
        estimator,
        search_ms,
        min_confidence,
        fail_on,
        thumbnails=any(r.lower().endswith((".html", ".htm")) for r in reports),
        reference=reference,
        reference_search_ms=reference_search_ms,
        unchecked_ok=unchecked_ok,
    )
    if many:
        from otio_avsync.batch import audit_many

        code = audit_many(
            list(timelines),
            out_dir=out_dir,
            reports=reports,
            options=options,
            run=lambda items: _run_audits(items, options, quiet, executor, cache),
            adapter=adapter,
            media_dirs=media_dirs,
            as_json=as_json,
            quiet=quiet,
            echo=click.echo,
        )
        sys.exit(code)
    tl, note = read_timeline_for_audit(timeline, adapter, parse_adapter_args(adapter_args))
    if note:
        click.echo(f"otio-avsync: {note}", err=True)
    work = copy.deepcopy(tl)
    if media_dirs:
        relink_timeline(work, [Path(d) for d in media_dirs])
    result = _run_audit(work, options, timeline.resolve().parent, quiet, executor, cache)
    for line in (work.metadata.get("otio_avsync") or {}).get("notes") or []:
        click.echo(f"otio-avsync: {line}", err=True)
    protect = [str(timeline)]
    if output is not None:
        rebase_relative_urls(work, timeline.resolve().parent, output.resolve().parent)
        write_timeline(work, output, protect=protect)
    _write_reports(result, reports, work.name or timeline.name, protect)
    _show(result, as_json, quiet, work.name or timeline.name, to_json)
    sys.exit(result.exit_code)


def _show(result: Any, as_json: bool, quiet: bool, title: str, to_json: Any) -> None:
    """The JSON report or the table on stdout; a closed pipe ends it quietly."""
    try:
        if as_json:
            emit(to_json(result.results, title=title, fail_on=result.options.fail_on))
        elif not quiet:
            print_table(result, title=markup(title))
    except BrokenPipeError:
        stdout_gone()


@main.command()
@click.argument("media", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--audio",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Check MEDIA's picture against this file's sound instead of its own.",
)
@click.option("-r", "--report", "reports", multiple=True, help="Write a report (.json/.csv/.html).")
@_common_options
def check(
    media: Path,
    audio: Path | None,
    reports: tuple[str, ...],
    tolerance: Tolerance,
    estimator: str,
    search_ms: float,
    min_confidence: float,
    as_json: bool,
    quiet: bool,
    unchecked_ok: bool,
) -> None:
    """Check one media file (picture against its own sound, or against --audio)."""
    from otio_avsync.report import to_json
    from otio_avsync.single import timeline_for_media

    inputs = [str(media)] + ([str(audio)] if audio else [])
    _check_report_suffixes(reports, inputs)
    tl = timeline_for_media(media, audio)
    options = _options(
        tolerance,
        estimator,
        search_ms,
        min_confidence,
        thumbnails=any(r.lower().endswith((".html", ".htm")) for r in reports),
        unchecked_ok=unchecked_ok,
    )
    result = _run_audit(tl, options, None, True)
    _write_reports(result, reports, media.name, inputs)
    _show(result, as_json, quiet, media.name, to_json)
    sys.exit(result.exit_code)


@main.command()
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the demo media, timeline and reports (default: a temp folder).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--dubs",
    is_flag=True,
    help="Also simulate a reel with dub tracks (a 4 s slip, a 25/24 drift, a jump), "
    "audit it against the original mix and fix it.",
)
def demo(folder: Path | None, seed: int, dubs: bool) -> None:
    """Generate a small timeline with media (some clips slipped by known amounts), audit it."""
    from otio_avsync.audit import AuditOptions
    from otio_avsync.testmedia import make_demo
    from otio_avsync.timeline_io import read_timeline, write_timeline

    folder = folder or Path(tempfile.mkdtemp(prefix="avsync-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    click.echo(f"Generating demo media and timeline in {folder} ...", err=True)
    truth = make_demo(folder, seed=seed)
    tl = read_timeline(truth.path)
    result = _run_audit(tl, AuditOptions(thumbnails=True), truth.path.parent, False)
    out = truth.path.with_name(truth.path.stem + ".avsync.otio")
    write_timeline(tl, out, protect=[str(truth.path)])
    html = folder / "report.html"
    _write_reports(result, (str(html), str(folder / "report.json")), tl.name or "demo", [])
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
        _demo_dubs(folder / "dubs", seed)


def _demo_dubs(folder: Path, seed: int) -> None:
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
    result = _run_audit(tl, AuditOptions(), truth.path.parent, False)
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


@main.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Training recipe (TOML); default: the recipe of the shipped weights.",
)
@click.option(
    "--variant",
    type=click.Choice(["spatio-temporal", "temporal", "none"]),
    help="Attention variant.",
)
@click.option("--seed", type=int, help="Random seed (overrides the recipe).")
@click.option("--steps", type=click.IntRange(min=1), help="Training steps (overrides recipe).")
@click.option("--threads", type=click.IntRange(min=1), help="CPU threads (overrides the recipe).")
@click.option(
    "--media",
    "media_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder with manifest.json and real clips (default: ../shared/media beside the checkout).",
)
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where decoded clips are cached (default: ~/.cache/otio-avsync).",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Weights file to write (written atomically).",
)
@click.option(
    "--recalibrate",
    is_flag=True,
    help="Do not train: fit the confidence calibration of the existing weights OUT again.",
)
def train(
    config_path: Path | None,
    variant: str | None,
    seed: int | None,
    steps: int | None,
    threads: int | None,
    media_dir: Path | None,
    cache: Path | None,
    out: Path,
    recalibrate: bool,
) -> None:
    """Train the attention model (self-supervised) and calibrate its confidence."""
    import dataclasses
    from importlib import resources

    from otio_avsync.model.config import TrainConfig
    from otio_avsync.model.corpus import default_cache_dir, default_media_dir

    if recalibrate:
        from otio_avsync.model.train import recalibrate as refit

        if not out.is_file():
            raise click.ClickException(f"{out}: no weights to recalibrate")
        ignored = [
            name
            for name, value in (
                ("--config", config_path),
                ("--variant", variant),
                ("--seed", seed),
                ("--steps", steps),
            )
            if value is not None
        ]
        if ignored:
            raise click.ClickException(
                f"--recalibrate keeps the weights' own recipe; drop {', '.join(ignored)}"
            )
        if threads:
            import torch

            torch.set_num_threads(threads)
        try:
            refit(
                out,
                media_dir=media_dir or default_media_dir(),
                cache=cache or default_cache_dir(),
                log=lambda line: click.echo(line, err=True),
            )
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Calibration written to {out}")
        return

    recipe = config_path or Path(str(resources.files("otio_avsync.model") / "recipe.toml"))
    try:
        cfg = TrainConfig.load(recipe)
    except (ValueError, TypeError, OSError) as exc:
        raise click.ClickException(f"bad training recipe {recipe}: {exc}") from None
    changes: dict[str, Any] = {}
    if seed is not None:
        changes["seed"] = seed
    if steps is not None:
        changes["steps"] = steps
    if threads is not None:
        changes["threads"] = threads
    if variant is not None:
        changes["model"] = dataclasses.replace(cfg.model, variant=variant)
    cfg = dataclasses.replace(cfg, **changes)
    from otio_avsync.model.frontend import landmarks_available

    if cfg.model.mouth == "landmarks" and not landmarks_available():
        raise click.ClickException(
            "the recipe's landmark mouth tracker needs MediaPipe:"
            " pip install --no-deps mediapipe==0.10.14"
        )
    from otio_avsync.model.train import run_training

    run_training(
        cfg,
        out,
        media_dir=media_dir or default_media_dir(),
        cache=cache or default_cache_dir(),
        log=lambda line: click.echo(line, err=True),
    )
    click.echo(f"Weights written to {out}")


@main.command()
@click.argument(
    "timeline", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def review(timeline: Path | None) -> None:
    """Open the review panel on an annotated TIMELINE: see, hear and decide per clip.

    Needs PySide6 (the package's [review] extra). Decisions are saved to a
    new timeline (File > Save as); the opened file is never overwritten unless asked.
    """
    from otio_avsync.ui import run_review

    sys.exit(run_review(timeline))


@main.command()
@click.argument("timeline", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Write the fixed (or reverted) timeline here; never the input.",
)
@click.option("--force", is_flag=True, help="Also apply the best guesses of 'uncertain' clips.")
@click.option(
    "--apply-speed",
    is_flag=True,
    help="On drifting tracks also apply the proposed speed change (a LinearTimeWarp).",
)
@click.option("--revert", is_flag=True, help="Undo earlier fixes instead: restore the sound clips.")
@click.option("--adapter", help="OTIO adapter to read TIMELINE with (default: from its suffix).")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON on stdout.")
def fix(
    timeline: Path,
    output: Path,
    force: bool,
    apply_speed: bool,
    revert: bool,
    adapter: str | None,
    as_json: bool,
) -> None:
    """Slip the sound clips of an audited TIMELINE by the accepted offsets.

    TIMELINE is the output of 'audit -o'. Out-of-sync sounds are slipped (uncertain
    ones with --force); the review panel's decisions win. Exit status: 0 done,
    1 out-of-sync sounds left unfixed, 2 bad input.
    """
    import json

    from otio_avsync.fix import apply_fixes, revert_fixes
    from otio_avsync.timeline_io import (
        check_timeline_output,
        read_timeline,
        rebase_relative_urls,
        same_file,
        write_timeline,
    )

    if timeline.exists() and output.exists() and same_file(output, timeline):
        raise AvsyncError(f"refusing to overwrite the input file {timeline}; choose another -o")
    check_timeline_output(output, protect=[timeline])
    tl = read_timeline(timeline, adapter=adapter)
    if revert:
        problems: list[str] = []
        n = revert_fixes(tl, problems)
        report = None
        for line in problems:
            click.echo(f"otio-avsync: {safe_text(line)}", err=True)
        if problems and not n:
            raise AvsyncError("nothing could be reverted: the fix records are malformed")
    else:
        report = apply_fixes(tl, force=force, apply_speed=apply_speed)
        for e in report.entries:
            if e.action == "malformed":
                click.echo(f"otio-avsync: {safe_text(e.clip)}: {safe_text(e.reason)}", err=True)
        if report.entries and all(e.action == "malformed" for e in report.entries):
            raise AvsyncError("nothing can be fixed: the audit metadata on every clip is malformed")
    rebase_relative_urls(tl, timeline.resolve().parent, output.resolve().parent)
    write_timeline(tl, output, protect=[str(timeline)])
    if report is None:
        emit(json.dumps({"reverted": n}) if as_json else f"{n} sound clip(s) restored.")
        sys.exit(EXIT_OK)
    if as_json:
        emit(json.dumps(report.to_dict(), indent=2))
    else:
        print_fixes(report, output)
    sys.exit(EXIT_FLAGGED if report.unfixed_flagged else EXIT_OK)


def run() -> None:
    """Entry point: user errors and bugs as one line and exit status 2, never a traceback.

    A bug shows its traceback with ``--debug`` (or ``OTIO_AVSYNC_DEBUG=1``); it never
    exits 1, which scripts read as "clips flagged".
    """
    try:
        main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except AvsyncError as exc:
        click.echo(f"otio-avsync: {safe_text(exc)}", err=True)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except BrokenPipeError:
        stdout_gone()
        sys.exit(EXIT_OK)
    except Exception as exc:
        if _debugging() or "--debug" in sys.argv[1:]:
            import traceback

            traceback.print_exc()
            click.echo(f"otio-avsync: internal error ({type(exc).__name__})", err=True)
            sys.exit(EXIT_USAGE)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        detail = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
        click.echo(
            f"otio-avsync: internal error ({safe_text(detail)}); run again with --debug "
            "for the traceback and please report it",
            err=True,
        )
        sys.exit(EXIT_USAGE)
