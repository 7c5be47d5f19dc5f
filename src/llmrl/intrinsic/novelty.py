"""Novelty baseline: each transition caption pays 1 the first time it happens in an episode."""

from collections.abc import Sequence

import numpy as np

from llmrl.envs.crafter_text import canonical_goal
from llmrl.intrinsic.base import Transition
from llmrl.intrinsic.common import RewardBase


class NoveltyReward(RewardBase):
    """r_t = 1 if caption c_t is not None and not yet seen in this episode of its env, else 0."""

    name = "novelty"

    def _rewards(self, transitions: Sequence[Transition]) -> np.ndarray:
        out = np.zeros(len(transitions), dtype=np.float32)
        for k, t in enumerate(transitions):
            if t.caption is None:
                continue
            # The base class records this caption after the step, so it pays only once.
            if canonical_goal(t.caption) not in self.episode_captions(t.env_index):
                out[k] = 1.0
        return out


class NoReward(RewardBase):
    """The "none" baseline: intrinsic reward 0 (the agent learns from Crafter's reward only)."""

    name = "none"

    def _rewards(self, transitions: Sequence[Transition]) -> np.ndarray:
        return np.zeros(len(transitions), dtype=np.float32)
