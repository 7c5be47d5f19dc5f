"""Play a policy on seeded episodes: the one evaluation protocol of every BabyAI method.

Actions are *sampled* from the policy (as the reference evaluates); episode i starts from
seed `1e9 * seed + i` and sampling draws from a generator seeded by `seed`, so the same call
gives the same episodes. `num_envs` episodes run side by side: each slot plays the next
unplayed episode as soon as its current one ends, and every `policy.act` call batches the
observations of all running slots.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from llmrl.eval.stats import episode_seeds, success_rate_ci


class ActingPolicy(Protocol):
    """What an evaluation needs of a policy (every llmrl policy has it)."""

    def act(self, obs: Sequence[Any], generator: torch.Generator) -> tuple[torch.Tensor, ...]: ...

    def train(self, mode: bool = True) -> Any: ...


@dataclass(frozen=True)
class EvalResult:
    """Outcome of `episodes` evaluation episodes in one env (and variant)."""

    env_id: str
    variant: str | None
    episodes: int
    success_rate: float
    ci_low: float
    ci_high: float
    mean_return: float
    mean_length: float
    confidence: float = 0.99


@torch.no_grad()
def evaluate(
    policy: ActingPolicy,
    make_env: Callable[[], Any],
    episodes: int,
    seed: int = 0,
    *,
    num_envs: int = 16,
    on_episode: Callable[[int], None] | None = None,
    env_id: str = "",
    variant: str | None = None,
) -> EvalResult:
    """Success rate (99% Wilson CI), mean return and length of `policy` over `episodes` episodes.

    `make_env()` builds one env (gymnasium API); success is the env's `info["success"]` at the
    end of an episode, else a positive return (BabyAI rewards only success). `on_episode(done)`
    is called after each finished episode (progress bars). `env_id` and `variant` label the result.
    """
    if not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be a positive int, got {episodes!r}")
    if num_envs < 1:
        raise ValueError(f"num_envs must be >= 1, got {num_envs}")
    seeds = episode_seeds(seed, episodes)
    envs = [make_env() for _ in range(min(num_envs, episodes))]
    generator = torch.Generator().manual_seed(seed)
    policy.train(False)
    successes: list[bool] = []
    returns: list[float] = []
    lengths: list[int] = []
    # Slot k of `envs` plays the episodes assigned to it in turn; `live` maps slot -> [obs, return, length].
    next_episode = 0
    live: dict[int, list] = {}
    try:
        for slot, env in enumerate(envs):
            obs, _ = env.reset(seed=seeds[next_episode])
            live[slot] = [obs, 0.0, 0]
            next_episode += 1
        while live:
            slots = sorted(live)
            actions = policy.act([live[s][0] for s in slots], generator)[0]
            for slot, action in zip(slots, actions.tolist(), strict=True):
                obs, reward, terminated, truncated, info = envs[slot].step(action)
                state = live[slot]
                state[0], state[1], state[2] = obs, state[1] + reward, state[2] + 1
                if not (terminated or truncated):
                    continue
                successes.append(bool(info.get("success", state[1] > 0)))
                returns.append(state[1])
                lengths.append(state[2])
                if on_episode is not None:
                    on_episode(len(successes))
                if next_episode < episodes:
                    obs, _ = envs[slot].reset(seed=seeds[next_episode])
                    live[slot] = [obs, 0.0, 0]
                    next_episode += 1
                else:
                    del live[slot]
    finally:
        for env in envs:
            env.close()
    rate, low, high = success_rate_ci(successes, 0.99)
    return EvalResult(env_id, variant, episodes, rate, low, high, float(np.mean(returns)), float(np.mean(lengths)))
