"""Fixtures of the ELLM tests: a tiny deterministic embedder and a tiny run config."""

import zlib

import numpy as np
import pytest
import torch

from llmrl.algos.dqn import DQNConfig
from llmrl.train.ellm_config import CrafterEnvConfig, EllmConfig


class BagOfWordsEmbedder:
    """Sum of fixed random word vectors, L2-normalized: same words, same vector (cosine 1)."""

    dim = 32

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: list[str]) -> torch.Tensor:
        self.calls += 1
        rows = np.zeros((len(texts), self.dim), np.float32)
        for row, text in zip(rows, texts, strict=True):
            for word in text.lower().replace(".", " ").replace(",", " ").split():
                row += np.random.default_rng(zlib.crc32(word.encode())).standard_normal(self.dim)
        rows /= np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-8)
        return torch.from_numpy(rows)


@pytest.fixture
def embedder() -> BagOfWordsEmbedder:
    return BagOfWordsEmbedder()


def tiny_config(**changes) -> EllmConfig:
    """A run of a few hundred frames with updates from the start and a small network."""
    dqn = DQNConfig(batch_size=8, learning_starts=16, buffer_size=512, target_update_every=64,
                    epsilon_decay_steps=200, train_every=2)
    base = dict(total_frames=160, hidden=32, log_every=40, checkpoint_every=80, metrics_window=5,
                env=CrafterEnvConfig(num_envs=2, length=50), dqn=dqn, intrinsic="none")
    base.update(changes)
    return EllmConfig(**base)


@pytest.fixture
def tiny_cfg():
    return tiny_config
