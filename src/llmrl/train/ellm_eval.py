"""`llmrl eval ellm`: play a trained ELLM agent on fresh episodes; achievements, Crafter score, bars."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from llmrl.eval.plots import plot_bars
from llmrl.intrinsic.base import Embedder, GoalSuggester
from llmrl.train.checkpoint import checkpoint_step, load_checkpoint, resolve_checkpoint
from llmrl.train.ellm import make_loop
from llmrl.train.ellm_config import EllmConfig
from llmrl.train.ellm_loop import episode_metrics, success_by_achievement
from llmrl.train.run_dir import RunDir

# Evaluation episodes get seeds no training episode of the run used (training envs count up from 0).
EVAL_SEED_OFFSET = 1_000_000


def evaluate_ellm(
    run_dir: str | Path,
    episodes: int = 20,
    *,
    epsilon: float = 0.0,
    checkpoint: str | Path | None = None,
    embedder: Embedder | None = None,
    suggester: GoalSuggester | None = None,
) -> dict[str, Any]:
    """Play `episodes` episodes with the run's Q-network (epsilon-greedy, no learning).

    The agent is conditioned on the goals of the run's intrinsic reward, as in training.
    Writes `<run>/eval/step-<N>.json` and `<run>/eval/step-<N>-success.png` (success rate per
    achievement); returns the JSON's content.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"epsilon must lie in [0, 1], got {epsilon}")
    run = RunDir.open(run_dir)
    path = resolve_checkpoint(checkpoint if checkpoint is not None else run.path)
    cfg = run.load_config(EllmConfig)
    # No replay is needed, and the finetune source is already in the weights loaded below.
    cfg = dataclasses.replace(
        cfg, seed=cfg.seed + EVAL_SEED_OFFSET, finetune_from=None,
        dqn=dataclasses.replace(cfg.dqn, buffer_size=1),
    )
    loop = make_loop(cfg, embedder=embedder, suggester=suggester)
    load_checkpoint(path, modules={"q": loop.net}, rng=False)
    loop.net.eval()
    while loop.episodes < episodes:
        loop.step(learn=False, epsilon=epsilon)
    played = list(loop.finished)[:episodes]
    step = checkpoint_step(path)
    result = {
        "run": str(run.path), "checkpoint": str(path), "step": step, "episodes": len(played),
        "epsilon": epsilon, **episode_metrics(played), "success_rates": success_by_achievement(played),
    }
    out = run.path / "eval"
    out.mkdir(exist_ok=True)
    (out / f"step-{step}.json").write_text(json.dumps(result, indent=2) + "\n")
    result["plot"] = str(plot_bars(
        result["success_rates"], out / f"step-{step}-success.png",
        f"ELLM ({cfg.intrinsic}) success per achievement, {len(played)} episodes", ylabel="success rate (%)",
    ))
    return result
