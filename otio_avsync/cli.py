"""``otio-avsync``: audit timelines, check single files, run the demo.

Exit status (see :mod:`otio_avsync.results`): 0 = every clip checked, nothing
flagged; 1 = clips flagged (``--fail-on``); 3 = nothing flagged but some clips
could not be checked (``--allow-unchecked`` makes that 0); 2 = usage error, bad
input or a bug (one line on stderr; the traceback with ``--debug``).
Progress goes to stderr; the summary table (or ``--json``) to stdout.

Here are the click group and the commands' signatures; the shared options are in
:mod:`otio_avsync.cli_options`, the steps the commands share in
:mod:`otio_avsync.cli_run`, and the bodies of ``demo`` and ``train`` in
:mod:`otio_avsync.demo` and :mod:`otio_avsync.cli_train`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from otio_avsync import __version__
from otio_avsync.cli_options import audit_options, common_options, execution_options
from otio_avsync.cli_run import (
    audit_one,
    check_audit_outputs,
    check_report_suffixes,
    execution,
    run_audit,
    run_audits,
    show,
    write_reports,
)
from otio_avsync.console import (
    DEBUG_ENV,
    configure_logging,
    emit,
    print_fixes,
    safe_text,
    stdout_gone,
)
from otio_avsync.console import debugging as _debugging
from otio_avsync.errors import AvsyncError
from otio_avsync.results import (
    EXIT_FLAGGED,
    EXIT_OK,
    EXIT_UNCHECKED,
    EXIT_USAGE,
    Status,
    Tolerance,
)

EXIT_BAD_INPUT = EXIT_USAGE
__all__ = ["EXIT_BAD_INPUT", "EXIT_FLAGGED", "EXIT_OK", "EXIT_UNCHECKED", "main", "run"]


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
@execution_options
@common_options
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
    many = out_dir is not None or len(timelines) > 1 or timelines[0].is_dir()
    if many and output is not None:
        raise click.UsageError("-o names one output; with several timelines use --out-dir DIR")
    check_audit_outputs(timelines, output, reports)
    executor, cache = execution(jobs, ray, cache_dir, no_cache)
    options = audit_options(
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
            run=lambda items: run_audits(items, options, quiet, executor, cache),
            adapter=adapter,
            media_dirs=media_dirs,
            as_json=as_json,
            quiet=quiet,
            echo=click.echo,
        )
        sys.exit(code)
    code = audit_one(
        timelines[0],
        output,
        reports,
        options,
        adapter=adapter,
        adapter_args=adapter_args,
        media_dirs=media_dirs,
        as_json=as_json,
        quiet=quiet,
        executor=executor,
        cache=cache,
    )
    sys.exit(code)


@main.command()
@click.argument("media", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--audio",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Check MEDIA's picture against this file's sound instead of its own.",
)
@click.option("-r", "--report", "reports", multiple=True, help="Write a report (.json/.csv/.html).")
@common_options
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
    from otio_avsync.single import timeline_for_media

    inputs = [str(media)] + ([str(audio)] if audio else [])
    check_report_suffixes(reports, inputs)
    tl = timeline_for_media(media, audio)
    options = audit_options(
        tolerance,
        estimator,
        search_ms,
        min_confidence,
        thumbnails=any(r.lower().endswith((".html", ".htm")) for r in reports),
        unchecked_ok=unchecked_ok,
    )
    result = run_audit(tl, options, None, True)
    write_reports(result, reports, media.name, inputs)
    show(result, as_json, quiet, media.name)
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
    from otio_avsync.demo import run_demo

    run_demo(folder, seed, dubs)


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
    "--clips",
    "clips_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of training clips as ../shared/data/extract.py lays them out"
    " (GRID and the recipe's other sources; see the model card).",
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
    clips_dir: Path | None,
    cache: Path | None,
    out: Path,
    recalibrate: bool,
) -> None:
    """Train the attention model (self-supervised) and calibrate its confidence."""
    from otio_avsync.cli_train import train as train_command

    train_command(
        config_path, variant, seed, steps, threads, media_dir, clips_dir, cache, out, recalibrate
    )


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
        _run_main()
    finally:
        # The work is done (or was interrupted and said so): an interrupt while the
        # interpreter joins worker processes on its way out would otherwise kill it
        # by SIGINT, hiding the exit status the command chose.
        import atexit
        import signal

        atexit.register(signal.signal, signal.SIGINT, signal.SIG_IGN)


def _run_main() -> None:
    """:func:`run` without the interpreter's way out."""
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
