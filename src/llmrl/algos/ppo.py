"""Proximal Policy Optimization (Schulman et al. 2017): loss terms and a model-agnostic update loop.

The loop never sees the model. It draws minibatch *indices* and calls
``evaluate(indices) -> (new_logp, entropy, new_values)``: the GLAM trainer scores the
prompts stored at those indices with the LLM, symbolic PPO runs its CNN on grid tensors.
Everything else (ratios, clipping, advantage normalization, gradient accumulation,
gradient clipping, statistics) is shared.

Loss of one minibatch, as in the paper (Eq. 9) with CleanRL's clipped value loss:

    r_t   = exp(log pi_new(a_t|s_t) - log pi_old(a_t|s_t))
    L_pi  = -mean( min(r_t A_t, clip(r_t, 1-eps, 1+eps) A_t) )
    L_V   = 0.5 * mean( max((V_new - R)^2, (V_old + clip(V_new - V_old, -c, c) - R)^2) )
    L     = L_pi + vf_coef * L_V - ent_coef * mean(H[pi_new])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import Tensor

from llmrl.algos.optim import BeforeStep, check_max_grad_norm, clip_and_step

Evaluate = Callable[[Tensor], tuple[Tensor, Tensor, Tensor]]
"""``evaluate(indices) -> (new_logp, entropy, new_values)``, each [len(indices)], with autograd."""


def policy_loss(new_logp: Tensor, old_logp: Tensor, advantages: Tensor, clip_coef: float) -> Tensor:
    """Clipped surrogate loss: ``-mean(min(r A, clip(r, 1-eps, 1+eps) A))``."""
    ratio = torch.exp(new_logp - old_logp)
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1.0 - clip_coef, 1.0 + clip_coef) * advantages
    # The pessimistic min removes the incentive to move r beyond [1-eps, 1+eps]: there the
    # clipped term is constant and its gradient is zero.
    return -torch.min(unclipped, clipped).mean()


def value_loss(new_values: Tensor, old_values: Tensor, returns: Tensor, clip_coef: float | None) -> Tensor:
    """Value loss ``0.5 * mean((V - R)^2)``; with ``clip_coef``, the max with the clipped-V error."""
    unclipped = (new_values - returns) ** 2
    if clip_coef is None:
        return 0.5 * unclipped.mean()
    # Same idea as the policy clip: the critic may not move more than clip_coef from the
    # value it had when the data was collected, unless that move increases the error.
    clipped_values = old_values + torch.clamp(new_values - old_values, -clip_coef, clip_coef)
    clipped = (clipped_values - returns) ** 2
    return 0.5 * torch.max(unclipped, clipped).mean()


def approx_kl(new_logp: Tensor, old_logp: Tensor) -> Tensor:
    """KL(pi_old || pi_new) estimate ``mean((r - 1) - log r)``: unbiased and never negative (Schulman 2020)."""
    log_ratio = new_logp - old_logp
    return (torch.exp(log_ratio) - 1.0 - log_ratio).mean()


def clip_fraction(new_logp: Tensor, old_logp: Tensor, clip_coef: float) -> Tensor:
    """Share of samples whose ratio lies outside ``[1 - clip_coef, 1 + clip_coef]``."""
    return ((torch.exp(new_logp - old_logp) - 1.0).abs() > clip_coef).float().mean()


def explained_variance(values: Tensor, returns: Tensor) -> float:
    """``1 - Var(R - V) / Var(R)``: 1 is a perfect critic, 0 no better than a constant; NaN if Var(R) = 0."""
    if values.shape != returns.shape:
        raise ValueError(
            f"values and returns must have the same shape, got {tuple(values.shape)} and {tuple(returns.shape)}"
        )
    var_returns = torch.var(returns.detach().float(), unbiased=False)
    if var_returns == 0:
        return math.nan
    return float(1.0 - torch.var((returns - values).detach().float(), unbiased=False) / var_returns)


def categorical_logp_entropy(logits: Tensor, actions: Tensor) -> tuple[Tensor, Tensor]:
    """Log-probability of ``actions`` [B] and entropy of the categorical policy ``softmax(logits)`` [B, A].

    Logits of -inf (masked actions) are allowed: they get probability 0 and add nothing to
    the entropy (a plain ``p * log p`` would give 0 * -inf = NaN there).
    """
    if logits.dim() != 2 or actions.shape != logits.shape[:1]:
        raise ValueError(f"logits must be [B, A] and actions [B], got {tuple(logits.shape)} and {tuple(actions.shape)}")
    log_probs = torch.log_softmax(logits, dim=-1)
    probs = log_probs.exp()
    # Replace -inf by 0 *before* the product so that neither the value nor its gradient is NaN.
    finite_log_probs = torch.where(probs > 0, log_probs, torch.zeros_like(log_probs))
    entropy = -(probs * finite_log_probs).sum(-1)
    return log_probs.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1), entropy


@dataclass(frozen=True)
class PPOBatch:
    """What PPO needs of a flattened rollout, one entry per sample (all [size])."""

    old_logp: Tensor
    old_values: Tensor
    advantages: Tensor
    returns: Tensor

    def __post_init__(self) -> None:
        names = ("old_logp", "old_values", "advantages", "returns")
        shapes = {name: tuple(getattr(self, name).shape) for name in names}
        if len(set(shapes.values())) != 1 or len(shapes["old_logp"]) != 1 or shapes["old_logp"][0] == 0:
            raise ValueError(f"PPOBatch fields must all be non-empty 1-D tensors of one size, got shapes {shapes}")

    @property
    def size(self) -> int:
        """Number of samples."""
        return self.old_logp.shape[0]


def ppo_update(
    evaluate: Evaluate,
    batch: PPOBatch,
    optimizer: torch.optim.Optimizer,
    params_for_clip: Iterable[Tensor],
    *,
    epochs: int,
    minibatch_size: int,
    clip_coef: float,
    value_clip_coef: float | None,
    ent_coef: float,
    vf_coef: float,
    max_grad_norm: float | None,
    normalize_advantages: bool,
    generator: torch.Generator,
    grad_accum_steps: int = 1,
    before_step: BeforeStep | None = None,
) -> dict[str, float]:
    """Run ``epochs`` passes of shuffled minibatch PPO over ``batch``; return mean statistics.

    ``evaluate`` receives CPU index tensors into the batch. Minibatch order comes only from
    ``generator`` (a CPU ``torch.Generator``), so an update is reproducible, and resumable,
    from the generator's state. A final minibatch smaller than ``minibatch_size`` is used as is.

    Each minibatch is split into ``grad_accum_steps`` micro-batches, each evaluated and
    back-propagated separately with its share of the minibatch loss: peak memory shrinks
    while the gradient stays the minibatch's. Advantages are normalized (if asked) over the
    whole minibatch. ``max_grad_norm=None`` disables clipping (the norm is still reported).

    ``before_step(grad_norm)`` runs after backward and clipping, before ``optimizer.step()``;
    returning False skips that step (NaN guard: ``math.isfinite``; see ``llmrl.algos.optim``).

    Returns the sample-weighted means of ``policy_loss``, ``value_loss``, ``entropy``,
    ``approx_kl``, ``clip_fraction`` and ``grad_norm`` over all minibatches, and
    ``skipped_steps``, the number of steps ``before_step`` vetoed.
    """
    if epochs < 1 or minibatch_size < 1:
        raise ValueError(f"epochs and minibatch_size must be >= 1, got {epochs} and {minibatch_size}")
    if not 1 <= grad_accum_steps <= minibatch_size:
        raise ValueError(f"grad_accum_steps must be in [1, minibatch_size={minibatch_size}], got {grad_accum_steps}")
    if clip_coef <= 0 or (value_clip_coef is not None and value_clip_coef <= 0):
        raise ValueError(
            f"clip_coef and value_clip_coef must be > 0 (value_clip_coef None disables value clipping), "
            f"got {clip_coef} and {value_clip_coef}"
        )
    check_max_grad_norm(max_grad_norm)
    if generator.device.type != "cpu":
        raise ValueError(f"generator must be a CPU torch.Generator (indices are drawn on CPU), got {generator.device}")
    params = list(params_for_clip)
    if not params:
        raise ValueError("params_for_clip is empty: pass the parameters being optimized")

    device = batch.advantages.device
    totals = dict.fromkeys(("policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction"), 0.0)
    grad_norm_total, skipped, minibatches = 0.0, 0, 0

    for _ in range(epochs):
        order = torch.randperm(batch.size, generator=generator)
        for start in range(0, batch.size, minibatch_size):
            indices = order[start : start + minibatch_size]
            advantages = batch.advantages[indices.to(device)]
            if normalize_advantages:
                # Statistics of the whole minibatch, not of each micro-batch, so that
                # gradient accumulation does not change the objective.
                advantages = (advantages - advantages.mean()) / (advantages.std(unbiased=False) + 1e-8)

            optimizer.zero_grad(set_to_none=True)
            # A short final minibatch may have fewer samples than grad_accum_steps: no empty chunks.
            splits = min(grad_accum_steps, len(indices))
            chunks = torch.tensor_split(indices, splits)
            chunk_advantages = torch.tensor_split(advantages, splits)
            for chunk, chunk_adv in zip(chunks, chunk_advantages, strict=True):
                new_logp, entropy, new_values = evaluate(chunk)
                for name, tensor in (("new_logp", new_logp), ("entropy", entropy), ("new_values", new_values)):
                    if tensor.shape != chunk.shape:
                        raise ValueError(
                            f"evaluate returned {name} of shape {tuple(tensor.shape)}, expected [{len(chunk)}]"
                        )
                on_device = chunk.to(device)
                old_logp = batch.old_logp[on_device]
                pg = policy_loss(new_logp, old_logp, chunk_adv, clip_coef)
                vf = value_loss(new_values, batch.old_values[on_device], batch.returns[on_device], value_clip_coef)
                ent = entropy.mean()
                # A micro-batch's mean weighted by its share of the minibatch: the summed
                # gradients then equal the gradient of the minibatch mean.
                weight = len(chunk) / len(indices)
                (weight * (pg + vf_coef * vf - ent_coef * ent)).backward()
                with torch.no_grad():
                    for name, value in (
                        ("policy_loss", pg),
                        ("value_loss", vf),
                        ("entropy", ent),
                        ("approx_kl", approx_kl(new_logp, old_logp)),
                        ("clip_fraction", clip_fraction(new_logp, old_logp, clip_coef)),
                    ):
                        totals[name] += value.detach().item() * len(chunk)

            grad_norm, stepped = clip_and_step(params, optimizer, max_grad_norm, before_step)
            grad_norm_total += grad_norm
            skipped += not stepped
            minibatches += 1

    samples = epochs * batch.size
    stats = {name: total / samples for name, total in totals.items()}
    stats["grad_norm"] = grad_norm_total / minibatches
    stats["skipped_steps"] = float(skipped)
    return stats
