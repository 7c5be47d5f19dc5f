"""Stock `crafter.Env`, rendering included, behind the gymnasium API (the benchmarks' baseline)."""

from typing import Any

import crafter
import gymnasium as gym
import numpy as np
from gymnasium import spaces


class StockCrafter(gym.Env):
    """`crafter.Env` as is (64x64 image every step) with gymnasium's reset/step signatures."""

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        if seed is not None and (not isinstance(seed, int) or seed < 0):
            raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")
        self._env = crafter.Env(seed=seed, **kwargs)
        self.observation_space = spaces.Box(0, 255, tuple(self._env._size) + (3,), np.uint8)
        self.action_space = spaces.Discrete(len(crafter.constants.actions))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """Next crafter episode; with `seed`, the first episode of that seed."""
        super().reset(seed=seed)
        if seed is not None:
            self._env._seed, self._env._episode = seed, 0
        return self._env.reset(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        """crafter's step; `terminated` on death, `truncated` at the length limit."""
        obs, reward, done, info = self._env.step(int(action))
        dead = info["discount"] == 0
        return obs, float(reward), bool(dead), bool(done and not dead), info
