"""Vectorized envs for exact resumes: lock-step stepping, same-step auto-reset, per-episode seeds."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from llmrl.runtime.seeding import episode_seed


class SeededVecEnv:
    """`num_envs` envs stepped in lock-step with same-step auto-reset and per-episode seeds.

    Episode e of env i starts from `episode_seed(seed, first_index + i, e)`: the episodes
    do not depend on when they start, and rank-sharded envs (`first_index = rank * num_envs`)
    never repeat each other. `state()` is JSON (episode counters and the actions of the
    running episodes); `restore(state)` replays those actions, so envs whose dynamics are
    deterministic given the reset seed (BabyAI) resume exactly where they stopped.
    """

    def __init__(self, make_env: Callable[[int], gym.Env], num_envs: int, seed: int, *, first_index: int = 0) -> None:
        if not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive int, got {num_envs!r}")
        self.seed = seed
        self.indices = [first_index + i for i in range(num_envs)]
        self.envs = [make_env(index) for index in self.indices]
        self.episodes = [0] * num_envs
        self.actions: list[list[int]] = [[] for _ in range(num_envs)]
        self.returns = [0.0] * num_envs  # undiscounted, unscaled return of each running episode
        self.obs: list[Any] = [self._reset(i) for i in range(num_envs)]

    @property
    def num_envs(self) -> int:
        return len(self.envs)

    def _reset(self, i: int) -> Any:
        self.actions[i] = []
        self.returns[i] = 0.0
        obs, _ = self.envs[i].reset(seed=episode_seed(self.seed, self.indices[i], self.episodes[i]))
        return obs

    def step(self, actions: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict], list[Any]]:
        """Step every env; return (rewards, terminated, truncated, infos, final_obs).

        `final_obs[i]` is the last observation of an episode that just ended (None otherwise);
        `self.obs[i]` is then already the first observation of the next episode, and
        `infos[i]["episode"]` holds the ended episode's "return" and "length".
        """
        n = self.num_envs
        rewards, terminated, truncated = np.zeros(n), np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        infos: list[dict] = []
        final_obs: list[Any] = [None] * n
        for i, (env, action) in enumerate(zip(self.envs, actions, strict=True)):
            obs, rewards[i], terminated[i], truncated[i], info = env.step(int(action))
            self.actions[i].append(int(action))
            self.returns[i] += float(rewards[i])
            infos.append(info)
            if terminated[i] or truncated[i]:
                info["episode"] = {"return": self.returns[i], "length": len(self.actions[i])}
                final_obs[i] = obs
                self.episodes[i] += 1
                obs = self._reset(i)
            self.obs[i] = obs
        return rewards, terminated, truncated, infos, final_obs

    def state(self) -> dict[str, Any]:
        """JSON-ready state: episode counters and the actions taken in the running episodes."""
        return {"seed": self.seed, "indices": self.indices, "episodes": list(self.episodes),
                "actions": [list(a) for a in self.actions]}

    def restore(self, state: dict[str, Any]) -> None:
        """Return to `state` by resetting each env to its episode's seed and replaying its actions."""
        if state["indices"] != self.indices or state["seed"] != self.seed:
            raise ValueError(
                f"env state is for seed {state['seed']} and envs {state['indices']}, "
                f"not seed {self.seed} and envs {self.indices}; resume with the run's own config"
            )
        self.episodes = list(state["episodes"])
        for i, actions in enumerate(state["actions"]):
            self.obs[i] = self._reset(i)
            for action in actions:
                self.obs[i], reward, *_ = self.envs[i].step(action)
                self.actions[i].append(action)
                self.returns[i] += float(reward)

    def close(self) -> None:
        for env in self.envs:
            env.close()
