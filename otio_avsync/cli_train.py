"""The ``train`` command's work: the recipe with the command line's overrides, the
training run, or (``--recalibrate``) a new confidence calibration of existing weights.

Kept apart from :mod:`otio_avsync.cli` so that the module of commands stays short; the
training itself is :mod:`otio_avsync.model.train`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click


def _log(line: str) -> None:
    click.echo(line, err=True)


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
    from otio_avsync.model.corpus import default_cache_dir, default_media_dir

    if recalibrate:
        overrides = {
            "--config": config_path,
            "--variant": variant,
            "--seed": seed,
            "--steps": steps,
        }
        _recalibrate(out, overrides, threads, media_dir, clips_dir, cache)
        return
    cfg = _recipe(config_path, variant, seed, steps, threads)
    from otio_avsync.model.train import run_training

    run_training(
        cfg,
        out,
        media_dir=media_dir or default_media_dir(),
        cache=cache or default_cache_dir(),
        clips_dir=clips_dir,
        log=_log,
    )
    click.echo(f"Weights written to {out}")


def _recalibrate(
    out: Path,
    overrides: dict[str, Any],
    threads: int | None,
    media_dir: Path | None,
    clips_dir: Path | None,
    cache: Path | None,
) -> None:
    """Fit the confidence calibration of the weights ``out`` again; the recipe options
    (``overrides``, by option name) are refused: the weights keep their own recipe."""
    from otio_avsync.model.corpus import default_cache_dir, default_media_dir
    from otio_avsync.model.train import recalibrate as refit

    if not out.is_file():
        raise click.ClickException(f"{out}: no weights to recalibrate")
    ignored = [name for name, value in overrides.items() if value is not None]
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
            clips_dir=clips_dir,
            log=_log,
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Calibration written to {out}")


def _recipe(
    config_path: Path | None,
    variant: str | None,
    seed: int | None,
    steps: int | None,
    threads: int | None,
) -> Any:
    """The training recipe (the shipped one unless ``--config``) with the command line's
    overrides; a landmark mouth tracker without MediaPipe is refused before training."""
    from importlib import resources

    from otio_avsync.model.config import TrainConfig

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
    return cfg
