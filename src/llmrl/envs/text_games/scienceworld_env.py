"""`ScienceWorldTextEnv`: ScienceWorld's 30 science tasks as a gymnasium text env with its valid actions.

ScienceWorld (Wang et al., 2022) is a simulator in Java: its wheel carries the jar and
starts a JVM per env (`java` >= 11 on the PATH, ~2 s), so nothing is downloaded.

Observation: the simulator's text after the last action (a `spaces.Text`). Action: a
command or an index into this step's `info["admissible_commands"]`.

Info (every reset and step): "goal" (the task description), "admissible_commands"
(ScienceWorld's valid action-object combinations, sorted: often several hundred),
"description" (what "look around" prints), "inventory", "score" (0..100; negative when the
task failed), "won" (score 100), "lost" (score < 0), "moves", "task", "variation".
Reward: the change of the score, divided by 100 (a solved task sums to 1).
`terminated`: the task is completed or failed; `truncated`: `max_steps` actions without either.

Which task and variation an episode plays: `reset(options={"task": name, "variation": i})`,
else the env's RNG (seeded by `reset(seed=...)`) draws a task from `tasks` and a variation
of that task's `split` ("train", "dev" or "test": ScienceWorld's own partition).
"""

import shutil
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from llmrl.envs.text_games.common import command_space, observation_space, resolve_command, tidy, to_charset

SPLITS = ("train", "dev", "test")
INSTALL_HINT = "ScienceWorld is an optional dependency: pip install 'llmrl[scienceworld]' (scienceworld>=1.2.3)"


def _scienceworld():
    try:
        import scienceworld
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError(INSTALL_HINT) from error
    if shutil.which("java") is None:
        raise RuntimeError("ScienceWorld runs on Java: install a JRE >= 11 (e.g. apt-get install default-jre-headless)")
    return scienceworld


class ScienceWorldTextEnv(gym.Env):
    """One ScienceWorld task variation per episode; candidates are its valid actions."""

    metadata = {"render_modes": ["ansi"]}

    def __init__(
        self,
        tasks: str | Sequence[str] | None = None,
        *,
        split: str = "train",
        max_steps: int = 100,
        simplifications: str = "",
        render_mode: str | None = None,
    ):
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps}")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        scienceworld = _scienceworld()
        # The simulator's own step limit would end episodes on its side: ours is the one that counts.
        self._sw = scienceworld.ScienceWorldEnv("", envStepLimit=10**9)
        self.task_names: list[str] = list(self._sw.get_task_names())
        if tasks is None:
            tasks = self.task_names
        elif isinstance(tasks, str):
            tasks = [tasks]
        unknown = [t for t in tasks if t not in self.task_names]
        if unknown or not tasks:
            raise ValueError(f"unknown ScienceWorld task(s) {unknown}; known: {', '.join(self.task_names)}")
        self.tasks = list(tasks)
        self.split = split
        self.max_steps = max_steps
        self.simplifications = simplifications
        self.render_mode = render_mode
        self.observation_space = observation_space()
        self.action_space = command_space()
        self._variations: dict[str, list[int]] = {}
        self._loaded: tuple[str, int] | None = None
        self._info: dict[str, Any] | None = None
        self._steps = 0
        self._last_text = ""

    def variations(self, task: str) -> list[int]:
        """The variation indices of `task` in this env's split."""
        if task not in self._variations:
            self._sw.load(task, 0, self.simplifications)
            getter = {"train": self._sw.get_variations_train, "dev": self._sw.get_variations_dev,
                      "test": self._sw.get_variations_test}[self.split]
            self._variations[task] = list(getter())
            self._loaded = None
        return self._variations[task]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        options = options or {}
        task = options.get("task") or self.tasks[int(self.np_random.integers(len(self.tasks)))]
        if task not in self.task_names:
            raise ValueError(f"unknown ScienceWorld task {task!r}")
        if "variation" in options:
            variation = int(options["variation"])
        else:
            pool = self.variations(task)
            variation = pool[int(self.np_random.integers(len(pool)))]
        if self._loaded != (task, variation):
            self._sw.load(task, variation, self.simplifications)
            self._loaded = (task, variation)
        obs, info = self._sw.reset()
        self._steps = 0
        self._last_text = to_charset(tidy(obs))
        self._info = self._make_info(info)
        return self._last_text, dict(self._info)

    def step(self, action: str | int | np.integer):
        if self._info is None:
            raise RuntimeError("call reset() before step()")
        obs, reward, completed, info = self._sw.step(self._command(action))
        self._steps += 1
        self._last_text = to_charset(tidy(obs))
        self._info = self._make_info(info)
        terminated = bool(completed or self._info["won"] or self._info["lost"])
        truncated = not terminated and self._steps >= self.max_steps
        return self._last_text, float(reward) / 100.0, terminated, truncated, dict(self._info)

    def gold_actions(self) -> list[str]:
        """A winning action sequence of the loaded task variation (ScienceWorld's gold path), from its start.

        Reloads the variation with the gold path generated: call it between episodes.
        """
        if self._loaded is None:
            raise RuntimeError("call reset() first: the gold path belongs to the episode's task variation")
        self._sw.load(*self._loaded, self.simplifications, generateGoldPath=True)
        return list(self._sw.get_gold_action_sequence())

    def render(self) -> str | None:
        return self._last_text if self.render_mode == "ansi" else None

    def close(self) -> None:
        if getattr(self, "_sw", None) is not None:
            self._sw.close()
            self._sw = None

    def _command(self, action: str | int | np.integer) -> str:
        return resolve_command(action, self._info["admissible_commands"])

    def _make_info(self, info: dict[str, Any]) -> dict[str, Any]:
        score = int(info["score"])
        task, variation = self._loaded
        return {
            "goal": to_charset(tidy(info.get("taskDesc", "").removeprefix("Task Description:"))),
            "admissible_commands": sorted(set(info.get("valid", []))),
            "description": to_charset(tidy(info.get("look", ""))),
            "inventory": to_charset(tidy(info.get("inv", ""))),
            "score": score,
            "won": score >= 100,
            "lost": score < 0,
            "moves": int(info.get("moves", 0)),
            "task": task,
            "variation": variation,
        }
