"""The command line's shared options: the tolerance type, the estimator options every
analysing command takes, the execution options (workers, Ray, cache) and the
:class:`~otio_avsync.audit.AuditOptions` built from them.

Kept apart from :mod:`otio_avsync.cli` so that the module of commands stays short.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from otio_avsync.estimators import DEFAULT_ESTIMATOR, ESTIMATORS
from otio_avsync.results import TOLERANCE_PRESETS, Status, Tolerance, parse_tolerance


class ToleranceType(click.ParamType):
    name = "TOLERANCE"

    def convert(self, value: Any, param: Any, ctx: Any) -> Tolerance:
        if isinstance(value, Tolerance):
            return value
        try:
            return parse_tolerance(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def common_options(f: Any) -> Any:
    f = click.option(
        "--tolerance",
        type=ToleranceType(),
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


def execution_options(f: Any) -> Any:
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


def audit_options(
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
