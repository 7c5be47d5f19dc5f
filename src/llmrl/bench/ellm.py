"""`llmrl bench ellm`: environment steps per second of the whole ELLM loop, cold and warm.

One step of the loop is everything training does per env step: Crafter, the captions, the
goal suggestions (LLM), the similarity reward (sentence embeddings), the replay and a DQN
update (batch 64) every 4 steps. The same seeded steps are played first with empty LLM and
embedding caches (cold), then again with the caches the first pass filled (warm), as a long
run is after its first few thousand steps. A warm pass lasts seconds, and on a shared machine
one varies by up to 45%, so `warm_repeats` of them are played and their median is reported.

Settings timed, and why (measured on the project's 2-core AMD EPYC):
- the paper's network (384 -> 512 projections, 1024 -> 512 fusion, linear dueling streams;
  `dueling_hidden=512` times the CPU experiment's deeper streams) and DQN (batch 64, an update
  every 4 env steps);
- `precision="bf16"`: the update's matmuls in bf16 autocast, 1.3-1.4x faster than fp32 here
  (AVX512-BF16); `threads=2`, the machine's two cores: the cold pass (LLM scoring) ran 1.4-1.7x
  faster than with one thread, the warm pass within the run-to-run noise of one thread's
  (a quiet machine; on cores busy with other jobs, two threads made one update 5-10x slower);
- stock Crafter episodes (`length=10000`): a Crafter reset generates the world in Python
  (0.2-0.5 s), so the paper's 400-step episodes would add up to 1 ms per step; a random agent
  still dies every ~150-300 steps, so resets are timed, as in training;
- the closed-form suggester on the embedded SmolLM2 with `top_k=3` in bfloat16 (the CPU
  presets' settings).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from llmrl.algos.dqn import DQNConfig
from llmrl.intrinsic.base import Embedder, GoalSuggester
from llmrl.train.ellm import make_loop
from llmrl.train.ellm_components import NEEDS_SUGGESTER, build_suggester
from llmrl.train.ellm_config import CrafterEnvConfig, EllmConfig, SuggesterConfig


def bench_config(
    intrinsic: str,
    num_envs: int,
    seed: int,
    cache_path: Path,
    model: str,
    *,
    length: int = 10_000,
    precision: str = "bf16",
    top_k: int | None = 3,
    suggester_dtype: str | None = "bfloat16",
    train_every: int = 4,
    dueling_hidden: int = 0,
    device: str = "cpu",
) -> EllmConfig:
    """The training settings the bench times: the paper's DQN, updating from the 256th frame.

    `train_every` (env steps per DQN update) is the paper's 4 unless asked otherwise: a larger
    value shows what a run with fewer updates per step would gain. `dueling_hidden=512` times
    the network of the README's CPU experiment instead of the default one.
    """
    return EllmConfig(
        seed=seed, total_frames=10**9, intrinsic=intrinsic, env=CrafterEnvConfig(num_envs=num_envs, length=length),
        dueling_hidden=dueling_hidden, device=device,
        dqn=DQNConfig(learning_starts=256, precision=precision, train_every=train_every),
        suggester=SuggesterConfig(model=model, cache_path=str(cache_path), top_k=top_k, dtype=suggester_dtype),
    )


def check_device(device: str) -> None:
    """Reject a torch device this machine cannot use, before any model is loaded."""
    try:
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError) as error:  # a malformed name, or no such accelerator here
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        reason = reason if len(reason) <= 160 else reason[:157] + "..."
        raise ValueError(f"device {device!r} is not usable here ({reason}); accepted: cpu, or cuda / cuda:N "
                         "where torch sees a GPU") from None


def _timed_pass(cfg: EllmConfig, steps: int, embedder: Embedder, suggester: GoalSuggester | None) -> dict[str, Any]:
    loop = make_loop(cfg, embedder=embedder, suggester=suggester)
    # Fill the replay up to learning_starts before timing, so every timed pass includes updates.
    while loop.frames < cfg.dqn.learning_starts:
        loop.step()
    start_frames, start_updates, start_update_seconds = loop.frames, loop.updates, loop.update_seconds
    before = loop.intrinsic.stats()
    start = time.perf_counter()
    while loop.frames - start_frames < steps:
        loop.step()
    elapsed = time.perf_counter() - start
    after = loop.intrinsic.stats()
    frames, updates = loop.frames - start_frames, loop.updates - start_updates
    update_seconds = loop.update_seconds - start_update_seconds
    calls = after.get("suggester/llm_calls", 0.0) - before.get("suggester/llm_calls", 0.0)
    prompts = after.get("suggester/llm_prompts", 0.0) - before.get("suggester/llm_prompts", 0.0)
    return {
        "steps": frames, "seconds": elapsed, "steps_per_s": frames / elapsed,
        "dqn_updates": updates, "update_ms": 1000 * update_seconds / max(updates, 1),
        # Everything but the updates: Crafter, captions, goals, rewards, acting, the replay.
        "other_ms_per_step": 1000 * (elapsed - update_seconds) / frames,
        "llm_calls_per_1k_steps": 1000 * calls / frames, "llm_prompts_per_1k_steps": 1000 * prompts / frames,
    }


def bench_ellm(
    steps: int = 2000,
    *,
    intrinsic: str = "ellm",
    model: str = "smollm2-135m",
    num_envs: int = 4,
    seed: int = 0,
    threads: int = 2,
    length: int = 10_000,
    precision: str = "bf16",
    suggester_dtype: str | None = "bfloat16",
    train_every: int = 4,
    dueling_hidden: int = 0,
    device: str = "cpu",
    warm_repeats: int = 3,
    embedder: Embedder | None = None,
    suggester: GoalSuggester | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Time `steps` env steps of the ELLM loop with cold caches, then the same steps warm, `warm_repeats` times.

    Returns (rows, summary); summary keys: steps_per_s_warm (median of the warm passes),
    steps_per_s_warm_runs, steps_per_s_cold, llm_calls_per_1k_steps (cold pass: batched LLM
    calls per 1000 env steps), update_ms_warm and other_ms_per_step_warm (medians of the warm
    passes' mean DQN update time and of the rest of a step's time).
    """
    if min(steps, num_envs, threads, length, warm_repeats) < 1:
        raise ValueError(
            f"steps, num_envs, threads, length and warm_repeats must be >= 1, got {steps}, {num_envs}, {threads}, "
            f"{length}, {warm_repeats}"
        )
    check_device(device)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with tempfile.TemporaryDirectory(prefix="llmrl-bench-ellm-") as tmp:
            cfg = bench_config(intrinsic, num_envs, seed, Path(tmp) / "goals.sqlite", model, length=length,
                               precision=precision, suggester_dtype=suggester_dtype, train_every=train_every,
                               dueling_hidden=dueling_hidden, device=device)
            if embedder is None:
                from llmrl.lm.embeddings import load_embedder

                progress("loading the sentence embedder")
                # No persistent cache: the cold pass starts empty.
                embedder = load_embedder(cfg.embedder, device=cfg.device)
            if suggester is None and intrinsic in NEEDS_SUGGESTER:
                progress(f"loading the goal suggester ({cfg.suggester.form}, {model})")
                suggester = build_suggester(cfg.suggester, cfg.device)
            progress(f"cold pass: {steps} steps")
            rows = [{"cache": "cold", "run": 1, **_timed_pass(cfg, steps, embedder, suggester)}]
            for run in range(1, warm_repeats + 1):
                progress(f"warm pass {run}/{warm_repeats}: {steps} steps")
                rows.append({"cache": "warm", "run": run, **_timed_pass(cfg, steps, embedder, suggester)})
    finally:
        torch.set_num_threads(previous_threads)  # leave the caller's process as it was
    cold, warm_rows = rows[0], rows[1:]
    warm = [row["steps_per_s"] for row in warm_rows]
    summary = {
        "steps_per_s_warm": statistics.median(warm), "steps_per_s_warm_runs": warm,
        # Where a warm step's time goes: steps/s = 1000 / (other_ms_per_step + update_ms / train_every).
        "update_ms_warm": statistics.median([row["update_ms"] for row in warm_rows]),
        "other_ms_per_step_warm": statistics.median([row["other_ms_per_step"] for row in warm_rows]),
        "steps_per_s_cold": cold["steps_per_s"],
        "llm_calls_per_1k_steps": cold["llm_calls_per_1k_steps"],
        "llm_prompts_per_1k_steps": cold["llm_prompts_per_1k_steps"],
        "intrinsic": intrinsic, "num_envs": num_envs, "threads": threads, "episode_length": length,
        "suggester_dtype": suggester_dtype, "dueling_hidden": dueling_hidden,
        "device": device,
        "dqn": {k: getattr(cfg.dqn, k) for k in ("batch_size", "train_every", "precision")},
    }
    return rows, summary
