"""`llmrl train|eval symbolic-ppo|drrn|npae|bc`, `llmrl eval run`, `llmrl eval record`, `llmrl compare`."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer

from llmrl.cli.app import app, eval_app, train_app
from llmrl.cli.preset_commands import run_config
from llmrl.registry import ALGORITHMS, algorithm


def _fail(error: Exception) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(1)


def _trainer(algo: str) -> tuple[type, Any]:
    """(config class, train function) of an algorithm, from the registry."""
    entry = algorithm(algo)
    return entry.config, entry.train


def _train(algo: str, config: Path | None, overrides: list[str] | None, resume: Path | None) -> None:
    from llmrl.runtime import ConfigError, NotARunDirError, TrainingDiverged

    if config is None and resume is None:
        raise typer.BadParameter(f"give --config PRESET (e.g. {algo}/cpu-tiny) or --resume RUN_DIR",
                                 param_hint="--config")
    config_cls, train = _trainer(algo)
    try:
        cfg, config = run_config(config_cls, algo, config, resume, overrides or [])
        run = train(cfg, config_path=config, resume=resume)
    except (ConfigError, NotARunDirError, TrainingDiverged, FileNotFoundError, ValueError) as error:
        raise _fail(error) from error
    typer.echo(f"run directory: {run.path}")


_CONFIG = typer.Option(None, "--config", help="Preset name (llmrl presets ALGO) or YAML file, e.g. drrn/cpu-tiny.")
_OVERRIDES = typer.Argument(None, help="key=value overrides, e.g. lr=1e-4 num_envs=8.")
_RESUME = typer.Option(None, "--resume", help="Run directory to continue from its latest checkpoint.")


def _train_command(algo: str):
    def command(config: Path | None = _CONFIG, overrides: list[str] | None = _OVERRIDES,
                resume: Path | None = _RESUME) -> None:
        _train(algo, config, overrides, resume)

    command.__doc__ = algorithm(algo).summary
    return command


def _evaluate(run: Path, episodes: int, seed: int, overrides: list[str] | None, expected: str | None) -> None:
    from llmrl.eval.compare import evaluate_run
    from llmrl.eval.glam_eval import markdown_table
    from llmrl.runtime import CheckpointError, ConfigError, NotARunDirError, RunDir

    try:
        algo = RunDir.open(run).meta.get("algo")
        if expected is not None and algo != expected:
            raise ValueError(f"{run} is a {algo!r} run, not {expected!r}; use `llmrl eval run --run {run}`")
        result = evaluate_run(run, episodes=episodes, seed=seed, overrides=overrides or [])
    except (ConfigError, NotARunDirError, CheckpointError, ValueError) as error:
        raise _fail(error) from error
    typer.echo(markdown_table([result]), nl=False)
    typer.echo(json.dumps(asdict(result)))


_RUN = typer.Option(..., "--run", help="Run directory (its latest checkpoint is evaluated).")
_EPISODES = typer.Option(100, "--episodes", min=1, help="Number of episodes.")
_SEED = typer.Option(0, "--seed", min=0, help="Episode i uses seed 1e9*seed + i.")
_EVAL_OVERRIDES = typer.Argument(None, help="key=value config overrides (e.g. num_dists=4).")


def _eval_command(algo: str | None):
    def command(run: Path = _RUN, episodes: int = _EPISODES, seed: int = _SEED,
                overrides: list[str] | None = _EVAL_OVERRIDES) -> None:
        _evaluate(run, episodes, seed, overrides, algo)

    what = f"a {algo} run" if algo else "any run (GLAM or a baseline)"
    command.__doc__ = f"Success rate (99% CI), mean return and length of {what}, actions sampled."
    return command


for _entry in ALGORITHMS.values():
    if _entry.generic_cli:  # GLAM and ELLM have commands of their own (cli/glam_commands.py, cli/ellm_commands.py)
        train_app.command(_entry.name)(_train_command(_entry.name))
        eval_app.command(_entry.name)(_eval_command(_entry.name))
eval_app.command("run")(_eval_command(None))


@eval_app.command("record")
def record_command(
    run: Path = _RUN,
    out: Path = typer.Option(..., "--out", help="JSONL file to write (a `llmrl train bc` source)."),
    episodes: int = _EPISODES,
    seed: int = _SEED,
) -> None:
    """Record a GLAM run's own episodes (actions sampled) as JSONL trajectories for behaviour cloning."""
    from llmrl.runtime import CheckpointError, ConfigError, NotARunDirError, RunDir
    from llmrl.train.bc import record_trajectories
    from llmrl.train.glam import GlamConfig
    from llmrl.train.lm_policies import load_policy

    try:
        run_dir = RunDir.open(run)
        if run_dir.meta.get("algo") != "glam":
            raise ValueError(f"{run} is not a GLAM run (algo {run_dir.meta.get('algo')!r}); record needs an LLM policy")
        cfg = run_dir.load_config(GlamConfig)
        path = record_trajectories(load_policy(cfg, run), cfg, out, episodes=episodes, seed=seed)
    except (ConfigError, NotARunDirError, CheckpointError, ValueError) as error:
        raise _fail(error) from error
    typer.echo(f"wrote {path}")


@app.command("compare")
def compare_command(
    run_dirs: list[Path] = typer.Argument(..., help="Run directories of any methods and seeds."),
    budgets: str | None = typer.Option(None, "--budgets", help="Frame budgets, e.g. 10000,50000 "
                                       "[default: the shortest run's frames and half of it]."),
    threshold: float = typer.Option(0.5, "--threshold", help="Success level for 'frames to reach'."),
    smooth: int = typer.Option(5, "--smooth", min=1, help="Metrics rows averaged per value."),
    out: Path = typer.Option(Path("compare"), "--out", help="Directory for compare.md, compare.json, compare.png."),
) -> None:
    """Table of methods (grouped over seeds): success at frame budgets, frames to a success level; one plot."""
    from rich.console import Console
    from rich.table import Column, Table

    from llmrl.eval.compare import compare_runs, table_rows, write_comparison
    from llmrl.eval.plots import PlotError
    from llmrl.runtime import NotARunDirError

    try:
        parsed = None if budgets is None else [int(float(b)) for b in budgets.split(",") if b.strip()]
    except ValueError as error:
        raise typer.BadParameter(f"--budgets must be comma-separated frame counts, got {budgets!r}") from error
    try:
        summaries, used = compare_runs(run_dirs, parsed, threshold=threshold, smooth=smooth)
        md, js, png = write_comparison(summaries, used, out, threshold=threshold, smooth=smooth)
    except (PlotError, NotARunDirError, ValueError) as error:
        raise _fail(error) from error
    header, rows = table_rows(summaries, used, threshold)
    # The method column never wraps: cut to a narrow terminal, "glam (glam-tiny)" and
    # "glam (glam-smollm2)" became the same "glam (glam-sm…".
    table = Table(Column(header[0], no_wrap=True), *header[1:], title="methods compared (mean ± std over seeds)")
    for row in rows:
        table.add_row(*row)
    console = Console()
    console.print(table)
    console.print(f"wrote {md}, {js} and {png}")
