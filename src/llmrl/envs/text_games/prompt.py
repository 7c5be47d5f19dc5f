"""Prompts for candidate text games, in GLAM's layout, from a goal and a window of (observation, action) turns.

    Goal of the agent: {goal} \\n Observation 0: {obs} \\n Action 0: {action} \\n ...
     \\n Observation k: {obs} \\n Action k:

(one line; segments joined by " \\n ", whitespace inside a game text collapsed to single
spaces). The scored candidate follows the final "Action k: ". The candidates are not listed
in the prompt: ScienceWorld has hundreds per step, and scoring each one is what the LM does.
"""

import re
from collections import deque
from dataclasses import dataclass, field

_SPACES = re.compile(r"\s+")


def flatten(text: str) -> str:
    """Game text on one line: newlines, tabs and runs of spaces become one space."""
    return _SPACES.sub(" ", text).strip()


def text_game_prompt(goal: str, turns: list[tuple[str, str | None]]) -> str:
    """The prompt for a goal and turns (observation, action taken or None for the last, open one)."""
    if not turns or turns[-1][1] is not None:
        raise ValueError("turns must end with the current observation, whose action (None) is being chosen")
    parts = [f"Goal of the agent: {flatten(goal)}"]
    for i, (observation, action) in enumerate(turns):
        parts.append(f"Observation {i}: {flatten(observation)}")
        parts.append(f"Action {i}: " if action is None else f"Action {i}: {action}")
    return " \n ".join(parts)


@dataclass
class TextGamePrompter:
    """Keeps an episode's last `history` observations and the actions between them; renders the prompt."""

    history: int = 2
    goal: str = ""
    _turns: deque = field(default_factory=deque)

    def __post_init__(self) -> None:
        if self.history < 1:
            raise ValueError(f"history must be >= 1, got {self.history}")
        self._turns = deque(maxlen=self.history)

    def reset(self, observation: str, info: dict) -> str:
        """A new episode: its goal (info["goal"]) and first observation; returns the prompt."""
        self.goal = info.get("goal", "")
        self._turns.clear()
        self._turns.append([observation, None])
        return self.prompt()

    def step(self, action: str, observation: str) -> str:
        """Record the action taken and the observation it led to; returns the next prompt."""
        self._turns[-1][1] = action
        self._turns.append([observation, None])
        return self.prompt()

    def prompt(self) -> str:
        return text_game_prompt(self.goal, [tuple(t) for t in self._turns])
