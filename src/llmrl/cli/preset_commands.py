"""`llmrl presets [ALGO]`, and the one way every `--config` / `--resume` pair becomes a run's config."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import typer

from llmrl.cli.app import app
from llmrl.presets import PresetNotFoundError, preset_names, resolve_config

T = TypeVar("T")


def config_file(value: Path, algo: str) -> Path:
    """The YAML file `--config` names (a path, `algo/name` or `name`); a clear CLI error otherwise."""
    try:
        return resolve_config(value, algo)
    except PresetNotFoundError as error:
        raise typer.BadParameter(str(error), param_hint="--config") from None


def run_config(cls: type[T], algo: str, config: Path | None, resume: Path | None,
               overrides: Sequence[str]) -> tuple[T, Path | None]:
    """(config, YAML file read) of a new run or of `--resume RUN_DIR`, with key=value overrides on top.

    A new run reads `--config` (a preset name or file; none: the class's defaults); a resumed
    one reads the run's own config.yaml, so giving both is an error. Raises `ConfigError`
    or `NotARunDirError` (from llmrl.runtime), saying what was wrong.
    """
    from llmrl.runtime import ConfigError, RunDir, load_config

    if resume is not None:
        if config is not None:
            raise ConfigError("--resume uses the run's own config.yaml; pass changes as key=value overrides")
        return RunDir.open(resume).load_config(cls, list(overrides)), None
    path = config_file(config, algo) if config is not None else None
    return load_config(cls, path, list(overrides)), path


@app.command("presets")
def presets_command(algo: str | None = typer.Argument(None, help="Only this algorithm's presets, e.g. glam.")) -> None:
    """List the presets that ship with llmrl (give any of them to --config)."""
    names = preset_names(algo)
    if not names:
        raise typer.BadParameter(f"no presets for {algo!r}; algorithms with presets: "
                                 f"{', '.join(sorted({n.split('/')[0] for n in preset_names()}))}", param_hint="ALGO")
    for name in names:
        typer.echo(name)
