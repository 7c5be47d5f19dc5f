"""Generalized Advantage Estimation (Schulman et al. 2016) for vectorized, auto-resetting rollouts.

Layout of a rollout of T steps in N environments (all tensors [T, N] unless said):

- ``values[t]``      V(o_t), the critic's value of the observation the action was taken in;
- ``rewards[t]``     r_t, the reward of the transition o_t -> o_{t+1};
- ``terminated[t]``  the transition ended the episode in a terminal state (gymnasium ``terminated``);
- ``truncated[t]``   the episode was cut by a time limit (gymnasium ``truncated``);
- ``final_values[t]`` V(final observation of the episode), read only where ``truncated[t]``;
- ``next_value``     [N], V(o_T), the observation after the last step.

With auto-reset, the observation stored after a finished episode belongs to the *next*
episode, so neither its value nor its advantages may leak backwards. The bootstrap of
step t is therefore:

    terminated[t]             -> 0                  (no future after a terminal state)
    truncated[t] (not term.)  -> final_values[t]    (the episode could have gone on: bootstrap
                                                     from the true final observation, which the
                                                     env returns in ``info`` on auto-reset)
    otherwise                 -> V(o_{t+1})         (values[t+1], or next_value at t = T-1)

and the recursion is

    delta_t = r_t + gamma * bootstrap_t - V(o_t)
    A_t     = delta_t + gamma * lam * (1 - done_t) * A_{t+1},    done_t = terminated | truncated
    R_t     = A_t + V(o_t)                                        (the critic's regression target)

CleanRL's ``next_done`` convention treats truncation as termination (bootstrap 0). That is
what you get here by passing ``terminated | truncated`` as ``terminated`` and no
``truncated``; it biases values down near the time limit, which is why the exact form is
the default when the final observations' values are available.
"""

from __future__ import annotations

import torch
from torch import Tensor


def compute_gae(
    rewards: Tensor,
    values: Tensor,
    terminated: Tensor,
    next_value: Tensor,
    *,
    gamma: float,
    lam: float,
    truncated: Tensor | None = None,
    final_values: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Return ``(advantages, returns)``, both [T, N], of a vectorized rollout (see module doc).

    ``truncated`` and ``final_values`` go together: truncated steps bootstrap from
    ``final_values`` (the value of the episode's true last observation). Without them no
    step is treated as truncated. Flags may be bool or 0/1 tensors. Nothing here is
    differentiated: inputs are detached.
    """
    if rewards.dim() != 2:
        raise ValueError(f"rewards must be [T, N], got shape {tuple(rewards.shape)}")
    shape = rewards.shape
    for name, tensor in (("values", values), ("terminated", terminated)):
        if tensor.shape != shape:
            raise ValueError(f"{name} must have the shape of rewards {tuple(shape)}, got {tuple(tensor.shape)}")
    if next_value.shape != shape[1:]:
        raise ValueError(f"next_value must be [N] = {tuple(shape[1:])}, got {tuple(next_value.shape)}")
    if (truncated is None) != (final_values is None):
        raise ValueError("truncated and final_values must be given together (final_values bootstraps truncated steps)")
    if truncated is not None and final_values is not None:
        for name, tensor in (("truncated", truncated), ("final_values", final_values)):
            if tensor.shape != shape:
                raise ValueError(f"{name} must have the shape of rewards {tuple(shape)}, got {tuple(tensor.shape)}")
    if not 0.0 <= gamma <= 1.0 or not 0.0 <= lam <= 1.0:
        raise ValueError(f"gamma and lam must lie in [0, 1], got gamma={gamma}, lam={lam}")

    rewards = rewards.detach().float()
    values = values.detach().float()
    terminated = terminated.detach().bool()
    truncated = torch.zeros_like(terminated) if truncated is None else truncated.detach().bool()
    final_values = torch.zeros_like(values) if final_values is None else final_values.detach().float()

    # V(o_{t+1}) for every step: the next row, and next_value after the last one.
    next_values = torch.cat([values[1:], next_value.detach().float().unsqueeze(0)], dim=0)
    # Termination wins over truncation when both are set: a terminal state has no future.
    bootstrap = torch.where(terminated, 0.0, torch.where(truncated, final_values, next_values))
    deltas = rewards + gamma * bootstrap - values
    # The lambda-chain must not cross an episode boundary, whatever ended the episode.
    continues = (~(terminated | truncated)).float()

    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in reversed(range(shape[0])):
        running = deltas[t] + gamma * lam * continues[t] * running
        advantages[t] = running
    return advantages, advantages + values
