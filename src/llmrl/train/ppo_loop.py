"""The PPO training loop, CleanRL style, shared by GLAM and the baselines that use PPO.

One update = collect N envs x T steps with the current policy, compute GAE(lambda)
advantages, then `epochs` passes of clipped-PPO minibatch updates (`llmrl.algos.ppo`):

    for update in range(start, num_updates):
        rollout  = collect_rollout(policy, envs, T)            # env stepping + scoring, no grad
        A, R     = compute_gae(rewards * reward_scale, V, ...)  # truncations bootstrap V(final obs)
        stats    = ppo_update(policy.evaluate, ...)             # the only step with autograd
        on_update(update, metrics)                              # logging, checkpoints (main process)

The loop never sees the model or the observation format: a policy is anything with the
`RolloutPolicy` methods, observations are whatever its envs return (a GLAM prompt string,
a symbolic grid). Environment stepping (`llmrl.runtime.vec_env.SeededVecEnv`), scoring (`policy.act/evaluate`)
and the update are separate steps, so a distributed run can shard envs by rank
(`first_index`), wrap the policy's module in DDP and log only where `is_main_process`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor, nn

from llmrl.algos.gae import compute_gae
from llmrl.algos.optim import BeforeStep
from llmrl.algos.ppo import PPOBatch, explained_variance, ppo_update
from llmrl.runtime.progress import Stopwatch
from llmrl.runtime.seeding import update_generator
from llmrl.runtime.vec_env import SeededVecEnv

__all__ = ["PPOHyperparameters", "Rollout", "RolloutPolicy", "collect_rollout", "ppo_loop"]


class RolloutPolicy(Protocol):
    """What the loop needs of a policy. Observations are passed as a list, one per env."""

    def act(self, obs: Sequence[Any], generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
        """Sample actions without grad: (actions, log-probs, values), each [B] on CPU."""
        ...

    def evaluate(self, obs: Sequence[Any], actions: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(log-probs of `actions`, entropy, values), each [B], with autograd."""
        ...

    def value(self, obs: Sequence[Any]) -> Tensor:
        """Values [B] on CPU without grad."""
        ...

    def trainable_parameters(self) -> list[nn.Parameter]: ...

    def train(self, mode: bool = True) -> Any: ...


@dataclass(frozen=True)
class PPOHyperparameters:
    """Settings of the loop; a trainer's config (e.g. `GlamConfig`) holds their defaults."""

    num_steps: int
    epochs: int
    minibatch_size: int
    gamma: float
    gae_lambda: float
    clip_coef: float
    value_clip_coef: float | None
    ent_coef: float
    vf_coef: float
    max_grad_norm: float | None
    normalize_advantages: bool
    reward_scale: float
    grad_accum_steps: int = 1

    def __post_init__(self) -> None:
        for name in ("num_steps", "epochs", "minibatch_size", "grad_accum_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.reward_scale <= 0:
            raise ValueError(f"reward_scale must be > 0, got {self.reward_scale}")


@dataclass
class Rollout:
    """T steps of N envs; tensors are [T, N], `obs[t][i]` the observation acted on."""

    obs: list[list[Any]]
    actions: Tensor
    logp: Tensor
    values: Tensor
    rewards: Tensor
    terminated: Tensor
    truncated: Tensor
    final_values: Tensor
    next_value: Tensor
    episodes: list[dict[str, float]] = field(default_factory=list)  # finished: return, length, success


def collect_rollout(
    policy: RolloutPolicy,
    envs: SeededVecEnv,
    num_steps: int,
    generator: torch.Generator,
    scoring: Stopwatch,
    on_phase: Callable[[str], None] | None = None,
) -> Rollout:
    """Act `num_steps` times in every env with actions sampled from `policy` (no grad).

    `on_phase(text)` hears after each step how far the rollout is.
    """
    T, N = num_steps, envs.num_envs
    buf = {k: torch.zeros(T, N) for k in ("actions", "logp", "values", "rewards", "terminated", "truncated")}
    obs: list[list[Any]] = []
    finals: list[tuple[int, int, Any]] = []
    episodes: list[dict[str, float]] = []
    for t in range(T):
        obs.append(list(envs.obs))
        with scoring:
            actions, logp, values = policy.act(obs[t], generator)
        rewards, terminated, truncated, infos, final_obs = envs.step(actions.tolist())
        buf["actions"][t], buf["logp"][t], buf["values"][t] = actions.float(), logp, values
        buf["rewards"][t] = torch.as_tensor(rewards, dtype=torch.float32)
        buf["terminated"][t] = torch.as_tensor(terminated, dtype=torch.float32)
        buf["truncated"][t] = torch.as_tensor(truncated, dtype=torch.float32)
        for i in range(N):
            if final_obs[i] is None:
                continue
            episode = infos[i]["episode"]
            # Success as the reference defines it when the env does not say: a positive return.
            success = bool(infos[i].get("success", episode["return"] > 0))
            episodes.append({**episode, "success": float(success)})
            if truncated[i] and not terminated[i]:
                finals.append((t, i, final_obs[i]))
        if on_phase is not None:
            on_phase(f"rollout {t + 1}/{T}")
    # Values of the truncated episodes' last observations and of the observation after the
    # rollout, in one batch: the policy does not change during the rollout.
    with scoring:
        bootstrap = policy.value([o for _, _, o in finals] + list(envs.obs))
    final_values = torch.zeros(T, N)
    for k, (t, i, _) in enumerate(finals):
        final_values[t, i] = bootstrap[k]
    return Rollout(
        obs=obs,
        actions=buf["actions"].long(),
        logp=buf["logp"],
        values=buf["values"],
        rewards=buf["rewards"],
        terminated=buf["terminated"].bool(),
        truncated=buf["truncated"].bool(),
        final_values=final_values,
        next_value=bootstrap[len(finals):],
        episodes=episodes,
    )


def ppo_loop(
    policy: RolloutPolicy,
    envs: SeededVecEnv,
    optimizer: torch.optim.Optimizer,
    hp: PPOHyperparameters,
    *,
    seed: int,
    num_updates: int,
    start_update: int = 0,
    on_update: Callable[[int, dict[str, float]], None] | None = None,
    before_step: BeforeStep | None = None,
    is_main_process: bool = True,
    on_phase: Callable[[str], None] | None = None,
) -> None:
    """Run PPO updates `start_update` .. `num_updates - 1` (see the module docstring).

    `on_update(update, metrics)` runs after each update on the main process only: it logs,
    shows progress and checkpoints (the loop's own state is then just `envs.state()`).
    `before_step(grad_norm)` may veto or abort an optimizer step (the NaN guard).
    `on_phase(text)` hears, on the main process, how far the rollout and the update are:
    with a large model one update takes minutes.
    """
    if not is_main_process:
        on_phase = None
    batch_size = hp.num_steps * envs.num_envs
    params = policy.trainable_parameters()
    for update in range(start_update, num_updates):
        start = time.perf_counter()
        scoring = Stopwatch()

        # 1. Rollout: step the envs with actions sampled from the current policy.
        policy.train(False)
        rollout = collect_rollout(policy, envs, hp.num_steps, update_generator(seed, update, 0), scoring, on_phase)

        # 2. Advantages: GAE(lambda) on rewards scaled as in the paper (x20).
        advantages, returns = compute_gae(
            rollout.rewards * hp.reward_scale,
            rollout.values,
            rollout.terminated,
            rollout.next_value,
            gamma=hp.gamma,
            lam=hp.gae_lambda,
            truncated=rollout.truncated,
            final_values=rollout.final_values,
        )

        # 3. Update: epochs x minibatches of the clipped objective, flattened in (t, i) order.
        flat_obs = [o for step in rollout.obs for o in step]
        flat_actions = rollout.actions.reshape(-1)

        evaluate = _minibatch_evaluator(policy, flat_obs, flat_actions, scoring, on_phase, hp.epochs * batch_size)
        batch = PPOBatch(
            old_logp=rollout.logp.reshape(-1),
            old_values=rollout.values.reshape(-1),
            advantages=advantages.reshape(-1),
            returns=returns.reshape(-1),
        )
        policy.train(True)
        stats = ppo_update(
            evaluate,
            batch,
            optimizer,
            params,
            epochs=hp.epochs,
            minibatch_size=hp.minibatch_size,
            clip_coef=hp.clip_coef,
            value_clip_coef=hp.value_clip_coef,
            ent_coef=hp.ent_coef,
            vf_coef=hp.vf_coef,
            max_grad_norm=hp.max_grad_norm,
            normalize_advantages=hp.normalize_advantages,
            generator=update_generator(seed, update, 1),
            grad_accum_steps=hp.grad_accum_steps,
            before_step=before_step,
        )

        # 4. Statistics of the update (episodes that ended during its rollout).
        elapsed = time.perf_counter() - start
        episodes = rollout.episodes
        metrics = {
            "update": update + 1,
            "frames": (update + 1) * batch_size,
            "episodes": len(episodes),
            "success_rate": _mean([e["success"] for e in episodes]),
            "return": _mean([e["return"] for e in episodes]),
            "episode_length": _mean([e["length"] for e in episodes]),
            **stats,
            "explained_variance": explained_variance(batch.old_values, batch.returns),
            "fps": batch_size / elapsed,
            "scoring_share": scoring.seconds / elapsed,
        }
        if is_main_process and on_update is not None:
            on_update(update, metrics)


def _minibatch_evaluator(
    policy: RolloutPolicy,
    obs: Sequence[Any],
    actions: Tensor,
    scoring: Stopwatch,
    on_phase: Callable[[str], None] | None,
    total: int,
) -> Callable[[Tensor], tuple[Tensor, Tensor, Tensor]]:
    """`evaluate(indices)` for `ppo_update`: the policy on those samples, its time counted as scoring.

    `on_phase` hears how many of the update's `total` samples have been evaluated so far.
    """
    evaluated = 0

    def evaluate(indices: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        nonlocal evaluated
        with scoring:
            out = policy.evaluate([obs[j] for j in indices.tolist()], actions[indices])
        evaluated += len(indices)
        if on_phase is not None:
            on_phase(f"update {evaluated}/{total} samples")
        return out

    return evaluate


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan
