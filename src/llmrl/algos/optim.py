"""The end of every gradient step, shared by PPO and DQN: clip, let a guard veto, step."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

BeforeStep = Callable[[float], bool | None]
"""``before_step(grad_norm)``: runs after clipping, before ``optimizer.step()``; returning False skips the step."""


def check_max_grad_norm(max_grad_norm: float | None) -> None:
    """Reject a clipping threshold that is neither None (no clipping) nor > 0."""
    if max_grad_norm is not None and not max_grad_norm > 0:
        raise ValueError(f"max_grad_norm must be > 0, or None for no clipping, got {max_grad_norm}")


def clip_and_step(
    params: Sequence[Tensor],
    optimizer: torch.optim.Optimizer,
    max_grad_norm: float | None,
    before_step: BeforeStep | None,
) -> tuple[float, bool]:
    """Clip the gradients of ``params`` to ``max_grad_norm`` and step; return (pre-clip norm, stepped).

    The norm is computed even without clipping (max_grad_norm None) because it feeds the
    logs and the guard: a NaN guard is ``lambda norm: math.isfinite(norm)``, which keeps a
    single bad batch from writing NaN into the weights.
    """
    total_norm = torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None])
    grad_norm = float(total_norm)
    # clip_grad_norm_ would scale by min(1, max / (norm + 1e-6)) every time; skipping the
    # no-op scale by 1 saves a pass over every gradient in most steps.
    if max_grad_norm is not None and grad_norm + 1e-6 > max_grad_norm:
        torch.nn.utils.clip_grads_with_norm_(params, max_grad_norm, total_norm)
    if before_step is not None and before_step(grad_norm) is False:
        return grad_norm, False
    optimizer.step()
    return grad_norm, True
