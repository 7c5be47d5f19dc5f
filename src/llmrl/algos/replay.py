"""N-step replay buffer for vectorized environments with dict observations.

Transitions arrive one vectorized step at a time (``add``). Each environment keeps a
window of its last ``n_step`` steps; a stored transition is

    (s_t, a_t, R_t = sum_{i<k} gamma^i r_{t+i}, s_{t+k}, discount = gamma^k, done)

with k = n_step normally. When an episode ends inside the window, every pending step is
flushed with the shorter k that reaches the episode's end:

- **termination**: ``done = True``: the target adds nothing after R_t, since a terminal
  state has no future;
- **truncation** (time limit): ``done = False`` and ``s_{t+k}`` is the episode's true final
  observation, so the target still bootstraps ``gamma^k * max_a Q(s_{t+k}, a)``: the
  episode was cut, not finished. Pass gymnasium's final observation (from ``info`` on
  auto-reset) as ``next_obs`` for those envs.

Returns never span two episodes nor two environments: windows are per environment and
cleared at every episode end. Both s_t and s_{t+k} are stored, which costs twice the
observation memory but keeps every row self-contained across ring wrap-around and
interleaved environments.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import Tensor

ObsSpec = Mapping[str, tuple[tuple[int, ...], np.dtype | type]]
"""Observation key -> (shape of one observation, numpy dtype)."""


def n_step_return(rewards: np.ndarray, gamma: float) -> float:
    """Discounted sum ``sum_i gamma^i rewards[i]`` of a window of rewards."""
    return float(np.dot(gamma ** np.arange(len(rewards)), rewards))


class NStepReplayBuffer:
    """Ring buffer of n-step transitions from ``num_envs`` environments (see module doc)."""

    def __init__(self, capacity: int, obs_spec: ObsSpec, n_step: int, gamma: float, num_envs: int) -> None:
        if capacity < 1 or n_step < 1 or num_envs < 1:
            raise ValueError(f"capacity, n_step and num_envs must be >= 1, got {capacity}, {n_step}, {num_envs}")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must lie in [0, 1], got {gamma}")
        if not obs_spec:
            raise ValueError("obs_spec is empty: give at least one key -> (shape, dtype)")
        self.capacity, self.n_step, self.gamma, self.num_envs = capacity, n_step, gamma, num_envs
        self.obs_spec = {key: (tuple(shape), np.dtype(dtype)) for key, (shape, dtype) in obs_spec.items()}

        def zeros(*lead: int) -> dict[str, np.ndarray]:
            return {key: np.zeros((*lead, *shape), dtype) for key, (shape, dtype) in self.obs_spec.items()}

        # The ring of finished n-step transitions.
        self._obs, self._next_obs = zeros(capacity), zeros(capacity)
        self._action = np.zeros(capacity, np.int64)
        self._reward = np.zeros(capacity, np.float32)
        self._discount = np.zeros(capacity, np.float32)
        self._done = np.zeros(capacity, np.bool_)
        self._pos = 0
        self._size = 0
        # Per-environment windows of steps still waiting for their n-step return.
        self._pending_obs = zeros(num_envs, n_step)
        self._pending_action = np.zeros((num_envs, n_step), np.int64)
        self._pending_reward = np.zeros((num_envs, n_step), np.float32)
        self._pending_len = np.zeros(num_envs, np.int64)

    def __len__(self) -> int:
        return self._size

    def add(
        self,
        obs: Mapping[str, np.ndarray],
        action: np.ndarray,
        reward: np.ndarray,
        next_obs: Mapping[str, np.ndarray],
        terminated: np.ndarray,
        truncated: np.ndarray,
    ) -> None:
        """Add one vectorized step: every array has a leading ``num_envs`` axis.

        ``next_obs`` is the observation after the step; for envs whose episode just ended it
        must be the episode's final observation, not the auto-reset one.
        """
        self._check_obs("obs", obs)
        self._check_obs("next_obs", next_obs)
        arrays = {"action": np.asarray(action), "reward": np.asarray(reward),
                  "terminated": np.asarray(terminated, np.bool_), "truncated": np.asarray(truncated, np.bool_)}
        for name, array in arrays.items():
            if array.shape != (self.num_envs,):
                raise ValueError(f"{name} must have shape ({self.num_envs},), got {array.shape}")

        for env in range(self.num_envs):
            slot = self._pending_len[env]
            for key in self.obs_spec:
                self._pending_obs[key][env, slot] = obs[key][env]
            self._pending_action[env, slot] = arrays["action"][env]
            self._pending_reward[env, slot] = arrays["reward"][env]
            self._pending_len[env] = length = slot + 1
            terminated, truncated = arrays["terminated"][env], arrays["truncated"][env]
            if terminated or truncated:
                # Episode over: every pending step gets its (shorter) return now.
                for start in range(length):
                    self._store(env, start, next_obs, done=bool(terminated))
                self._pending_len[env] = 0
            elif length == self.n_step:
                # The oldest step's window is full: store it and slide the window by one.
                self._store(env, 0, next_obs, done=False)
                for key in self.obs_spec:
                    self._pending_obs[key][env, :-1] = self._pending_obs[key][env, 1:].copy()
                self._pending_action[env, :-1] = self._pending_action[env, 1:].copy()
                self._pending_reward[env, :-1] = self._pending_reward[env, 1:].copy()
                self._pending_len[env] = self.n_step - 1

    def _store(self, env: int, start: int, next_obs: Mapping[str, np.ndarray], done: bool) -> None:
        """Write pending step ``start`` of ``env``, with return up to the window's end, into the ring."""
        rewards = self._pending_reward[env, start : self._pending_len[env]]
        for key in self.obs_spec:
            self._obs[key][self._pos] = self._pending_obs[key][env, start]
            self._next_obs[key][self._pos] = next_obs[key][env]
        self._action[self._pos] = self._pending_action[env, start]
        self._reward[self._pos] = n_step_return(rewards, self.gamma)
        self._discount[self._pos] = self.gamma ** len(rewards)
        self._done[self._pos] = done
        self._pos = (self._pos + 1) % self.capacity
        self._size = min(self._size + 1, self.capacity)

    def _check_obs(self, name: str, obs: Mapping[str, np.ndarray]) -> None:
        if set(obs) != set(self.obs_spec):
            raise ValueError(f"{name} keys {sorted(obs)} differ from obs_spec keys {sorted(self.obs_spec)}")
        for key, (shape, _) in self.obs_spec.items():
            if np.shape(obs[key]) != (self.num_envs, *shape):
                raise ValueError(f"{name}[{key!r}] must have shape {(self.num_envs, *shape)}, got {np.shape(obs[key])}")

    def sample(self, batch_size: int, rng: np.random.Generator, device: torch.device | str = "cpu") -> dict:
        """Draw ``batch_size`` transitions uniformly, with replacement (so any non-empty buffer can serve).

        Returns ``{"obs": {key: Tensor}, "next_obs": {key: Tensor}, "action": [B] int64,
        "reward": [B] n-step return, "discount": [B] gamma^k, "done": [B] float 0/1}``;
        observations keep their stored dtype (e.g. uint8 images).
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if self._size == 0:
            raise ValueError(
                "cannot sample from an empty replay buffer: add transitions first "
                "(a transition is stored once its n-step window is full or its episode ends)"
            )
        idx = rng.integers(0, self._size, size=batch_size)

        def take(arrays: dict[str, np.ndarray]) -> dict[str, Tensor]:
            return {key: torch.from_numpy(array[idx]).to(device) for key, array in arrays.items()}

        return {
            "obs": take(self._obs),
            "next_obs": take(self._next_obs),
            "action": torch.from_numpy(self._action[idx]).to(device),
            "reward": torch.from_numpy(self._reward[idx]).to(device),
            "discount": torch.from_numpy(self._discount[idx]).to(device),
            "done": torch.from_numpy(self._done[idx].astype(np.float32)).to(device),
        }

    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything needed to resume exactly, as flat numpy arrays (saveable with safetensors.numpy or npz).

        The arrays are views of the live storage, not copies (a full buffer can be gigabytes):
        save them before the next ``add``.
        """
        state = {
            "action": self._action, "reward": self._reward, "discount": self._discount, "done": self._done,
            "pending_action": self._pending_action, "pending_reward": self._pending_reward,
            "pending_len": self._pending_len,
            "pos_size": np.array([self._pos, self._size], np.int64),
            # Stored so that loading into a buffer built with another gamma or n fails loudly.
            "gamma": np.array([self.gamma], np.float64),
        }
        for prefix, arrays in (("obs.", self._obs), ("next_obs.", self._next_obs), ("pending_obs.", self._pending_obs)):
            state.update({prefix + key: array for key, array in arrays.items()})
        return state

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        """Restore a ``state_dict()`` of a buffer built with the same arguments."""
        expected = self.state_dict()
        if set(state) != set(expected):
            raise ValueError(f"replay state keys differ: missing {sorted(set(expected) - set(state))}, "
                             f"unexpected {sorted(set(state) - set(expected))}")
        for key, array in expected.items():
            if np.shape(state[key]) != array.shape or np.asarray(state[key]).dtype != array.dtype:
                raise ValueError(
                    f"replay state {key!r} has shape {np.shape(state[key])} dtype {np.asarray(state[key]).dtype}, "
                    f"this buffer needs {array.shape} {array.dtype} (saved with another capacity, n_step, "
                    "num_envs or obs_spec?)"
                )
        if float(state["gamma"][0]) != self.gamma:
            raise ValueError(
                f"replay state was saved with gamma={float(state['gamma'][0])}, this buffer has gamma={self.gamma}"
            )
        for prefix, arrays in (("obs.", self._obs), ("next_obs.", self._next_obs), ("pending_obs.", self._pending_obs)):
            for key, array in arrays.items():
                array[...] = state[prefix + key]
        for name in ("action", "reward", "discount", "done", "pending_action", "pending_reward", "pending_len"):
            getattr(self, "_" + name)[...] = state[name]
        self._pos, self._size = (int(v) for v in state["pos_size"])
