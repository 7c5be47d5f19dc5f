"""Any candidate game as a PPO env for GLAM: observations are `CandidatePrompt`s, actions indices.

`CandidatePromptEnv` wraps a gymnasium env that follows the candidate contract of `common.py`
(text observation, `info["goal"]`, `info["admissible_commands"]`) and returns, at every reset
and step,

    CandidatePrompt(prompt = TextGamePrompter(goal, last observations and actions), candidates)

Action k plays `candidates[k]` of the observation it was chosen in (a command string is also
accepted, as typed). Integer actions keep `llmrl.runtime.vec_env.SeededVecEnv` and its
action-replay resume unchanged: the same reset seed and indices replay the same episode.

`TextGameSettings` names a TextWorld or ScienceWorld set-up (GLAM's `text_game` config field)
and builds such envs.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from llmrl.envs.text_games.common import CandidatePrompt, candidates, resolve_command
from llmrl.envs.text_games.prompt import TextGamePrompter
from llmrl.envs.text_games.scienceworld_env import ScienceWorldTextEnv
from llmrl.envs.text_games.textworld_env import TextWorldEnv, TextWorldGame

_LETTERS = np.array(list(string.ascii_lowercase + " "))


class CandidatePromptSpace(spaces.Space):
    """The space of `CandidatePrompt`s (no fixed shape: the candidate count changes every step)."""

    def __init__(self, seed: int | np.random.Generator | None = None) -> None:
        super().__init__(None, None, seed)

    def contains(self, x: Any) -> bool:
        return isinstance(x, CandidatePrompt)

    def sample(self, mask: Any = None, probability: Any = None) -> CandidatePrompt:
        """A random prompt with 1 to 8 random candidates (letters and spaces)."""
        if mask is not None or probability is not None:
            raise ValueError("CandidatePromptSpace.sample takes no mask or probability")

        def text(low: int, high: int) -> str:
            return "".join(self.np_random.choice(_LETTERS, size=int(self.np_random.integers(low, high))))

        count = int(self.np_random.integers(1, 9))
        return CandidatePrompt(text(0, 64), tuple("x" + text(0, 16) for _ in range(count)))


class CandidatePromptEnv(gym.Wrapper):
    """Observations `CandidatePrompt(prompt, candidates)` of a candidate env; action k plays candidate k.

    `history`: observations in the prompt (and the actions between them). `max_candidates`:
    keep at most that many of a step's candidates, a uniform random subset in the env's order
    drawn from a generator seeded at each seeded reset (so a replayed episode sees the same
    subsets); it bounds the tokens one step costs to score (ScienceWorld lists thousands).
    `info["success"]` is set from the game's `info["won"]` where it has one: a positive return
    is not a win in games with partial scores.
    """

    def __init__(self, env: gym.Env, *, history: int = 2, max_candidates: int | None = None) -> None:
        super().__init__(env)
        if max_candidates is not None and max_candidates < 1:
            raise ValueError(f"max_candidates must be None (all) or >= 1, got {max_candidates}")
        self.prompter = TextGamePrompter(history=history)
        self.max_candidates = max_candidates
        self.observation_space = CandidatePromptSpace()
        self._candidates: tuple[str, ...] = ()
        self._subsets = np.random.default_rng()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[CandidatePrompt, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        if seed is not None:
            self._subsets = np.random.default_rng(seed)
        return self._observe(self.prompter.reset(obs, info), info), info

    def step(self, action: int | str) -> tuple[CandidatePrompt, float, bool, bool, dict[str, Any]]:
        command = resolve_command(action, self._candidates)
        obs, reward, terminated, truncated, info = self.env.step(command)
        return self._observe(self.prompter.step(command, obs), info), reward, terminated, truncated, info

    def _observe(self, prompt: str, info: dict[str, Any]) -> CandidatePrompt:
        options = candidates(info)
        if self.max_candidates is not None and len(options) > self.max_candidates:
            keep = np.sort(self._subsets.choice(len(options), self.max_candidates, replace=False))
            options = [options[i] for i in keep]
        if "won" in info:
            info["success"] = bool(info["won"])
        self._candidates = tuple(options)
        return CandidatePrompt(prompt, self._candidates)


@dataclass
class TextGameSettings:
    """A candidate game for GLAM training (`GlamConfig.text_game`): which env, its size, the prompt.

    TextWorld: custom games of `rooms`, `objects`, `quest_length`, generated from `game_seeds`
    (each episode draws one; None: any seed). ScienceWorld: `tasks`, their `split` of
    variations, `simplifications`. Both: `max_steps` per episode, `history` observations in the
    prompt, `max_candidates` per step (None: all; see `CandidatePromptEnv`).
    """

    env: Literal["textworld", "scienceworld"] = "textworld"
    rooms: int = 1
    objects: int = 2
    quest_length: int = 1
    game_seeds: list[int] | None = None
    tasks: list[str] = field(default_factory=lambda: ["find-living-thing"])
    split: Literal["train", "dev", "test"] = "train"
    simplifications: str = "easy"
    max_steps: int = 20
    history: int = 2
    max_candidates: int | None = None

    def __post_init__(self) -> None:
        if self.env not in ("textworld", "scienceworld"):
            raise ValueError(f"text_game.env must be 'textworld' or 'scienceworld', got {self.env!r}")
        for name in ("max_steps", "history"):
            if getattr(self, name) < 1:
                raise ValueError(f"text_game.{name} must be >= 1, got {getattr(self, name)}")

    def make_env(self) -> CandidatePromptEnv:
        """One env of these settings, wrapped for GLAM (a ScienceWorld env starts its own JVM)."""
        if self.env == "textworld":
            game = TextWorldGame(rooms=self.rooms, objects=self.objects, quest_length=self.quest_length)
            env: gym.Env = TextWorldEnv(game, game_seeds=self.game_seeds, max_steps=self.max_steps)
        else:
            env = ScienceWorldTextEnv(self.tasks, split=self.split, max_steps=self.max_steps,
                                      simplifications=self.simplifications)
        return CandidatePromptEnv(env, history=self.history, max_candidates=self.max_candidates)
