"""GLAM prompts: the reference layout, a bounded per-episode history, pluggable templates.

The reference layout (Carta et al. 2023, spaces and separators as in the paper's code):

    Possible action of the agent: turn left, ..., toggle \\n Goal of the agent: {mission}
     \\n Observation 0: {d1}, {d2}, \\n Action 0: {a0} \\n ... \\n Observation k: ..., \\n Action k:

(one line; segments joined by " \\n "). The scored action string follows the final
"Action k: ". The history window holds the last `history` observations and the
`history - 1` actions between them, and is cleared when an episode ends.

`PromptObservation` wraps a BabyAI-Text env so that its observation *is* the prompt:
data flows env -> text -> prompt -> policy, and the vectorized rollout never needs to
know about histories.
"""

from __future__ import annotations

import string
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from llmrl.envs.babyai_text import variant_action_names, variant_prompt_headers
from llmrl.envs.babyai_text.lexicon import CHARSET

MAX_PROMPT_CHARS = 8192


@dataclass(frozen=True)
class Turn:
    """What the prompt shows of one step: the observation's sentences and, if taken, the action."""

    descriptions: tuple[str, ...]
    action: str | None = None


class PromptTemplate(Protocol):
    """Renders a goal and a window of turns (the last one without action) into one prompt string."""

    def __call__(self, mission: str, turns: Sequence[Turn], action_names: Sequence[str]) -> str: ...


@dataclass(frozen=True)
class GlamTemplate:
    """The reference GLAM layout; `headers` are the variant's prompt words (see `variant_prompt_headers`)."""

    headers: dict[str, str] = field(default_factory=variant_prompt_headers)

    def __call__(self, mission: str, turns: Sequence[Turn], action_names: Sequence[str]) -> str:
        if not turns:
            raise ValueError("a prompt needs at least one observation turn")
        h = self.headers
        parts = [f"{h['actions']} {', '.join(action_names)}", f"{h['goal']} {mission}"]
        for i, turn in enumerate(turns):
            # "d1, d2," then the " \n " separator: the reference's "{d1}, {d2}, \n ".
            observation = "".join(f"{d}, " for d in turn.descriptions).rstrip(" ")
            parts.append(f"{h['observation']} {i}: {observation}".rstrip(" "))
            # The last turn's action is the one being chosen: its line ends in "Action k: ".
            parts.append(f"{h['action']} {i}: " if turn.action is None else f"{h['action']} {i}: {turn.action}")
        return " \n ".join(parts)


@dataclass(frozen=True)
class ChatTemplate:
    """The GLAM text as one user message in a tokenizer's chat template (e.g. an instruct model's).

    The generation prompt is appended, so the scored action becomes the assistant's reply.
    """

    tokenizer: Any
    inner: PromptTemplate = field(default_factory=GlamTemplate)

    def __post_init__(self) -> None:
        if not getattr(self.tokenizer, "chat_template", None):
            raise ValueError("this tokenizer has no chat template; use the 'glam' template instead")

    def __call__(self, mission: str, turns: Sequence[Turn], action_names: Sequence[str]) -> str:
        message = {"role": "user", "content": self.inner(mission, turns, action_names)}
        return self.tokenizer.apply_chat_template([message], tokenize=False, add_generation_prompt=True)


class PromptHistory:
    """The last `history` observations of one episode and the actions between them."""

    def __init__(self, history: int = 3) -> None:
        if not isinstance(history, int) or isinstance(history, bool) or history < 1:
            raise ValueError(f"history must be an int >= 1 (observations kept in the prompt), got {history!r}")
        self.history = history
        self._turns: deque[Turn] = deque(maxlen=history)

    def clear(self) -> None:
        """Forget everything (a new episode starts)."""
        self._turns.clear()

    def observe(self, descriptions: Sequence[str]) -> None:
        """Add the newest observation (its action is not chosen yet)."""
        if self._turns and self._turns[-1].action is None:
            raise RuntimeError("observe() twice without act(): record the action taken in between")
        self._turns.append(Turn(tuple(descriptions)))

    def act(self, action: str) -> None:
        """Record the action taken in the newest observation."""
        if not self._turns or self._turns[-1].action is not None:
            raise RuntimeError("act() needs a preceding observe()")
        self._turns[-1] = Turn(self._turns[-1].descriptions, action)

    @property
    def turns(self) -> tuple[Turn, ...]:
        return tuple(self._turns)


class PromptObservation(gym.Wrapper):
    """A BabyAI-Text env whose observation is the GLAM prompt string (history cleared at reset).

    The unwrapped text observation stays available in `info` ("mission", "descriptions").
    """

    def __init__(self, env: gym.Env, template: PromptTemplate | None = None, history: int = 3) -> None:
        super().__init__(env)
        variant = getattr(env.unwrapped, "variant", None)
        self.template = template or GlamTemplate(variant_prompt_headers(variant))
        self.action_names = tuple(getattr(env.unwrapped, "valid_actions", variant_action_names(variant)))
        self.history = PromptHistory(history)
        self.observation_space = spaces.Text(MAX_PROMPT_CHARS, min_length=0, charset=_prompt_charset())

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        observation, info = self.env.reset(seed=seed, options=options)
        self.history.clear()
        return self._prompt(observation), info

    def step(self, action: int | np.integer | str) -> tuple[str, float, bool, bool, dict]:
        name = action if isinstance(action, str) else self.action_names[int(action)]
        self.history.act(name)
        observation, reward, terminated, truncated, info = self.env.step(action)
        # After the last step the history is kept until reset: the final prompt may be scored
        # (value bootstrap of a truncated episode).
        return self._prompt(observation), reward, terminated, truncated, info

    def _prompt(self, observation: dict) -> str:
        self.history.observe(observation["descriptions"])
        return self.template(observation["mission"], self.history.turns, self.action_names)


def _prompt_charset() -> str:
    # Any template may add markup (chat templates do): every printable character is allowed.
    return "".join(sorted(set(CHARSET) | set(string.printable)))
