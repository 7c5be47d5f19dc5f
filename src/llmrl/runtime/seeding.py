"""Seeds: the global RNGs a run seeds once, and the seeds derived from (run seed, index).

A run seeds python's `random`, numpy's and torch's global generators once from its seed
(`seed_everything`); everything drawn per episode or per update comes from a seed derived
from (run seed, index), so a resumed run draws exactly what the uninterrupted run drew
without carrying generator states along.
"""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed python's `random`, numpy's global and torch's (CPU and CUDA) generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def episode_seed(seed: int, env_index: int, episode: int) -> int:
    """Seed of episode `episode` of env `env_index`: independent streams from one run seed."""
    return derive_seed(seed, 0, env_index, episode)


def update_generator(seed: int, update: int, stream: int) -> torch.Generator:
    """A CPU generator owned by one update (stream 0: action sampling, 1: minibatch order).

    Deriving it from (seed, update) instead of carrying one generator along means a resumed
    run needs no generator state to draw exactly what the uninterrupted run drew.
    """
    return torch.Generator().manual_seed(derive_seed(seed, 1, stream, update))


def derive_seed(*entropy: int) -> int:
    """A 32-bit seed mixed from non-negative ints (numpy's SeedSequence: no correlated streams)."""
    return int(np.random.SeedSequence(list(entropy)).generate_state(1, dtype=np.uint32)[0])
