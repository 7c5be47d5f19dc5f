"""`llmrl play textworld`, `llmrl play scienceworld` and `llmrl eval text-game`."""

import sys

import typer

from llmrl.cli.app import play_app


def _script(commands: str | None) -> list[str] | None:
    """A ';'-separated command script, or None (interactive)."""
    if commands is None:
        return None
    return [c.strip() for c in commands.split(";") if c.strip()]


@play_app.command("textworld")
def play_textworld(
    seed: int = typer.Option(0, "--seed", min=0, help="Game seed: the same seed generates the same game."),
    challenge: str | None = typer.Option(
        None, "--challenge", help="tw-simple, tw-coin_collector, tw-treasure_hunter or tw-cooking (default: custom)."
    ),
    level: int | None = typer.Option(None, "--level", min=1, help="Challenge level (coin collector, treasure hunter)."),
    rooms: int = typer.Option(3, "--rooms", min=1, help="Rooms of a custom game."),
    objects: int = typer.Option(6, "--objects", min=0, help="Objects of a custom game."),
    quest_length: int = typer.Option(3, "--quest-length", min=1, help="Commands the custom game's quest needs."),
    max_steps: int = typer.Option(50, "--max-steps", min=1, help="Commands before the episode is truncated."),
    commands: str | None = typer.Option(
        None, "--commands", help="Play this ';'-separated script instead of reading the terminal, e.g. 'go east;look'."
    ),
    walkthrough: bool = typer.Option(False, "--walkthrough", help="Play the game's own winning commands."),
    show: int = typer.Option(60, "--show", min=0, help="Candidate commands listed per step (0: none)."),
) -> None:
    """Play a TextWorld game generated locally from --seed: type a command or its number; q quits."""
    from llmrl.envs.text_games import TextWorldEnv, TextWorldGame
    from llmrl.envs.text_games.play import play

    settings = {"level": level} if level is not None else {}
    try:
        game = TextWorldGame(challenge, rooms, objects, quest_length, settings=settings)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    env = TextWorldEnv(game, game_seeds=[seed], max_steps=max_steps)
    script = _script(commands)
    try:
        if walkthrough:
            _, info = env.reset(options={"game_seed": seed})
            script = [*info["walkthrough"], *(script or [])]
        kwargs = {"commands": script} if script is not None else {"read_line": sys.stdin.readline}
        play(env, write=typer.echo, reset_kwargs={"options": {"game_seed": seed}}, show_candidates=show, **kwargs)
    finally:
        env.close()
