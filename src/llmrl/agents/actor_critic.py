"""`ActorCriticPolicy`: the rollout-policy protocol of `llmrl.train.ppo_loop` for any categorical actor-critic.

A subclass defines one method, `forward(obs) -> (logits [B, A], values [B])`; this base turns
it into what PPO calls:

    act(obs)               a ~ softmax(logits) (sampled on CPU), log pi(a | obs), V(obs)    no grad
    evaluate(obs, a)       log pi(a | obs), H[pi(. | obs)], V(obs)                          autograd
    value(obs)             V(obs)                                                           no grad

Logits may be -inf: an action that is not available in that observation (a padded slot of a
ragged candidate list). It gets probability 0, is never sampled, and adds nothing to the
entropy. A distributed run calls `forward` through DistributedDataParallel and finishes with
`evaluate_logits` (`llmrl.runtime.distributed.DataParallelPolicy`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from llmrl.algos.ppo import categorical_logp_entropy


class ActorCriticPolicy(nn.Module):
    """act / evaluate / value of a categorical policy whose `forward(obs)` gives (logits, values)."""

    def forward(self, obs: Sequence[Any]) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    @torch.no_grad()
    def act(self, obs: Sequence[Any], generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Sample one action per observation: (actions, log-probabilities, values), all [B] on CPU."""
        logits, values = self(obs)
        log_probs = torch.log_softmax(logits.float(), -1).cpu()
        # Sampled on CPU from a CPU generator: the same seed draws the same actions on any device.
        # Masked actions (-inf logits) have probability exactly 0, so multinomial never draws them.
        actions = torch.multinomial(log_probs.exp(), 1, generator=generator).squeeze(-1)
        return actions, log_probs.gather(-1, actions[:, None]).squeeze(-1), values.float().cpu()

    def evaluate(self, obs: Sequence[Any], actions: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """log pi(actions | obs), entropy and V(obs), each [B], with autograd."""
        return self.evaluate_logits(*self(obs), actions)

    @staticmethod
    def evaluate_logits(logits: Tensor, values: Tensor, actions: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """`evaluate` from `forward`'s outputs: (log pi(actions), entropy over the unmasked actions, values)."""
        logp, entropy = categorical_logp_entropy(logits.float(), actions.to(logits.device))
        return logp, entropy, values.float()

    @torch.no_grad()
    def value(self, obs: Sequence[Any]) -> Tensor:
        """V(obs) [B] on CPU."""
        return self(obs)[1].float().cpu()

    def trainable_parameters(self) -> list[nn.Parameter]:
        """Every parameter that requires grad (LoRA adapters and heads only, under LoRA)."""
        return [p for p in self.parameters() if p.requires_grad]
