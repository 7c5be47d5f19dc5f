"""What every intrinsic reward shares: per-env bookkeeping, input checks, reward statistics."""

from collections.abc import Sequence

import numpy as np
import torch

from llmrl.envs.crafter_text import canonical_goal
from llmrl.intrinsic.base import Embedder, GoalContext, Transition


def embed_texts(embedder: Embedder, texts: list[str]) -> torch.Tensor:
    """[len(texts), dim] float32 unit vectors (re-normalised: cosines must not trust the encoder)."""
    vectors = torch.as_tensor(embedder.embed(texts), dtype=torch.float32)
    return torch.nn.functional.normalize(vectors, dim=-1)


def check_embedder(embedder: Embedder) -> None:
    """Reject what cannot embed texts, with the accepted kind in the message."""
    if not callable(getattr(embedder, "embed", None)):
        raise TypeError(f"embedder must have embed(texts) (llmrl.lm.load_embedder), got {type(embedder).__name__}")


class RewardBase:
    """Base of the intrinsic rewards: input checks, each env's episode captions, stats.

    Rewards are paid clipped to [-1, 1] (the reference clips every reward to that range), and
    the statistics count what is paid, not the raw values.

    It remembers, per env, the canonical transition captions of the current episode
    (`episode_captions(i)`: what ELLM filters as achieved, what novelty has seen);
    they are recorded after `_rewards` ran and cleared on `done` and `reset`.
    Subclasses implement `_rewards(transitions) -> np.ndarray` and may override
    `goals`, `update`, `state_dict`/`load_state_dict` and `_extra_stats`.
    """

    name = "base"
    uses_goals = False

    def __init__(self, num_envs: int):
        if not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive int, got {num_envs!r}")
        self.num_envs = num_envs
        self._steps = 0
        self._rewarded = 0
        self._total = 0.0
        self._captions: list[set[str]] = [set() for _ in range(num_envs)]

    def reset(self, env_index: int) -> None:
        """Env `env_index` starts a new episode: forget its captions."""
        self._check_index(env_index)
        self._captions[env_index].clear()

    def episode_captions(self, env_index: int) -> frozenset[str]:
        """Canonical transition captions of env `env_index`'s current episode."""
        return frozenset(self._captions[env_index])

    def goals(self, contexts: Sequence[GoalContext]) -> list[list[str]]:
        """No goal conditioning: [] for every env."""
        self._check_contexts(contexts)
        return [[] for _ in contexts]

    def rewards(self, transitions: Sequence[Transition]) -> np.ndarray:
        """float32 reward per transition; episodes that ended are reset afterwards."""
        for t in transitions:
            if not isinstance(t, Transition):
                raise TypeError(f"rewards() takes Transition objects, got {type(t).__name__}")
            self._check_index(t.env_index)
        out = np.clip(np.asarray(self._rewards(transitions), dtype=np.float32), -1.0, 1.0)
        self._steps += len(out)
        self._rewarded += int(np.count_nonzero(out))
        self._total += float(out.sum())
        for t in transitions:
            if t.caption is not None:
                self._captions[t.env_index].add(canonical_goal(t.caption))
            if t.done:
                self.reset(t.env_index)
        return out

    def _rewards(self, transitions: Sequence[Transition]) -> np.ndarray:
        raise NotImplementedError

    def update(self) -> dict[str, float]:
        """Nothing to learn: {}."""
        return {}

    def stats(self) -> dict[str, float]:
        """Mean intrinsic reward and share of rewarded steps since the start, plus subclass stats."""
        base = {
            "reward_mean": self._total / self._steps if self._steps else 0.0,
            "rewarded_share": self._rewarded / self._steps if self._steps else 0.0,
        }
        return base | self._extra_stats()

    def _extra_stats(self) -> dict[str, float]:
        return {}

    def state_dict(self) -> dict:
        """Running statistics and episode captions (subclasses add their own state)."""
        captions = [sorted(c) for c in self._captions]
        return {"steps": self._steps, "rewarded": self._rewarded, "total": self._total, "captions": captions}

    def load_state_dict(self, state: dict) -> None:
        """Restore `state_dict()`."""
        if len(state["captions"]) != self.num_envs:
            raise ValueError(f"state has {len(state['captions'])} envs, this reward has {self.num_envs}")
        self._steps, self._rewarded, self._total = int(state["steps"]), int(state["rewarded"]), float(state["total"])
        self._captions = [set(c) for c in state["captions"]]

    def _check_index(self, env_index: int) -> None:
        if not isinstance(env_index, (int, np.integer)) or not 0 <= env_index < self.num_envs:
            raise ValueError(f"env_index must be an int in [0, {self.num_envs}), got {env_index!r}")

    def _check_contexts(self, contexts: Sequence[GoalContext]) -> None:
        if len(contexts) != self.num_envs:
            raise ValueError(f"goals() needs one GoalContext per env ({self.num_envs}), got {len(contexts)}")


class EmbeddingRing:
    """The last `capacity` embeddings seen, in a fixed tensor (oldest overwritten first)."""

    def __init__(self, capacity: int, dim: int, device: str | torch.device = "cpu"):
        if capacity < 1 or dim < 1:
            raise ValueError(f"capacity and dim must be positive, got {capacity} and {dim}")
        self.data = torch.zeros(capacity, dim, device=device)
        self.stored = 0  # rows ever added

    def __len__(self) -> int:
        return min(self.stored, len(self.data))

    def add(self, rows: torch.Tensor) -> None:
        """Append rows [n, dim]."""
        for row in rows:
            self.data[self.stored % len(self.data)] = row
            self.stored += 1

    def contents(self) -> torch.Tensor:
        """The rows held now [len(self), dim] (order is irrelevant to its users)."""
        return self.data[: len(self)]

    def state_dict(self) -> dict:
        """The rows and the count of rows ever added."""
        return {"data": self.data.clone(), "stored": self.stored}

    def load_state_dict(self, state: dict) -> None:
        """Restore `state_dict()` (same capacity and dim)."""
        if state["data"].shape != self.data.shape:
            raise ValueError(
                f"stored embeddings of shape {tuple(state['data'].shape)} do not fit {tuple(self.data.shape)}"
            )
        self.data = state["data"].clone().to(self.data.device)
        self.stored = int(state["stored"])
