"""Symbolic PPO's policy: a FiLM-conditioned CNN on minigrid's 7x7x3 grid encoding + the mission.

As BabyAI's baseline agent (Chevalier-Boisvert et al. 2019), at a small scale:

    x      = sum_c Embedding(image[:, :, c] + offset_c)            # "bag of words" cell embedding
    g      = GRU(mission words)                                     # mission code
    x      = ReLU(FiLM_k(Conv3x3_k(x), g))  for k = 1, 2            # FiLM: (1 + gamma_k(g)) * x + beta_k(g)
    z      = flatten(x)   (no global pooling: where an object lies in the egocentric view matters)
    pi(.|s) = softmax(actor(z)),   V(s) = critic(z)

The PPO methods (act, evaluate, value) come from `llmrl.agents.actor_critic.ActorCriticPolicy`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from llmrl.agents.actor_critic import ActorCriticPolicy
from llmrl.agents.drrn import GRUTextEncoder, WordTokenizer

NUM_ACTIONS = 6  # turn left, turn right, go forward, pick up, drop, toggle (minigrid's `done` is never used)
CELL_VALUES = 16  # per channel: object index < 11, color < 6, state < 3 in minigrid's encoding


class FiLM(nn.Module):
    """Feature-wise linear modulation (Perez et al. 2018): (1 + gamma(g)) * x + beta(g) per channel.

    The scale is parameterized around 1 so that at initialization the layer is close to the
    identity: with gamma(g) itself near 0, two stacked layers would all but erase the grid's
    signal (and its gradient) until the mission encoder had learned to scale it up.
    """

    def __init__(self, condition: int, channels: int) -> None:
        super().__init__()
        self.gamma = nn.Linear(condition, channels)
        self.beta = nn.Linear(condition, channels)

    def forward(self, x: Tensor, g: Tensor) -> Tensor:
        return (1 + self.gamma(g)[:, :, None, None]) * x + self.beta(g)[:, :, None, None]


class SymbolicPolicy(ActorCriticPolicy):
    """Observations are minigrid dicts {"image": uint8 [7, 7, 3], "mission": str, ...} (a bare BabyAI level)."""

    def __init__(self, *, channels: int = 64, mission_hidden: int = 128, num_actions: int = NUM_ACTIONS) -> None:
        super().__init__()
        if min(channels, mission_hidden, num_actions) < 1:
            raise ValueError(f"channels, mission_hidden and num_actions must be >= 1, got "
                             f"{channels}, {mission_hidden}, {num_actions}")
        self.words = WordTokenizer(max_words=32)
        self.mission_encoder = GRUTextEncoder(self.words.vocab_size, mission_hidden, pad_id=self.words.pad_id)
        self.cell_embedding = nn.Embedding(3 * CELL_VALUES, channels)
        self.register_buffer("offsets", torch.arange(3) * CELL_VALUES, persistent=False)
        self.convs = nn.ModuleList(nn.Conv2d(channels, channels, 3, padding=1) for _ in range(2))
        self.films = nn.ModuleList(FiLM(mission_hidden, channels) for _ in range(2))
        self.actor = nn.Sequential(nn.Linear(49 * channels, 64), nn.ReLU(), nn.Linear(64, num_actions))
        self.critic = nn.Sequential(nn.Linear(49 * channels, 64), nn.ReLU(), nn.Linear(64, 1))
        # A near-uniform initial policy (CleanRL's small actor init): PPO starts from pure exploration.
        nn.init.orthogonal_(self.actor[-1].weight, 0.01)
        nn.init.zeros_(self.actor[-1].bias)

    def forward(self, obs: Sequence[dict[str, Any]]) -> tuple[Tensor, Tensor]:
        device = self.offsets.device
        image = torch.as_tensor(np.stack([_image(o) for o in obs]), dtype=torch.long, device=device)
        if image.shape[1:] != (7, 7, 3) or int(image.max()) >= CELL_VALUES:
            raise ValueError(f"images must be minigrid encodings [7, 7, 3] with values < {CELL_VALUES}, "
                             f"got shape {tuple(image.shape[1:])}")
        mission = torch.from_numpy(self.words([o["mission"] for o in obs])).to(device)
        g = self.mission_encoder(mission)
        x = self.cell_embedding(image + self.offsets).sum(-2).permute(0, 3, 1, 2)  # [B, C, 7, 7]
        for conv, film in zip(self.convs, self.films, strict=True):
            x = torch.relu(film(conv(x), g))
        z = x.flatten(1)
        return self.actor(z), self.critic(z).squeeze(-1)


def _image(obs: Any) -> np.ndarray:
    if not isinstance(obs, dict) or "image" not in obs or "mission" not in obs:
        raise TypeError("symbolic observations must be minigrid dicts with 'image' and 'mission' (use make_level)")
    return np.asarray(obs["image"])
