"""The steps the commands share: audits with progress on stderr, the executor and result
cache, reports checked before decoding and written after, the table or JSON on stdout,
and the audit command's single-timeline and many-timeline runs.

Kept apart from :mod:`otio_avsync.cli` so that the commands stay short; what is printed
lives in :mod:`otio_avsync.console`.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import click

from otio_avsync.console import emit, markup, print_table, rich_console, safe_text, stdout_gone
from otio_avsync.errors import AvsyncError


def run_audit(
    timeline: Any, options: Any, base_dir: Any, quiet: bool, executor: Any = None, cache: Any = None
) -> Any:
    """Audit one timeline (see :func:`run_audits`)."""
    return run_audits([(timeline, base_dir)], options, quiet, executor, cache)[0]


def run_audits(
    items: list[tuple[Any, Any]], options: Any, quiet: bool, executor: Any, cache: Any
) -> list[Any]:
    """Audit timelines through one executor, with progress on stderr: a live bar on a
    terminal, plain lines in logs and pipes."""
    from otio_avsync.audit import audit_timelines

    console = rich_console(stderr=True)
    if quiet or not console.is_terminal:
        progress = None if quiet else progress_lines()
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


def execution(jobs: int | None, ray: str | None, cache_dir: Path | None, no_cache: bool):
    """The executor and result cache that --jobs, --ray, --cache and --no-cache ask for."""
    from otio_avsync.cache import ResultCache, default_cache_dir
    from otio_avsync.execute import make_executor

    cache = None if no_cache else ResultCache(cache_dir or default_cache_dir())
    return make_executor(jobs, ray), cache


def progress_lines() -> Any:
    from otio_avsync.progress import ProgressLines

    return ProgressLines(sys.stderr)


def write_reports(result: Any, reports: tuple[str, ...], title: str, protect: list[str]) -> None:
    from otio_avsync.report import context_from_audit, write_report
    from otio_avsync.timeline_io import write_atomic

    context = context_from_audit(result)
    fail_on = result.options.fail_on
    for target in reports:
        fmt = Path(target).suffix.lstrip(".").lower()

        def writer(tmp: Path, fmt: str = fmt) -> None:
            write_report(result.results, fmt, tmp, title=title, context=context, fail_on=fail_on)

        write_atomic(target, writer, protect=protect)


def check_report_suffixes(reports: tuple[str, ...], protect: list[str] | None = None) -> None:
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


def show(result: Any, as_json: bool, quiet: bool, title: str) -> None:
    """The JSON report or the table on stdout; a closed pipe ends it quietly."""
    from otio_avsync.report import to_json

    try:
        if as_json:
            emit(to_json(result.results, title=title, fail_on=result.options.fail_on))
        elif not quiet:
            print_table(result, title=markup(title))
    except BrokenPipeError:
        stdout_gone()


def check_audit_outputs(
    timelines: tuple[Path, ...], output: Path | None, reports: tuple[str, ...]
) -> None:
    """Every output of an audit, checked before anything is decoded: a bad one fails in a
    second."""
    from otio_avsync.timeline_io import check_timeline_output, same_file

    timeline = timelines[0]
    protect_in = [str(t) for t in timelines]
    check_report_suffixes(reports, protect_in + ([str(output)] if output else []))
    if output is not None:
        if timeline.exists() and output.exists() and same_file(output, timeline):
            raise AvsyncError(f"refusing to overwrite the input file {timeline}; choose another -o")
        check_timeline_output(output, protect=[timeline])


def audit_one(
    timeline: Path,
    output: Path | None,
    reports: tuple[str, ...],
    options: Any,
    *,
    adapter: str | None,
    adapter_args: tuple[str, ...],
    media_dirs: tuple[str, ...],
    as_json: bool,
    quiet: bool,
    executor: Any,
    cache: Any,
) -> int:
    """Audit one timeline file: read it, relink its media, write the annotated copy and
    the reports, show the table or JSON; the exit status."""
    from otio_avsync.plugin import relink_timeline
    from otio_avsync.timeline_io import (
        parse_adapter_args,
        read_timeline_for_audit,
        rebase_relative_urls,
        write_timeline,
    )

    tl, note = read_timeline_for_audit(timeline, adapter, parse_adapter_args(adapter_args))
    if note:
        click.echo(f"otio-avsync: {note}", err=True)
    work = copy.deepcopy(tl)
    if media_dirs:
        relink_timeline(work, [Path(d) for d in media_dirs])
    result = run_audit(work, options, timeline.resolve().parent, quiet, executor, cache)
    for line in (work.metadata.get("otio_avsync") or {}).get("notes") or []:
        click.echo(f"otio-avsync: {line}", err=True)
    protect = [str(timeline)]
    if output is not None:
        rebase_relative_urls(work, timeline.resolve().parent, output.resolve().parent)
        write_timeline(work, output, protect=protect)
    write_reports(result, reports, work.name or timeline.name, protect)
    show(result, as_json, quiet, work.name or timeline.name)
    return result.exit_code
