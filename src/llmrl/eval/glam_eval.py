"""Evaluate a GLAM policy: success rate with a 99% Wilson interval, mean return and length.

Actions are *sampled* from the policy (as the reference evaluates), episode i uses seed
`1e9 * seed + i`, and `num_envs` episodes run side by side so that each scoring call
batches several prompts. `generalization_suite` runs the reference English and every
BabyAI-Text variant and writes a markdown table and JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from llmrl.agents.llm_policy import LLMPolicy
from llmrl.envs.babyai_text import VARIANTS, variant_action_names
from llmrl.eval.stats import episode_seeds, success_rate_ci
from llmrl.train.glam import GlamConfig, build_template, make_prompt_env


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


def evaluate_policy(
    policy: LLMPolicy,
    cfg: GlamConfig,
    *,
    episodes: int,
    seed: int = 0,
    variant: str | None = None,
    num_envs: int = 16,
    on_episode: Callable[[int], None] | None = None,
) -> EvalResult:
    """Run `episodes` episodes of cfg's env (with `variant`) sampling actions from `policy`.

    `cfg` gives the env (id, room size, distractors) and the prompt (template, history).
    `on_episode(done)` is called after each finished episode (progress bars).
    """
    if not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be a positive int, got {episodes!r}")
    if num_envs < 1:
        raise ValueError(f"num_envs must be >= 1, got {num_envs}")
    seeds = episode_seeds(seed, episodes)
    template = build_template(cfg, policy, variant)
    envs = [make_prompt_env(cfg, template, variant) for _ in range(min(num_envs, episodes))]
    # Sampling draws from a generator seeded by the evaluation seed: the same call gives the same episodes.
    generator = torch.Generator().manual_seed(seed)
    trained_names = policy.action_names
    policy.action_names = variant_action_names(variant)
    policy.train(False)
    successes: list[bool] = []
    returns: list[float] = []
    lengths: list[int] = []
    # Slot k of `envs` plays the episodes assigned to it in turn; `live` maps slot -> (episode, obs, return, length).
    next_episode = 0
    live: dict[int, list] = {}
    try:
        for slot, env in enumerate(envs):
            obs, _ = env.reset(seed=seeds[next_episode])
            live[slot] = [obs, 0.0, 0]
            next_episode += 1
        while live:
            slots = sorted(live)
            actions, _, _ = policy.act([live[s][0] for s in slots], generator)
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
        policy.action_names = trained_names
        for env in envs:
            env.close()
    rate, low, high = success_rate_ci(successes, 0.99)
    return EvalResult(cfg.env_id, variant, episodes, rate, low, high, float(np.mean(returns)), float(np.mean(lengths)))


def generalization_suite(
    policy: LLMPolicy,
    cfg: GlamConfig,
    out_dir: str | Path,
    *,
    episodes: int,
    seed: int = 0,
    variants: Sequence[str | None] = (None, *VARIANTS),
    num_envs: int = 16,
) -> tuple[list[EvalResult], Path, Path]:
    """Evaluate every variant; write `generalization.md` and `generalization.json` to `out_dir`."""
    results = [evaluate_policy(policy, cfg, episodes=episodes, seed=seed, variant=v, num_envs=num_envs)
               for v in variants]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "generalization.json"
    json_path.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    md_path = out_dir / "generalization.md"
    md_path.write_text(markdown_table(results))
    return results, md_path, json_path


def markdown_table(results: Sequence[EvalResult]) -> str:
    """One row per result: variant, success rate with its 99% interval, return, length, episodes."""
    lines = [
        "| variant | success rate | 99% CI | mean return | mean length | episodes |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.variant or 'english'} | {r.success_rate:.3f} | [{r.ci_low:.3f}, {r.ci_high:.3f}] | "
            f"{r.mean_return:.3f} | {r.mean_length:.1f} | {r.episodes} |"
        )
    return "\n".join(lines) + "\n"
