"""Goal-conditioned play in Text Crafter: what ELLM training and evaluation share.

`GoalPlay.step(epsilon)` steps N envs together: goals for each state come from the intrinsic
reward (or the fine-tuning task), a `GoalConditionedActor` picks the actions, each env's
transition caption goes back to the intrinsic reward, which pays one reward per env and
remembers the episode's achieved goals. Env i plays its k-th episode from crafter seed
`episode_seed(seed, i, k)`, and every action is recorded, so `load_state` rebuilds a
mid-episode env by replaying its actions (Crafter is deterministic given seed and actions).

`play_episodes` plays until a number of episodes have finished (no learning): the evaluation
of an ELLM agent. `episode_metrics` and `success_by_achievement` summarize finished episodes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from llmrl.agents.goal_actor import GoalConditionedActor
from llmrl.envs.crafter_text import CrafterTextEnv
from llmrl.envs.crafter_text.metrics import (
    ACHIEVEMENTS,
    achievements_per_episode,
    crafter_score,
    episode_achievements,
    success_rates,
)
from llmrl.intrinsic.base import IntrinsicReward, Transition, context_from_info


def episode_seed(seed: int, env_index: int, episode: int) -> int:
    """The crafter seed of an env's episode: distinct per run seed, env and episode."""
    return (seed * 1009 + env_index) * 1_000_003 + episode


@dataclass
class PlayedStep:
    """One step of every env: what a learner stores and the episodes the step ended."""

    obs: dict[str, np.ndarray]  # the observation the actions were chosen on
    actions: np.ndarray
    extrinsic: np.ndarray  # Crafter's reward
    intrinsic: np.ndarray  # the intrinsic reward's
    captions: list[str | None]  # transition captions
    terminated: np.ndarray
    truncated: np.ndarray
    final_texts: list[str]  # the state each action led to (an ended episode's last state)
    final_images: list[np.ndarray | None]
    prev_goals: list[tuple[str, ...]]  # the goals the actions were chosen under
    finished: list[dict[str, Any]]  # records of the episodes that ended, in env order


class GoalPlay:
    """N Text Crafter envs played together by a goal-conditioned actor (module doc)."""

    def __init__(self, envs: Sequence[CrafterTextEnv], actor: GoalConditionedActor, intrinsic: IntrinsicReward, *,
                 seed: int, task_goal: str | None = None) -> None:
        n = len(envs)
        if intrinsic.num_envs != n:
            raise ValueError(f"intrinsic reward built for {intrinsic.num_envs} envs, given {n} envs")
        self.envs, self.actor, self.intrinsic, self.seed, self.task_goal = list(envs), actor, intrinsic, seed, task_goal
        self.episode_index = [0] * n  # how many episodes each env has started
        self.episode_actions: list[list[int]] = [[] for _ in range(n)]
        self.episode_returns = np.zeros((n, 2))  # (extrinsic, intrinsic) so far in each env's episode
        self.goals: list[tuple[str, ...]] = [()] * n
        self.infos: list[dict[str, Any]] = [{}] * n
        self.texts: list[str] = [""] * n
        self.images: list[np.ndarray | None] = [None] * n
        for i in range(n):
            self._start_episode(i)
        self._set_goals(range(n))

    @property
    def num_envs(self) -> int:
        return len(self.envs)

    def step(self, epsilon: float) -> PlayedStep:
        """Step every env once with epsilon-greedy actions; start new episodes where one ended."""
        n = self.num_envs
        obs = self.actor.observation(self.texts, self.goals, self.images)
        actions = self.actor.act(obs, epsilon)
        prev_goals = list(self.goals)
        ext = np.zeros(n, np.float32)
        terminated, truncated = np.zeros(n, bool), np.zeros(n, bool)
        captions, final_texts, final_images, transitions = [], [], [], []
        for i, env in enumerate(self.envs):
            next_obs, ext[i], terminated[i], truncated[i], info = env.step(int(actions[i]))
            self.episode_actions[i].append(int(actions[i]))
            captions.append(info["transition_caption"])
            done = bool(terminated[i] or truncated[i])
            transitions.append(Transition(i, captions[i], prev_goals[i], next_obs["text"], done))
            final_texts.append(next_obs["text"])
            final_images.append(next_obs.get("image"))
            self._observe(i, next_obs, info)
        intrinsic = np.asarray(self.intrinsic.rewards(transitions), np.float32)
        self.episode_returns[:, 0] += ext
        self.episode_returns[:, 1] += intrinsic
        finished = []
        for i in np.flatnonzero(terminated | truncated):
            finished.append(self._finish_episode(int(i)))
            self._start_episode(int(i))
        self._set_goals(range(n))
        return PlayedStep(obs, actions, ext, intrinsic, captions, terminated, truncated, final_texts, final_images,
                          prev_goals, finished)

    def _start_episode(self, i: int) -> None:
        obs, info = self.envs[i].reset(seed=episode_seed(self.seed, i, self.episode_index[i]))
        self.episode_index[i] += 1
        self.episode_actions[i] = []
        self.episode_returns[i] = 0.0
        self.intrinsic.reset(i)
        self._observe(i, obs, info)

    def _finish_episode(self, i: int) -> dict[str, Any]:
        return {"achievements": sorted(episode_achievements(self.infos[i]["achievements"])),
                "length": len(self.episode_actions[i]), "return": float(self.episode_returns[i, 0]),
                "intrinsic_return": float(self.episode_returns[i, 1])}

    def _observe(self, i: int, obs: Mapping[str, Any], info: dict[str, Any]) -> None:
        self.texts[i], self.infos[i] = obs["text"], info
        if self.actor.image:
            self.images[i] = obs["image"]

    def _set_goals(self, envs: Iterable[int]) -> None:
        """Goals to condition on for the current state of `envs` (the task's, when fine-tuning)."""
        envs = list(envs)
        if self.task_goal is not None and not self.intrinsic.uses_goals:
            for i in envs:
                self.goals[i] = (self.task_goal,)
            return
        if not self.intrinsic.uses_goals:
            return
        # The intrinsic reward takes one context per env, in env order.
        suggested = self.intrinsic.goals([context_from_info(info) for info in self.infos])
        for i in envs:
            self.goals[i] = tuple(suggested[i])

    def state(self) -> dict[str, Any]:
        """The JSON-able part of what `load_state` needs (episode_returns is an array: see there)."""
        return {"episode_index": self.episode_index, "episode_actions": self.episode_actions,
                "goals": [list(g) for g in self.goals]}

    def load_state(self, state: Mapping[str, Any], episode_returns: np.ndarray) -> None:
        """Restore `state()` and the returns so far: every env replayed to its saved mid-episode state."""
        self.episode_returns[...] = episode_returns
        for i, env in enumerate(self.envs):
            self.episode_index[i] = int(state["episode_index"][i])
            obs, info = env.reset(seed=episode_seed(self.seed, i, self.episode_index[i] - 1))
            actions = [int(a) for a in state["episode_actions"][i]]
            for action in actions:
                obs, _, _, _, info = env.step(action)
            self.episode_actions[i] = actions
            self._observe(i, obs, info)
        self.goals = [tuple(g) for g in state["goals"]]


def play_episodes(play: GoalPlay, episodes: int, epsilon: float) -> list[dict[str, Any]]:
    """Step `play` until `episodes` episodes have ended; their records, in the order they ended."""
    if not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be a positive int, got {episodes!r}")
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"epsilon must lie in [0, 1], got {epsilon}")
    played: list[dict[str, Any]] = []
    while len(played) < episodes:
        played.extend(play.step(epsilon).finished)
    return played[:episodes]


def episode_metrics(episodes: list[dict[str, Any]]) -> dict[str, float]:
    """achievements_per_episode, crafter_score, mean returns and length of finished episodes."""
    unlocked = [e["achievements"] for e in episodes]
    return {
        "achievements_per_episode": achievements_per_episode(unlocked),
        "crafter_score": crafter_score(success_rates(unlocked)),
        "episode_return": float(np.mean([e["return"] for e in episodes])),
        "episode_intrinsic_return": float(np.mean([e["intrinsic_return"] for e in episodes])),
        "episode_length": float(np.mean([e["length"] for e in episodes])),
    }


def success_by_achievement(episodes: list[dict[str, Any]]) -> dict[str, float]:
    """Percent of episodes unlocking each of the 22 achievements."""
    rates = success_rates([e["achievements"] for e in episodes])
    return {name: rates[name] for name in ACHIEVEMENTS}
