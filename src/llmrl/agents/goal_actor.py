"""Epsilon-greedy acting on ELLM's goal-conditioned Q(s, g, .), for training and evaluation alike.

`GoalConditionedActor` turns the text states, goal tuples (and frames) of N envs into the
network's observation (row ids of `TextEmbeddingTable`, so replay stores ids) and picks
actions: each env acts at random with probability epsilon, else greedily; the network runs
only on the greedy envs. Its `rng` (numpy) draws the exploration; a trainer may share it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from llmrl.agents.goal_dqn import GOAL_KEY, IMAGE_KEY, STATE_KEY, GoalConditionedQNet, TextEmbeddingTable, goal_text


class GoalConditionedActor:
    """Acts for N envs with `net` on (state text, goals[, frame]) observations (module doc)."""

    def __init__(self, net: GoalConditionedQNet, table: TextEmbeddingTable, rng: np.random.Generator, *,
                 image: bool, device: torch.device) -> None:
        self.net, self.table, self.rng, self.image, self.device = net, table, rng, image, device

    def observation(self, texts: Sequence[str], goals: Sequence[tuple[str, ...]],
                    images: Sequence[np.ndarray | None]) -> dict[str, np.ndarray]:
        """Arrays [N, ...]: table row ids of the text states and goal sentences (and the frames)."""
        obs = {STATE_KEY: self.table.ids(texts), GOAL_KEY: self.table.ids([goal_text(g) for g in goals])}
        if self.image:
            obs[IMAGE_KEY] = np.stack(images)
        return obs

    def act(self, obs: Mapping[str, np.ndarray], epsilon: float) -> np.ndarray:
        """Epsilon-greedy actions [N]; the network runs only on the envs that act greedily."""
        n = len(obs[STATE_KEY])
        greedy = self.rng.random(n) >= epsilon
        actions = self.rng.integers(self.net.num_actions, size=n)
        if greedy.any():
            with torch.no_grad():
                batch = {k: torch.from_numpy(v[greedy]).to(self.device) for k, v in obs.items()}
                actions[greedy] = self.net.q_values(batch).argmax(-1).cpu().numpy()
        return actions
