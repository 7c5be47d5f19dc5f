"""`llmrl presets [ALGO]`, and the one way every `--config` option turns a preset name into a file."""

from __future__ import annotations

from pathlib import Path

import typer

from llmrl.cli.app import app
from llmrl.presets import PresetNotFoundError, preset_names, resolve_config


def config_file(value: Path, algo: str) -> Path:
    """The YAML file `--config` names (a path, `algo/name` or `name`); a clear CLI error otherwise."""
    try:
        return resolve_config(value, algo)
    except PresetNotFoundError as error:
        raise typer.BadParameter(str(error), param_hint="--config") from None


@app.command("presets")
def presets_command(algo: str | None = typer.Argument(None, help="Only this algorithm's presets, e.g. glam.")) -> None:
    """List the presets that ship with llmrl (give any of them to --config)."""
    names = preset_names(algo)
    if not names:
        raise typer.BadParameter(f"no presets for {algo!r}; algorithms with presets: "
                                 f"{', '.join(sorted({n.split('/')[0] for n in preset_names()}))}", param_hint="ALGO")
    for name in names:
        typer.echo(name)
