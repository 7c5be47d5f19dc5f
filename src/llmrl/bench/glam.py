"""`llmrl bench glam`: frames per second of one GLAM PPO update, shared against naive scoring.

Both methods run the same update (same model weights, envs, seeds; one epoch, one
minibatch) so the only difference is how candidates are scored: "shared" computes each
prompt once and lets the six actions reuse its KV cache, "naive" runs one padded row per
(prompt, action), as the reference implementation did.
"""

from __future__ import annotations

import time
from typing import Any

from llmrl.train.glam import GlamConfig, build_envs, build_optimizer, build_policy, hyperparameters
from llmrl.train.ppo_loop import ppo_loop

METHODS = ("shared", "naive")


def bench_glam(model: str = "smollm2-135m", *, num_envs: int = 2, num_steps: int = 2,
               seed: int = 0) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Time one rollout + update per scoring method; return (rows, summary with `speedup`)."""
    if num_envs < 1 or num_steps < 1:
        raise ValueError(f"num_envs and num_steps must be >= 1, got {num_envs} and {num_steps}")
    rows = []
    for method in METHODS:
        frames = num_envs * num_steps
        cfg = GlamConfig(
            seed=seed, model=model, env_id="BabyAIText-GoTo-v0", scoring=method, num_envs=num_envs,
            num_steps=num_steps, total_frames=frames, epochs=1, minibatch_size=frames, lr=1e-6,
        )
        policy = build_policy(cfg)
        envs = build_envs(cfg, policy)
        metrics: dict[str, float] = {}
        start = time.perf_counter()
        ppo_loop(policy, envs, build_optimizer(cfg, policy), hyperparameters(cfg), seed=seed, num_updates=1,
                 on_update=lambda _, m: metrics.update(m))
        seconds = time.perf_counter() - start
        envs.close()
        rows.append({"method": method, "frames": frames, "seconds": seconds, "fps": frames / seconds,
                     "scoring_share": metrics["scoring_share"]})
    speedup = rows[0]["fps"] / rows[1]["fps"]
    return rows, {"model": model, "frames_per_update": num_envs * num_steps, "speedup": speedup}
