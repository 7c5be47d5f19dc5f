"""`llmrl play babyai-text` and `llmrl bench env`."""

import sys
from pathlib import Path

import typer
from rich.console import Console

from llmrl.bench.env import bench_env
from llmrl.bench.report import report
from llmrl.cli.app import bench_app, play_app


@play_app.command("babyai-text")
def play_babyai_text(
    env: str = typer.Option("BabyAIText-MixedTrainLocal-v0", "--env", help="BabyAIText-* or BabyAI-* id."),
    seed: int = typer.Option(0, "--seed", help="Seed of the first episode (then seed+1, ...)."),
    save_frames: Path | None = typer.Option(None, "--save-frames", help="Write rendered frames as PNG here."),
    variant: str | None = typer.Option(None, "--variant", help="Generalization variant, e.g. french."),
) -> None:
    """Play BabyAI-Text: type a command or its number, 'q' quits."""
    from llmrl.envs.babyai_text import make
    from llmrl.envs.babyai_text.play import play

    try:
        text_env = make(env, variant=variant, render_mode="rgb_array" if save_frames else None)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    play(text_env, seed, read_line=sys.stdin.readline, write=typer.echo, frames_dir=save_frames)
    text_env.close()


@bench_app.command("env")
def bench_env_command(
    env: str = typer.Option(
        "BabyAIText-MixedTrainLocal-v0", "--env", help="BabyAIText-*, BabyAI-* or CrafterText* id."
    ),
    steps: int = typer.Option(5000, "--steps", min=1, help="Random-action steps per env."),
    seed: int = typer.Option(0, "--seed"),
    repeats: int = typer.Option(3, "--repeats", min=1, help="Alternating runs per env; the fastest counts."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object last."),
) -> None:
    """Steps/s of the raw env and of its text version (same seeds, same random actions)."""
    console = Console(stderr=True)
    try:
        rows, summary = bench_env(env, steps, seed, repeats, progress=lambda msg: console.log(msg))
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    report(f"Env speed: {env}", rows, summary, as_json)
