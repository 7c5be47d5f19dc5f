"""Play any candidate text env (see `common.py`) in a terminal, or from a script of commands."""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import gymnasium as gym

from llmrl.envs.text_games.common import candidates


@dataclass
class PlayResult:
    """What a play session did: commands sent, episodes finished, and the last episode's outcome."""

    steps: int = 0
    episodes: int = 0
    total_reward: float = 0.0
    last_info: dict | None = None


def _lines(read_line: Callable[[], str]) -> Iterator[str]:
    while True:
        line = read_line()
        if line == "":  # end of input
            return
        yield line


def play(
    env: gym.Env,
    *,
    read_line: Callable[[], str] | None = None,
    commands: Iterable[str] | None = None,
    write: Callable[[str], None] = print,
    reset_kwargs: dict | None = None,
    show_candidates: int = 60,
) -> PlayResult:
    """One episode, or more while input lasts: each command is text or the number of a listed candidate.

    Commands come from `commands` (a script: the session ends when it runs out) or from
    `read_line` (interactive; "" is end of input); 'q' quits. After an episode ends, the
    next one starts with `env.reset()` (its RNG continues). At most `show_candidates`
    candidates are listed each step (ScienceWorld has hundreds); 0 lists none.
    """
    if (read_line is None) == (commands is None):
        raise ValueError("give exactly one of read_line (interactive) and commands (a script)")
    source = iter(commands) if commands is not None else _lines(read_line)
    result = PlayResult()
    obs, info = env.reset(**(reset_kwargs or {}))
    _show(write, obs, info, result.episodes, show_candidates, goal=True)
    for line in source:
        command = line.strip()
        if command == "q":
            break
        if not command:
            continue
        options = candidates(info)
        action: int | str = options[int(command)] if command.isdigit() and int(command) < len(options) else command
        write(f"> {action}")
        try:
            obs, reward, terminated, truncated, info = env.step(action)
        except ValueError as error:
            write(str(error))
            continue
        result.steps += 1
        result.total_reward += reward
        result.last_info = info
        if reward:
            write(f"reward: {reward:+g}")
        if terminated or truncated:
            write(obs)
            outcome = "won" if info.get("won") else "lost" if info.get("lost") else "truncated" if truncated else "over"
            write(f"Episode {result.episodes} {outcome}: score {info.get('score', '?')}/{info.get('max_score', '?')}.")
            result.episodes += 1
            obs, info = env.reset()
            _show(write, obs, info, result.episodes, show_candidates, goal=True)
        else:
            _show(write, obs, info, result.episodes, show_candidates, goal=False)
    write(f"Bye: {result.steps} commands, {result.episodes} episodes finished.")
    return result


def _show(write: Callable[[str], None], obs: str, info: dict, episode: int, show_candidates: int, goal: bool) -> None:
    if goal:
        write(f"=== Episode {episode}" + (f" (game seed {info['game_seed']})" if "game_seed" in info else "") + " ===")
        if info.get("goal"):
            write(f"Goal: {info['goal']}")
    write(obs)
    if show_candidates > 0:
        options = candidates(info)
        more = f" ... and {len(options) - show_candidates} more" if len(options) > show_candidates else ""
        listed = ", ".join(f"{i}: {c}" for i, c in enumerate(options[:show_candidates]))
        write(f"Commands: {listed}{more}  (a number, any text; q quits)")
