"""`llmrl bench glam`: frames per second of one GLAM PPO update along three scoring paths, and
(`--nproc 1,2`) the data-parallel scaling of GLAM updates over torch.distributed ranks.

Every path runs the same update (same model weights, envs, seeds; one epoch, one minibatch):

- "fast": the LM body in `precision` ("auto": bf16 where the CPU/GPU has it natively, see
  `llmrl.lm.precision`) and prompt prefixes' keys/values reused (`reuse_prefix`), shared scoring;
- "fp32": fp32, shared scoring (each prompt computed once, its six actions reuse its KV cache),
  no prefix reuse: the reference the fast path is compared with (`speedup_vs_fp32`);
- "naive": fp32, one padded row per (prompt, action), as the reference implementation did
  (`speedup` = fp32 / naive, the shared-prompt saving).

`lora_layers=N` (LoRA on the top N layers only) changes the model for every path, so that
`speedup_vs_fp32` still compares the same model; the fast path then also keeps the frozen
trunk's hidden states (`trunk_cache`). The extra path "fp32-all-layers" is the fp32 path with
LoRA on every layer: `speedup_vs_fp32_all_layers` = fast / it compares two different models
(fewer adapted layers train differently) and is reported as such.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch.multiprocessing as mp

from llmrl.lm.precision import resolve_precision
from llmrl.runtime.distributed import barrier, free_loopback_port, init_distributed, rank_errors, shutdown
from llmrl.train.glam import GlamConfig, build_envs, build_optimizer, data_parallel, shard_config
from llmrl.train.lm_policies import build_policy
from llmrl.train.ppo_loop import ppo_loop

PATHS = ("fast", "fp32", "naive", "fp32-all-layers")
DEFAULT_PATHS = PATHS[:3]
METHODS = DEFAULT_PATHS  # the default rows' names (former name of the tuple)


def path_settings(path: str, precision: str = "auto", lora_layers: int | None = None) -> dict[str, Any]:
    """GlamConfig fields of one bench path."""
    if path == "fast":
        return {"scoring": "shared", "precision": precision, "reuse_prefix": True, "lora_layers": lora_layers,
                "trunk_cache": lora_layers is not None}
    if path == "fp32":
        return {"scoring": "shared", "precision": "fp32", "reuse_prefix": False, "lora_layers": lora_layers}
    if path == "naive":
        return {"scoring": "naive", "precision": "fp32", "reuse_prefix": False, "lora_layers": lora_layers}
    if path == "fp32-all-layers":
        return {"scoring": "shared", "precision": "fp32", "reuse_prefix": False, "lora_layers": None}
    raise ValueError(f"unknown bench path {path!r}; accepted: {', '.join(PATHS)}")


def bench_glam(
    model: str = "smollm2-135m", *, num_envs: int = 2, num_steps: int = 2, repeats: int = 1, seed: int = 0,
    lora: bool = False, precision: str = "auto", paths: Sequence[str] = DEFAULT_PATHS, lora_layers: int | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Time one rollout + update per path; return (rows, summary with `speedup_vs_fp32` and `speedup`).

    Each of the `repeats` runs builds a fresh policy and times its first update, the paths
    alternating so that a change in the machine's load hits all alike. One update of SmolLM2
    varies by 10-15% between runs on a shared CPU: a row's `fps` is its fastest run (other
    processes only ever slow a run down), `fps_median` the median; the speedups compare the
    fastest runs. `lora`: LoRA adapters (r 16, alpha 32) instead of full fine-tuning;
    `lora_layers`: on the top N layers only (see the module's docstring).
    `progress(text)` hears which run starts.
    """
    if num_envs < 1 or num_steps < 1:
        raise ValueError(f"num_envs and num_steps must be >= 1, got {num_envs} and {num_steps}")
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive int, got {repeats!r}")
    paths = list(dict.fromkeys(paths))
    if not paths:
        raise ValueError("give at least one bench path")
    if lora_layers is not None and not lora:
        raise ValueError("lora_layers needs lora (LoRA on the top layers)")
    if "fp32-all-layers" in paths and lora_layers is None:
        raise ValueError("the fp32-all-layers path is a reference for lora_layers; give lora_layers too")
    for path in paths:
        path_settings(path)
    frames = num_envs * num_steps
    runs: dict[str, list[tuple[float, dict[str, float]]]] = {path: [] for path in paths}
    for repeat in range(repeats):
        for path in paths:
            progress(f"{path}: run {repeat + 1}/{repeats}")
            cfg = GlamConfig(
                seed=seed, model=model, env_id="BabyAIText-GoTo-v0", num_envs=num_envs, num_steps=num_steps,
                total_frames=frames, epochs=1, minibatch_size=frames, lr=1e-6, lora=lora,
                **path_settings(path, precision, lora_layers),
            )
            runs[path].append(_time_one_update(cfg, seed))
    rows = []
    for path, timed in runs.items():
        seconds, parts = min(timed, key=lambda run: run[0])
        settings = path_settings(path, precision, lora_layers)
        rows.append({"method": path, "precision": resolve_precision(settings["precision"], "cpu"),
                     "reuse_prefix": settings["reuse_prefix"], "lora_layers": settings["lora_layers"],
                     "trunk_cache": settings.get("trunk_cache", False), "frames": frames,
                     "seconds": seconds, "fps": frames / seconds,
                     "fps_median": frames / statistics.median(s for s, _ in timed), "runs": repeats, **parts})
    fps = {row["method"]: row["fps"] for row in rows}
    summary: dict[str, Any] = {"model": model, "lora": lora, "lora_layers": lora_layers, "frames_per_update": frames,
                               "cpu": _cpu_model(), "threads": _threads(), "load_average_1min": os.getloadavg()[0]}
    if "fast" in fps and "fp32" in fps:
        summary["speedup_vs_fp32"] = fps["fast"] / fps["fp32"]
    if "fast" in fps and "fp32-all-layers" in fps:
        summary["speedup_vs_fp32_all_layers"] = fps["fast"] / fps["fp32-all-layers"]
    if "fp32" in fps and "naive" in fps:
        summary["speedup"] = fps["fp32"] / fps["naive"]
    return rows, summary


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown"


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def _time_one_update(cfg: GlamConfig, seed: int) -> tuple[float, dict[str, float]]:
    """Seconds of one rollout + PPO update under `cfg`, and where they went."""
    policy = build_policy(cfg)
    envs = build_envs(cfg, policy)
    metrics: dict[str, float] = {}
    timers = {"rollout_scoring_s": 0.0, "update_scoring_s": 0.0}

    def timed(method, key):
        def run(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                timers[key] += time.perf_counter() - start
        return run

    # Instance attributes shadow the methods the loop calls: the rollout's scoring (act, value) and
    # the update's forward passes (evaluate; its backward and the optimizer step are the rest).
    policy.act = timed(policy.act, "rollout_scoring_s")
    policy.value = timed(policy.value, "rollout_scoring_s")
    policy.evaluate = timed(policy.evaluate, "update_scoring_s")
    # Collect the previous run's garbage now (cycles can hold its model and optimizer state, GBs with
    # SmolLM2), not in a collection that would fire inside the timed update.
    gc.collect()
    start = time.perf_counter()
    ppo_loop(policy, envs, build_optimizer(cfg, policy), cfg.hyperparameters(), seed=seed, num_updates=1,
             on_update=lambda _, m: metrics.update(m))
    seconds = time.perf_counter() - start
    envs.close()
    return seconds, {"scoring_share": metrics["scoring_share"], **timers,
                     "rest_s": seconds - timers["rollout_scoring_s"] - timers["update_scoring_s"]}


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


# ------------------------------------------------------------------ zero-shot diagnosis
ZERO_SHOT_SETTINGS = ("glam/sum/h3", "glam/mean/h3", "glam/mean/h2", "glam/mean/h1", "chat/mean/h3", "uniform")
"""The zero-shot table's rows: template/normalize/hHISTORY of the LM policy, and the uniform random policy."""


def parse_setting(text: str) -> tuple[str, str, int] | None:
    """"glam/mean/h3" -> ("glam", "mean", 3); "uniform" -> None (the uniform random policy)."""
    if text == "uniform":
        return None
    try:
        template, normalize, history = text.split("/")
        if template not in ("glam", "chat") or normalize not in ("sum", "mean") or not history.startswith("h"):
            raise ValueError
        return template, normalize, int(history[1:])
    except ValueError:
        raise ValueError(f"a zero-shot setting is TEMPLATE/NORMALIZE/hHISTORY (e.g. glam/mean/h3) or 'uniform', "
                         f"got {text!r}") from None


class UniformPolicy:
    """Uniformly random actions drawn from the evaluation's generator (the baseline of the zero-shot table)."""

    def __init__(self, action_names: Sequence[str]) -> None:
        self.action_names = tuple(action_names)

    def train(self, mode: bool = True) -> UniformPolicy:
        return self

    def act(self, prompts: Sequence[str], generator=None):
        import torch

        actions = torch.randint(len(self.action_names), (len(prompts),), generator=generator)
        log_probs = torch.full((len(prompts),), -float(torch.log(torch.tensor(float(len(self.action_names))))))
        return actions, log_probs, torch.zeros(len(prompts))


def bench_glam_zero_shot(
    model: str = "smollm2-135m", *, episodes: int = 100, seed: int = 0, room_size: int = 5, num_dists: int = 1,
    settings: Sequence[str] = ZERO_SHOT_SETTINGS, precision: str = "auto", num_envs: int = 16,
    progress: Callable[[str], None] = lambda _: None, on_row: Callable[[dict], None] = lambda _: None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Zero-shot success of the untrained LM policy on GoTo (room_size, num_dists) per prompt setting.

    Every setting and the uniform random policy play the same seeded episodes (episode i: seed
    1e9*seed + i), actions sampled. `p_first` is the policy's mean probability of each action
    on the first prompt of the first 16 episodes: where the probability mass goes before any move.
    `on_row(row)` hears each row as soon as it is measured.
    """
    import torch

    from llmrl.eval.glam_eval import build_template, evaluate_policy, make_prompt_env
    from llmrl.eval.stats import episode_seeds
    from llmrl.train.lm_policies import build_lm

    base = GlamConfig(seed=seed, model=model, env_id="BabyAIText-GoTo-v0", room_size=room_size, num_dists=num_dists,
                      precision=precision, reuse_prefix=True)
    lm = build_lm(base)
    rows = []
    start = time.perf_counter()
    parsed = [parse_setting(text) for text in settings]
    for template, normalize, history in (p for p in parsed if p is not None):
        progress(f"{template}/{normalize}/h{history}")
        cfg = replace(base, template=template, normalize=normalize, history=history)
        policy = build_policy(cfg, lm)
        result = evaluate_policy(policy, cfg, episodes=episodes, seed=seed, num_envs=num_envs)
        tmpl = build_template(cfg, policy, None)
        first = []
        for episode_seed in episode_seeds(seed, min(episodes, 16)):
            env = make_prompt_env(cfg, tmpl)
            first.append(env.reset(seed=episode_seed)[0])
            env.close()
        with torch.no_grad():
            probs = torch.softmax(policy.distribution(first)[0], dim=-1).mean(0)
        rows.append({"policy": f"{template}/{normalize}/h{history}", "success_rate": result.success_rate,
                     "ci_low": result.ci_low, "ci_high": result.ci_high, "mean_length": result.mean_length,
                     "p_first": dict(zip(policy.action_names, (round(p, 3) for p in probs.tolist()), strict=True))})
        on_row(rows[-1])
    if None in parsed:
        rows.append(_uniform_row(base, build_policy(base, lm).action_names, episodes, seed, num_envs))
        on_row(rows[-1])
    summary = {"model": model, "env": f"BabyAIText-GoTo-v0 room_size={room_size} num_dists={num_dists}",
               "episodes": episodes, "seed": seed, "precision": lm.precision, "cpu": _cpu_model(),
               "threads": _threads(), "seconds": time.perf_counter() - start}
    return rows, summary


def _uniform_row(base: GlamConfig, action_names, episodes: int, seed: int, num_envs: int) -> dict[str, Any]:
    from llmrl.eval.glam_eval import evaluate_policy

    uniform = UniformPolicy(action_names)
    result = evaluate_policy(uniform, base, episodes=episodes, seed=seed, num_envs=num_envs)
    return {"policy": "uniform random", "success_rate": result.success_rate, "ci_low": result.ci_low,
            "ci_high": result.ci_high, "mean_length": result.mean_length,
            "p_first": dict.fromkeys(uniform.action_names, round(1 / len(uniform.action_names), 3))}
