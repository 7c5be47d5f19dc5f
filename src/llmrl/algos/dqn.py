"""Double DQN with n-step returns (van Hasselt et al. 2016; Hessel et al. 2018), model-agnostic.

Networks are reached only through ``q_values(obs: dict[str, Tensor]) -> [B, A]``, so the
ELLM goal-conditioned text net, an image CNN or DRRN-style nets can all use this update.
The dueling architecture lives in the network (``llmrl.agents.heads.DuelingHead``).

Target of an n-step transition (s, a, R^(n), s', discount = gamma^k, done) from the replay:

    a*  = argmax_a Q_online(s', a)                   (select with the online net ...)
    y   = R^(n) + gamma^k * (1 - done) * Q_target(s', a*)   (... evaluate with the target net)
    L   = Huber(Q_online(s, a) - y)

Selecting and evaluating with different nets is what removes max-operator overestimation.

``precision="bf16"`` runs the three forward passes (and so their backward) under bfloat16
autocast: weights, Adam state, the target y and the Huber loss stay float32, only the
matrix multiplies read bf16 operands (accumulated in fp32). On a CPU with AVX512-BF16 this
made the ELLM update 1.3-1.4x faster (docs in ``llmrl.bench.ellm``); on CPUs without bf16
units it is slower, hence fp32 by default.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from llmrl.algos.optim import BeforeStep, check_max_grad_norm, clip_and_step
from llmrl.algos.replay import NStepReplayBuffer

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16}
"""Accepted ``DQNSettings.precision`` values -> the autocast dtype of the update's forward passes."""


class QNetwork(Protocol):
    """What the DQN update needs of a network."""

    def q_values(self, obs: Mapping[str, Tensor]) -> Tensor:
        """Q-values [B, A] of a batch of dict observations."""
        ...


@dataclass
class DQNSettings:
    """The DQN update and its schedule, in environment frames; defaults are ELLM's Crafter settings.

    Exploration belongs to the method: `DQNConfig` adds an epsilon-greedy schedule. Validation
    errors name the concrete class.
    """

    lr: float = 6.25e-5
    batch_size: int = 64
    gamma: float = 0.99
    n_step: int = 3
    train_every: int = 4  # environment frames between gradient updates
    target_update_every: int = 8000  # environment frames between hard target copies
    learning_starts: int = 5000  # frames before the first update
    buffer_size: int = 5_000_000
    huber_delta: float = 1.0
    # Not in the reference: a loose safety clip (SB3's DQN default) against rare spikes.
    max_grad_norm: float | None = 10.0
    # Not in the reference: "bf16" autocasts the update's matmuls (module doc); "fp32" is exact.
    precision: str = "fp32"

    def __post_init__(self) -> None:
        name = type(self).__name__
        positive = ("lr", "batch_size", "n_step", "train_every", "target_update_every", "buffer_size", "huber_delta")
        bad = [f"{field}={getattr(self, field)}" for field in positive if not getattr(self, field) > 0]
        if bad:
            raise ValueError(f"{name} fields must be > 0: {', '.join(bad)}")
        if self.learning_starts < 0:
            raise ValueError(f"{name}.learning_starts must be >= 0, got {self.learning_starts}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"{name}.gamma must lie in [0, 1], got {self.gamma}")
        check_max_grad_norm(self.max_grad_norm)
        if self.precision not in PRECISIONS:
            raise ValueError(f"{name}.precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")

    @property
    def compute_dtype(self) -> torch.dtype | None:
        """The autocast dtype of ``precision`` (None: plain fp32)."""
        return PRECISIONS[self.precision]


@dataclass
class DQNConfig(DQNSettings):
    """DQN with ELLM's epsilon-greedy schedule (reference/ellm.md) unless noted."""

    epsilon_start: float = 1.0
    epsilon_end: float = 0.01
    epsilon_decay_steps: int = 1_000_000  # frames from epsilon_start to epsilon_end

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.epsilon_decay_steps > 0:
            raise ValueError(f"DQNConfig fields must be > 0: epsilon_decay_steps={self.epsilon_decay_steps}")
        for name in ("epsilon_start", "epsilon_end"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"DQNConfig.{name} must lie in [0, 1], got {getattr(self, name)}")


def linear_epsilon(step: int, start: float = 1.0, end: float = 0.01, duration: int = 1_000_000) -> float:
    """Exploration rate decayed linearly from ``start`` to ``end`` over ``duration`` steps, then held."""
    if duration <= 0 or step < 0:
        raise ValueError(f"duration must be > 0 and step >= 0, got duration={duration}, step={step}")
    return start + (end - start) * min(step / duration, 1.0)


def double_dqn_target(
    online_next_q: Tensor, target_next_q: Tensor, n_step_return: Tensor, discount_n: Tensor | float, done: Tensor
) -> Tensor:
    """``y = R^(n) + discount_n * (1 - done) * Q_target(s', argmax_a Q_online(s', a))``, shape [B].

    ``discount_n`` is gamma^k per sample (k < n where the episode ended inside the window)
    or one float; ``done`` is 1 where the episode terminated (not truncated) in the window.
    """
    if online_next_q.shape != target_next_q.shape or online_next_q.dim() != 2:
        raise ValueError(
            "next-state Q-values must both be [B, A], "
            f"got {tuple(online_next_q.shape)} and {tuple(target_next_q.shape)}"
        )
    batch = online_next_q.shape[:1]
    if n_step_return.shape != batch or done.shape != batch:
        raise ValueError(
            f"n_step_return and done must be [B] = {tuple(batch)}, "
            f"got {tuple(n_step_return.shape)} and {tuple(done.shape)}"
        )
    best = online_next_q.argmax(dim=-1, keepdim=True)
    next_value = target_next_q.gather(-1, best).squeeze(-1)
    return n_step_return + discount_n * (1.0 - done.float()) * next_value


def copy_params(target: nn.Module, online: nn.Module) -> None:
    """Hard target update: the target network becomes an exact copy of the online one (buffers included)."""
    target.load_state_dict(online.state_dict())


def dqn_loss(
    online: QNetwork,
    target: QNetwork,
    batch: Mapping,
    huber_delta: float = 1.0,
    compute_dtype: torch.dtype | None = None,
) -> tuple[Tensor, dict[str, float]]:
    """Huber TD loss of a replay batch (``NStepReplayBuffer.sample`` layout) and its statistics.

    ``compute_dtype`` (e.g. ``torch.bfloat16``): autocast dtype of the forward passes; None: fp32.
    """
    device_type = batch["action"].device.type
    autocast = torch.autocast(device_type, dtype=compute_dtype) if compute_dtype is not None else nullcontext()
    with autocast:
        q = online.q_values(batch["obs"])
        with torch.no_grad():  # the target is a fixed regression label
            next_online, next_target = online.q_values(batch["next_obs"]), target.q_values(batch["next_obs"])
    q_taken = q.float().gather(-1, batch["action"].long().unsqueeze(-1)).squeeze(-1)
    y = double_dqn_target(next_online.float(), next_target.float(), batch["reward"], batch["discount"], batch["done"])
    loss = F.huber_loss(q_taken, y, delta=huber_delta)
    q_taken = q_taken.detach()
    stats = {"loss": loss.item(), "q_mean": q_taken.mean().item(), "td_abs": (q_taken - y).abs().mean().item()}
    return loss, stats


def dqn_update(
    online: nn.Module,
    target: QNetwork,
    replay: NStepReplayBuffer,
    optimizer: torch.optim.Optimizer,
    rng: np.random.Generator,
    *,
    batch_size: int,
    max_grad_norm: float | None,
    huber_delta: float = 1.0,
    device: torch.device | str = "cpu",
    before_step: BeforeStep | None = None,
    compute_dtype: torch.dtype | None = None,
) -> dict[str, float]:
    """One gradient step: sample, double-DQN target, Huber loss, clip, ``optimizer.step()``.

    ``online`` must be an ``nn.Module`` with ``q_values``; its parameters are the ones clipped.
    ``before_step(grad_norm)`` may veto the step by returning False (NaN guard), as in PPO.
    ``compute_dtype``: autocast dtype of the forward passes (``DQNSettings.compute_dtype``).
    Returns ``loss``, ``q_mean``, ``td_abs`` (mean |TD error|), ``grad_norm`` and ``skipped``.
    """
    check_max_grad_norm(max_grad_norm)
    batch = replay.sample(batch_size, rng, device)
    loss, stats = dqn_loss(online, target, batch, huber_delta, compute_dtype)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    params = [p for p in online.parameters() if p.requires_grad]
    grad_norm, stepped = clip_and_step(params, optimizer, max_grad_norm, before_step)
    return {**stats, "grad_norm": grad_norm, "skipped": float(not stepped)}
