"""`llmrl play textworld`, `llmrl play scienceworld` and `llmrl eval text-game` (zero-shot)."""

import sys

import typer

from llmrl.cli.app import eval_app, play_app


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


@play_app.command("scienceworld")
def play_scienceworld(
    task: str = typer.Option("boil", "--task", help="ScienceWorld task name (e.g. boil, find-living-thing)."),
    variation: int = typer.Option(0, "--variation", min=0, help="Task variation index."),
    max_steps: int = typer.Option(100, "--max-steps", min=1, help="Actions before the episode is truncated."),
    simplifications: str = typer.Option("", "--simplifications", help="ScienceWorld's, e.g. 'easy'."),
    commands: str | None = typer.Option(
        None, "--commands", help="Play this ';'-separated script instead of reading the terminal."
    ),
    gold: bool = typer.Option(False, "--gold", help="Play ScienceWorld's gold (winning) action sequence."),
    show: int = typer.Option(40, "--show", min=0, help="Valid actions listed per step (there are hundreds)."),
) -> None:
    """Play a ScienceWorld task (needs Java): type an action or its number; q quits."""
    from llmrl.envs.text_games.play import play
    from llmrl.envs.text_games.scienceworld_env import ScienceWorldTextEnv

    try:
        env = ScienceWorldTextEnv(task, max_steps=max_steps, simplifications=simplifications)
    except (ValueError, RuntimeError) as error:
        raise typer.BadParameter(str(error)) from error
    options = {"task": task, "variation": variation}
    script = _script(commands)
    try:
        if gold:
            env.reset(options=options)
            script = [*env.gold_actions(), *(script or [])]
        kwargs = {"commands": script} if script is not None else {"read_line": sys.stdin.readline}
        play(env, write=typer.echo, reset_kwargs={"options": options}, show_candidates=show, **kwargs)
    finally:
        env.close()


@eval_app.command("text-game")
def eval_text_game(
    env_name: str = typer.Option("textworld", "--env", help="textworld or scienceworld."),
    model: str = typer.Option("smollm2-135m", "--model", help="Model to score the candidates with."),
    episodes: int = typer.Option(2, "--episodes", min=1),
    max_steps: int = typer.Option(20, "--max-steps", min=1),
    seed: int = typer.Option(0, "--seed", help="TextWorld: game seeds seed..seed+episodes-1; both: reset seeds."),
    task: list[str] | None = typer.Option(None, "--task", help="ScienceWorld task(s) (default: boil)."),
    split: str = typer.Option("dev", "--split", help="ScienceWorld variations: train, dev or test."),
    sample: bool = typer.Option(False, "--sample", help="Sample actions from the softmax (default: argmax)."),
    method: str = typer.Option("shared", "--method", help="Scoring: shared (in --chunk candidates), kv or naive."),
    normalize: str = typer.Option("sum", "--normalize", help="sum or mean of the candidate's token log-probs."),
    chunk: int = typer.Option(256, "--chunk", min=1, help="Candidates per shared/naive scoring call."),
    threads: int = typer.Option(2, "--threads", min=1, help="torch threads (no more than free cores)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object last."),
) -> None:
    """Zero-shot: the LM scores every admissible command of a text game and plays the best one."""
    import torch
    from rich.console import Console

    from llmrl.bench.report import report
    from llmrl.eval.text_games import evaluate_zero_shot
    from llmrl.lm.loading import load_lm

    torch.set_num_threads(threads)
    if env_name == "textworld":
        from llmrl.envs.text_games import TextWorldEnv

        env = TextWorldEnv(max_steps=max_steps)

        def reset_options(i: int) -> dict:
            return {"game_seed": seed + i}
    elif env_name == "scienceworld":
        from llmrl.envs.text_games.scienceworld_env import ScienceWorldTextEnv

        try:
            env = ScienceWorldTextEnv(task or ["boil"], split=split, max_steps=max_steps)
        except (ValueError, RuntimeError) as error:
            raise typer.BadParameter(str(error)) from error
        reset_options = None
    else:
        raise typer.BadParameter(f"--env must be textworld or scienceworld, got {env_name!r}")
    console = Console(stderr=True)
    try:
        with console.status("loading the model") as status:
            lm = load_lm(model)
            rows, summary = evaluate_zero_shot(
                lm, env, episodes, reset_options=reset_options, seed=seed, greedy=not sample, method=method,
                normalize=normalize, chunk=chunk, progress=status.update,
            )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    finally:
        env.close()
    report(f"Zero-shot {env_name}: {model}", rows, {"env": env_name, **summary}, as_json)
