"""Random Network Distillation (Burda et al., 2019) on frozen sentence embeddings of the state text.

A fixed random network f and a trained predictor f_hat read the embedding x = E(s_{t+1});
the prediction error is large on states unlike those trained on:

    e_t = ||f_hat(x) - f(x)||^2,    r_t = e_t / sigma_R

As in Burda et al., sigma_R is the running standard deviation of the intrinsic *return*
R_t = gamma * R_{t-1} + e_t (per env, not reset at episode ends): dividing by the spread of
the errors themselves would put most rewards far above the [-1, 1] that rewards are paid
within (`RewardBase`), while the return's spread keeps them on a comparable, unsaturated
scale as the predictor improves. `update()` fits f_hat to f on recent states.
"""

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from llmrl.intrinsic.base import Embedder, Transition
from llmrl.intrinsic.common import EmbeddingRing, RewardBase, check_embedder, embed_texts


def _mlp(sizes: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class RunningStd:
    """Running variance of a scalar stream (parallel Welford update over batches)."""

    def __init__(self):
        self.count, self.mean, self.m2 = 0, 0.0, 0.0

    def update(self, values: np.ndarray) -> None:
        n = len(values)
        if n == 0:
            return
        mean, m2 = float(values.mean()), float(((values - values.mean()) ** 2).sum())
        delta, total = mean - self.mean, self.count + n
        self.mean += delta * n / total
        self.m2 += m2 + delta**2 * self.count * n / total
        self.count = total

    @property
    def std(self) -> float:
        return float(np.sqrt(self.m2 / self.count)) if self.count > 1 else 1.0


class RndReward(RewardBase):
    """RND over `num_envs` envs: states are `Transition.next_state_text` embedded by `embedder`.

    Recent embeddings (up to `buffer_size`) are kept to train on; each `update()` takes
    `batch_size` of them at random for one Adam step with learning rate `lr`.
    """

    name = "rnd"

    def __init__(
        self,
        num_envs: int,
        *,
        embedder: Embedder,
        dim: int,
        hidden: int = 256,
        out: int = 128,
        lr: float = 1e-4,
        gamma: float = 0.99,
        batch_size: int = 256,
        buffer_size: int = 10_000,
        seed: int = 0,
        device: str | torch.device = "cpu",
    ):
        super().__init__(num_envs)
        check_embedder(embedder)
        if min(dim, hidden, out, batch_size, buffer_size) < 1 or lr <= 0:
            raise ValueError("dim, hidden, out, batch_size and buffer_size must be positive and lr > 0")
        if not 0.0 <= gamma < 1.0:
            raise ValueError(f"gamma must lie in [0, 1), got {gamma}")
        self.embedder = embedder
        self.device = torch.device(device)
        self.batch_size = batch_size
        with torch.random.fork_rng(devices=[]):  # seeding must not touch the caller's RNG stream
            torch.manual_seed(seed)
            self.target = _mlp([dim, hidden, out]).to(self.device)
            self.predictor = _mlp([dim, hidden, hidden, out]).to(self.device)
        self.target.requires_grad_(False)
        self.optimizer = torch.optim.Adam(self.predictor.parameters(), lr=lr)
        self.gamma = gamma
        self.returns = np.zeros(num_envs)  # R_t of each env (module doc)
        self.return_std = RunningStd()
        self.buffer = EmbeddingRing(buffer_size, dim, self.device)
        self._rng = np.random.default_rng(seed)
        self._last_loss = 0.0

    def prediction_error(self, x: torch.Tensor) -> torch.Tensor:
        """||f_hat(x) - f(x)||^2 (mean over output units) per row of x."""
        return (self.predictor(x) - self.target(x)).pow(2).mean(dim=-1)

    def _rewards(self, transitions: Sequence[Transition]) -> np.ndarray:
        x = embed_texts(self.embedder, [t.next_state_text for t in transitions]).to(self.device)
        with torch.no_grad():
            error = self.prediction_error(x).cpu().numpy()
        envs = [t.env_index for t in transitions]
        self.returns[envs] = self.gamma * self.returns[envs] + error
        self.return_std.update(self.returns[envs])
        self.buffer.add(x)
        return error / max(self.return_std.std, 1e-8)

    def update(self) -> dict[str, float]:
        """One predictor step on `batch_size` stored states; {} before any state is stored."""
        states = self.buffer.contents()
        if len(states) == 0:
            return {}
        index = torch.as_tensor(self._rng.integers(0, len(states), size=min(self.batch_size, len(states))))
        loss = self.prediction_error(states[index.to(self.device)]).mean()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self._last_loss = loss.item()
        return {"rnd/loss": self._last_loss}

    def _extra_stats(self) -> dict[str, float]:
        return {"rnd/loss": self._last_loss, "rnd/return_std": self.return_std.std}

    def state_dict(self) -> dict:
        """Networks, optimizer, return statistics (the training buffer is not kept: it refills)."""
        return super().state_dict() | {
            "target": self.target.state_dict(),
            "predictor": self.predictor.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "return_stats": [self.return_std.count, self.return_std.mean, self.return_std.m2],
            "returns": self.returns.tolist(),
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore `state_dict()`."""
        super().load_state_dict(state)
        self.target.load_state_dict(state["target"])
        self.predictor.load_state_dict(state["predictor"])
        self.optimizer.load_state_dict(state["optimizer"])
        count, mean, m2 = state["return_stats"]
        self.return_std.count, self.return_std.mean, self.return_std.m2 = int(count), float(mean), float(m2)
        self.returns = np.asarray(state["returns"], dtype=np.float64)
