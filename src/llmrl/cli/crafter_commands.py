"""`llmrl play crafter-text`: play Text Crafter in the terminal, seeing what the agent and the LLM see."""

from pathlib import Path

import gymnasium as gym
import typer
from PIL import Image

from llmrl.cli.app import play_app
from llmrl.envs.crafter_text import ENV_ID, PAPER_LENGTH, STOCK_LENGTH


def _show(info: dict, obs: dict) -> None:
    typer.echo(f"\n{obs['text']}")
    typer.echo(f"caption: {info['transition_caption']}")
    if info["achievements_unlocked"]:
        typer.echo(f"achievements: {', '.join(info['achievements_unlocked'])}")


@play_app.command("crafter-text")
def play_crafter_text(
    seed: int = typer.Option(0, min=0, help="Crafter world seed."),
    length: int = typer.Option(
        STOCK_LENGTH, min=1, help=f"Episode length (crafter {STOCK_LENGTH}, paper {PAPER_LENGTH})."
    ),
    action_set: str = typer.Option("primitive", help="primitive (17 crafter actions) or verb_noun (the paper's 29)."),
    paper_tweaks: bool = typer.Option(
        False, help="The ELLM paper's rules: table costs 1 wood, one-hit kills, no health reward."
    ),
    save_frames: Path | None = typer.Option(None, help="Write each step's 64x64 frame as PNG into this folder."),
) -> None:
    """Type an action by name or number ('?' lists them, 'q' quits)."""
    try:
        env = gym.make(
            ENV_ID, length=length, action_set=action_set, paper_tweaks=paper_tweaks, image=save_frames is not None
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    names = env.unwrapped.action_names
    menu = "  ".join(f"{i}:{name}" for i, name in enumerate(names))
    if save_frames is not None:
        save_frames.mkdir(parents=True, exist_ok=True)
    obs, info = env.reset(seed=seed)
    typer.echo(menu)
    _show(info, obs)
    step, total = 0, 0.0
    while True:
        if save_frames is not None:
            Image.fromarray(obs["image"]).save(save_frames / f"frame_{step:05d}.png")
        command = typer.prompt("action", prompt_suffix="> ").strip()
        if command == "q":
            break
        if command == "?":
            typer.echo(menu)
            continue
        try:
            action = int(command) if command.isdigit() else command
            obs, reward, terminated, truncated, info = env.step(action)
        except ValueError as error:
            typer.echo(str(error))
            continue
        step, total = step + 1, total + reward
        _show(info, obs)
        typer.echo(f"reward: {reward:+.1f}  return: {total:+.1f}  step: {step}")
        if terminated or truncated:
            typer.echo("The player died." if terminated else "Out of time.")
            if save_frames is not None:
                Image.fromarray(obs["image"]).save(save_frames / f"frame_{step:05d}.png")
            break
    env.close()
