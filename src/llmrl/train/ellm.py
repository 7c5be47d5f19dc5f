"""`llmrl train ellm` and `llmrl eval ellm`: ELLM pretraining (or fine-tuning on one task) and its evaluation.

Same conventions as every llmrl trainer: the resolved config in `config.yaml`, one metrics
row per `log_every` frames in `metrics.csv` + TensorBoard (x axis: `frames`), atomic
checkpoints every `checkpoint_every` frames holding the networks, the optimizer, the RNGs,
the replay buffer (safetensors), the intrinsic reward's state and the loop's counters, so
that `--resume` continues exactly where the run stopped. `evaluate_ellm` plays a checkpoint's
Q-network on fresh episodes (`llmrl.eval.goal_play`): no optimizer, no replay.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from llmrl.agents.goal_actor import GoalConditionedActor
from llmrl.agents.goal_dqn import TextEmbeddingTable
from llmrl.eval.goal_play import GoalPlay, episode_metrics, play_episodes, success_by_achievement
from llmrl.eval.plots import plot_bars
from llmrl.intrinsic.base import Embedder, GoalSuggester, IntrinsicReward
from llmrl.runtime.checkpoint import (
    checkpoint_step,
    join_state,
    latest_checkpoint,
    load_checkpoint,
    resolve_checkpoint,
    save_checkpoint,
    split_state,
)
from llmrl.runtime.device import resolve_device
from llmrl.runtime.heap import release_free_memory
from llmrl.runtime.run_dir import RunDir
from llmrl.train.ellm_components import build_embedder, build_intrinsic
from llmrl.train.ellm_config import EllmConfig
from llmrl.train.ellm_loop import EllmLoop, make_crafter_envs, make_goal_net
from llmrl.train.offpolicy_run import run_off_policy

ALGO = "ellm"
# Evaluation episodes get seeds no training episode of the run used (training envs count up from 0).
EVAL_SEED_OFFSET = 1_000_000
TRIM_EVERY = 400  # frames between returns of the heap's free pages to the OS
_STATE = "state"  # the checkpoint "module" that carries the replay buffer and the intrinsic reward's arrays


def _reward_and_table(
    cfg: EllmConfig, embedder: Embedder | None, suggester: GoalSuggester | None, intrinsic: IntrinsicReward | None
) -> tuple[IntrinsicReward, TextEmbeddingTable]:
    """Seed torch (network initialization), then the intrinsic reward and the embedding table of `cfg`."""
    if cfg.torch_threads is not None:
        torch.set_num_threads(cfg.torch_threads)
    torch.manual_seed(cfg.seed)
    embedder = embedder if embedder is not None else build_embedder(cfg)
    intrinsic = intrinsic if intrinsic is not None else build_intrinsic(cfg, embedder, suggester)
    return intrinsic, TextEmbeddingTable(embedder)


def make_loop(
    cfg: EllmConfig,
    *,
    embedder: Embedder | None = None,
    suggester: GoalSuggester | None = None,
    intrinsic: IntrinsicReward | None = None,
) -> EllmLoop:
    """An `EllmLoop` for `cfg`; pass `embedder`/`suggester`/`intrinsic` to use ready-made ones."""
    intrinsic, table = _reward_and_table(cfg, embedder, suggester, intrinsic)
    lr = cfg.finetune_lr if cfg.finetune_from else None
    loop = EllmLoop(cfg, intrinsic, table, lr=lr)
    if cfg.finetune_from:
        # Fine-tuning starts from the pretrained Q-network only: fresh optimizer, replay and schedule.
        load_checkpoint(cfg.finetune_from, modules={"q": loop.net}, rng=False)
        loop.target.load_state_dict(loop.net.state_dict())
    return loop


def train_ellm(
    cfg: EllmConfig,
    *,
    config_path: str | Path | None = None,
    resume: str | Path | None = None,
    embedder: Embedder | None = None,
    suggester: GoalSuggester | None = None,
    intrinsic: IntrinsicReward | None = None,
) -> RunDir:
    """Train until `cfg.total_frames` in a new run directory under cfg.out_dir; return it.

    `resume`: a run directory to continue from its latest checkpoint (its config is
    `cfg`, typically `RunDir.load_config` plus overrides such as a larger total_frames).
    """
    if resume is not None:
        run = RunDir.open(resume)
        checkpoint = latest_checkpoint(run.path)
        if checkpoint is None:
            raise FileNotFoundError(f"{run} has no checkpoint to resume from")
    else:
        run = RunDir.create(cfg.out_dir, ALGO, name=cfg.name, config=cfg, config_path=config_path)
        checkpoint = None
    loop = make_loop(cfg, embedder=embedder, suggester=suggester, intrinsic=intrinsic)
    resume_step = None
    if checkpoint is not None:
        restore(loop, checkpoint)
        resume_step = loop.frames
        loop.last_checkpoint = str(checkpoint)
    next_trim = loop.frames + TRIM_EVERY

    def trim() -> None:
        nonlocal next_trim
        if loop.frames >= next_trim:
            release_free_memory()  # keeps a long run's resident memory flat (llmrl.runtime.heap)
            next_trim = loop.frames + TRIM_EVERY

    run_off_policy(
        run, loop, f"ellm {cfg.intrinsic}", total_frames=cfg.total_frames, log_every=cfg.log_every,
        checkpoint_every=cfg.checkpoint_every, save=lambda: save(run, loop),
        resume_step=resume_step, progress_fields=_progress_fields, on_step=trim, tensorboard=cfg.tensorboard,
    )
    return run


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

    The agent is conditioned on the goals of the run's intrinsic reward, as in training, on
    episodes no training episode used (run seed + EVAL_SEED_OFFSET). Writes
    `<run>/eval/step-<N>.json` and `<run>/eval/step-<N>-success.png` (success rate per
    achievement); returns the JSON's content.
    """
    if not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be a positive int, got {episodes!r}")
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"epsilon must lie in [0, 1], got {epsilon}")
    run = RunDir.open(run_dir)
    path = resolve_checkpoint(checkpoint if checkpoint is not None else run.path)
    cfg = run.load_config(EllmConfig)
    cfg = replace(cfg, seed=cfg.seed + EVAL_SEED_OFFSET)
    intrinsic, table = _reward_and_table(cfg, embedder, suggester, None)
    envs = make_crafter_envs(cfg)
    device = torch.device(resolve_device(cfg.device))
    net = make_goal_net(cfg, len(envs[0].action_names), table).to(device)
    load_checkpoint(path, modules={"q": net}, rng=False)
    net.eval()
    actor = GoalConditionedActor(net, table, np.random.default_rng(cfg.seed), image=cfg.image, device=device)
    played = play_episodes(GoalPlay(envs, actor, intrinsic, seed=cfg.seed, task_goal=cfg.task_goal), episodes,
                           epsilon)
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


def _progress_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    fields = {"eps": row["epsilon"]}
    for key, label in (("achievements_per_episode", "ach/ep"), ("loss", "loss")):
        if key in row:
            fields[label] = row[key]
    return fields


def save(run: RunDir, loop: EllmLoop) -> Path:
    """An atomic checkpoint of everything the run needs to resume exactly."""
    arrays, counters = loop.state()
    intrinsic_tensors, intrinsic_json = split_state(loop.intrinsic.state_dict(), "intrinsic")
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}
    tensors.update(intrinsic_tensors)

    def state_dict_fn(name: str, module: nn.Module) -> Mapping[str, Tensor]:
        return tensors if name == _STATE else module.state_dict()

    return save_checkpoint(
        run, loop.frames,
        modules={"q": loop.net, "target": loop.target, _STATE: nn.Module()},
        optimizers={"q": loop.optimizer},
        extra={"loop": counters, "intrinsic": intrinsic_json},
        keep_last=loop.cfg.keep_checkpoints,
        state_dict_fn=state_dict_fn,
    )


def restore(loop: EllmLoop, checkpoint: str | Path) -> None:
    """Load a checkpoint written by `save` into a freshly built loop of the same config."""
    carried: dict[str, Tensor] = {}

    def load_fn(name: str, module: nn.Module, tensors: dict[str, Tensor]) -> None:
        if name == _STATE:
            carried.update(tensors)
        else:
            module.load_state_dict(tensors)

    extra = load_checkpoint(
        checkpoint, modules={"q": loop.net, "target": loop.target, _STATE: nn.Module()},
        optimizers={"q": loop.optimizer}, load_fn=load_fn,
    )
    arrays = {k: v.numpy() for k, v in carried.items() if not k.startswith("intrinsic.")}
    loop.load_state(arrays, extra["loop"])
    loop.intrinsic.load_state_dict(join_state(extra["intrinsic"], carried))
