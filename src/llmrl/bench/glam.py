"""`llmrl bench glam`: frames per second of one GLAM PPO update, shared against naive scoring,
and (`--nproc 1,2`) the data-parallel scaling of GLAM updates over torch.distributed ranks.

Both methods run the same update (same model weights, envs, seeds; one epoch, one
minibatch) so the only difference is how candidates are scored: "shared" computes each
prompt once and lets the six actions reuse its KV cache, "naive" runs one padded row per
(prompt, action), as the reference implementation did.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch.multiprocessing as mp

from llmrl.train.distributed import barrier, free_loopback_port, init_distributed, rank_errors, shutdown
from llmrl.train.glam import GlamConfig, build_envs, build_optimizer, build_policy, data_parallel, shard_config
from llmrl.train.ppo_loop import ppo_loop

METHODS = ("shared", "naive")


def bench_glam(
    model: str = "smollm2-135m", *, num_envs: int = 2, num_steps: int = 2, repeats: int = 1, seed: int = 0,
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Time one rollout + update per scoring method; return (rows, summary with `speedup`).

    Each of the `repeats` runs builds a fresh policy and times its first update, the two
    methods alternating so that a change in the machine's load hits both alike. One update
    of SmolLM2 varies by 10-15% between runs on a shared CPU: a row's `fps` is its fastest
    run (as in `bench env`, other processes only ever slow a run down), `fps_median` the
    median, and `speedup` compares the fastest runs. `progress(text)` hears which run starts.
    """
    if num_envs < 1 or num_steps < 1:
        raise ValueError(f"num_envs and num_steps must be >= 1, got {num_envs} and {num_steps}")
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive int, got {repeats!r}")
    frames = num_envs * num_steps
    runs: dict[str, list[tuple[float, float]]] = {method: [] for method in METHODS}
    for repeat in range(repeats):
        for method in METHODS:
            progress(f"{method} scoring: run {repeat + 1}/{repeats}")
            cfg = GlamConfig(
                seed=seed, model=model, env_id="BabyAIText-GoTo-v0", scoring=method, num_envs=num_envs,
                num_steps=num_steps, total_frames=frames, epochs=1, minibatch_size=frames, lr=1e-6,
            )
            seconds, metrics = _time_one_update(cfg, seed)
            runs[method].append((seconds, metrics["scoring_share"]))
    rows = []
    for method, timed in runs.items():
        seconds, scoring_share = min(timed)
        rows.append({"method": method, "frames": frames, "seconds": seconds, "fps": frames / seconds,
                     "fps_median": frames / statistics.median(s for s, _ in timed), "runs": repeats,
                     "scoring_share": scoring_share})
    speedup = rows[0]["fps"] / rows[1]["fps"]
    return rows, {"model": model, "frames_per_update": frames, "speedup": speedup}


def _time_one_update(cfg: GlamConfig, seed: int) -> tuple[float, dict[str, float]]:
    """Seconds of one rollout + PPO update under `cfg`, and the update's metrics."""
    policy = build_policy(cfg)
    envs = build_envs(cfg, policy)
    metrics: dict[str, float] = {}
    # Collect the previous run's garbage now (cycles can hold its model and optimizer state, GBs with
    # SmolLM2), not in a collection that would fire inside the timed update.
    gc.collect()
    start = time.perf_counter()
    ppo_loop(policy, envs, build_optimizer(cfg, policy), cfg.hyperparameters(), seed=seed, num_updates=1,
             on_update=lambda _, m: metrics.update(m))
    seconds = time.perf_counter() - start
    envs.close()
    return seconds, metrics


# ------------------------------------------------------------------ data-parallel scaling
SCALING_MODEL = "tiny-llama"


def bench_glam_scaling(
    nprocs: Sequence[int], model: str = SCALING_MODEL, *, envs_per_rank: int = 4, num_steps: int = 8,
    updates: int = 5, seed: int = 0,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Frames/s of GLAM PPO updates with 1..N data-parallel ranks on this machine (weak scaling).

    Each rank steps `envs_per_rank` envs (the global num_envs grows with N) on the CPU with
    one torch thread, as each rank of a GPU job has one GPU: resources grow with N, so
    `efficiency` = fps(N) / (N * fps(1)) for the largest N measures the cost of data
    parallelism (1.0: none). Ranks rendezvous on 127.0.0.1; after one warm-up update,
    `updates` updates are timed.
    """
    nprocs = sorted(set(nprocs))
    if not nprocs or nprocs[0] < 1 or 1 not in nprocs:
        raise ValueError(f"nproc must be positive rank counts including 1 (the baseline), got {list(nprocs)}")
    if envs_per_rank < 1 or num_steps < 1 or updates < 1:
        raise ValueError(
            f"envs_per_rank, num_steps and updates must be >= 1, got {envs_per_rank}, {num_steps}, {updates}"
        )
    rows = []
    for n in nprocs:
        cfg = GlamConfig(seed=seed, model=model, env_id="BabyAIText-GoTo-v0", room_size=5, num_dists=1, history=1,
                         normalize="mean", value_inner=256, num_envs=n * envs_per_rank, num_steps=num_steps,
                         epochs=1, minibatch_size=n * envs_per_rank * num_steps, lr=1e-4, device="cpu")
        with tempfile.TemporaryDirectory() as tmp:
            result = Path(tmp) / "result.json"
            mp.spawn(_scaling_rank, args=(n, free_loopback_port(), cfg, updates, str(result)), nprocs=n)
            seconds = json.loads(result.read_text())["seconds"]
        frames = updates * cfg.frames_per_update
        rows.append({"nproc": n, "envs": cfg.num_envs, "frames": frames, "seconds": seconds, "fps": frames / seconds})
    base, top = rows[0], rows[-1]
    efficiency = top["fps"] / (top["nproc"] * base["fps"])
    return rows, {"model": model, "envs_per_rank": envs_per_rank, "num_steps": num_steps, "cores": os.cpu_count(),
                  "load_average_1min": os.getloadavg()[0], "efficiency": efficiency}


def _scaling_rank(rank: int, world_size: int, port: int, cfg: GlamConfig, updates: int, out: str) -> None:
    """One rank of `bench_glam_scaling`, started by torch.multiprocessing with torchrun's variables."""
    os.environ.update({"RANK": str(rank), "WORLD_SIZE": str(world_size), "LOCAL_RANK": str(rank),
                       "LOCAL_WORLD_SIZE": str(world_size), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    world = init_distributed(cfg.device, timeout_s=cfg.dist_timeout_s, threads=1)
    with rank_errors(world):
        local = shard_config(cfg, world)
        policy = build_policy(local)
        envs = build_envs(local, policy, first_index=world.rank * local.num_envs)
        loop_policy, hp = data_parallel(policy, local, world), local.hyperparameters()
        optimizer = build_optimizer(local, policy)
        ppo_loop(loop_policy, envs, optimizer, hp, seed=cfg.seed, num_updates=1)  # warm-up
        barrier(world)
        start = time.perf_counter()
        ppo_loop(loop_policy, envs, optimizer, hp, seed=cfg.seed, start_update=1, num_updates=1 + updates)
        barrier(world)
        if world.is_main:
            Path(out).write_text(json.dumps({"seconds": time.perf_counter() - start}))
    shutdown(world)
