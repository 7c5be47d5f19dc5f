"""Symbolic PPO (GLAM's grid baseline): the shared PPO loop on minigrid's 7x7x3 view + the mission.

`SymbolicPPOConfig` defaults are the GLAM paper's baseline settings (64 envs x 40 steps,
Adam lr 1e-4) with the GLAM runs' PPO constants otherwise, so that only the observation
and the network differ from GLAM. `train_with_ppo` is the run wiring (run directory,
resume, checkpoints, NaN guard, metrics, progress) of every PPO trainer of the baselines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from rich.console import Console
from torch import nn

from llmrl.agents.symbolic import SymbolicPolicy
from llmrl.envs.babyai_text import GLAM_IDS, make_level
from llmrl.eval.episodes import EvalResult, evaluate
from llmrl.train.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from llmrl.train.guard import check_finite
from llmrl.train.metrics import MetricsLogger
from llmrl.train.ppo_loop import ppo_loop
from llmrl.train.ppo_settings import PPOSettings
from llmrl.train.progress import TrainingProgress
from llmrl.train.run_dir import RunDir
from llmrl.train.runtime import resolve_device, seed_everything
from llmrl.train.vec_env import SeededVecEnv


@dataclass
class SymbolicPPOConfig(PPOSettings):
    """Every setting of a symbolic PPO run; defaults follow the GLAM paper's baseline.

    The run, task, PPO and run-directory fields come from `PPOSettings`; the baseline's paper
    setting (`configs/symbolic-ppo/paper.yaml`) changes four of their defaults.
    """

    num_envs: int = 64
    minibatch_size: int = 256
    lr: float = 1e-4
    normalize_advantages: bool = True

    # Network.
    channels: int = 64
    mission_hidden: int = 128
    device: str = "cpu"  # a small CNN: the CPU is usually the fastest place for it

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("channels", "mission_hidden"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


def make_symbolic_env(cfg: SymbolicPPOConfig) -> Any:
    """The bare minigrid level of `cfg`: observations {"image": [7, 7, 3], "direction", "mission"}."""
    kwargs = {"room_size": cfg.room_size, "num_dists": cfg.num_dists} if cfg.env_id in GLAM_IDS else {}
    return make_level(cfg.env_id, **kwargs)


def build_symbolic_policy(cfg: SymbolicPPOConfig) -> SymbolicPolicy:
    """The FiLM-CNN policy of `cfg`, initialized from cfg.seed."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        policy = SymbolicPolicy(channels=cfg.channels, mission_hidden=cfg.mission_hidden)
    return policy.to(resolve_device(cfg.device))


class PPORunSettings(Protocol):
    """The run settings `train_with_ppo` reads (GlamConfig and SymbolicPPOConfig have them)."""

    seed: int
    out_dir: str
    name: str | None
    checkpoint_every: int
    keep_checkpoints: int
    tensorboard: bool
    lr: float
    adam_betas: tuple[float, float]
    adam_eps: float

    @property
    def num_updates(self) -> int: ...

    @property
    def frames_per_update(self) -> int: ...


def train_with_ppo(
    algo: str,
    cfg: PPORunSettings,
    build: Callable[[], tuple[nn.Module, SeededVecEnv]],
    *,
    config_path: str | Path | None = None,
    resume: str | Path | None = None,
    console: Console | None = None,
) -> RunDir:
    """Train the policy that `build()` returns (with its envs) by `ppo_loop` in a run directory of `algo`.

    Adam over the policy's trainable parameters; checkpoints every cfg.checkpoint_every
    updates hold weights, optimizer, RNG states and the envs' state, so `resume` continues
    exactly. A non-finite loss or gradient norm stops the run before it reaches the weights.
    """
    run = RunDir.open(resume) if resume is not None else RunDir.create(cfg.out_dir, algo, cfg.name, cfg, config_path)
    seed_everything(cfg.seed)
    policy, envs = build()
    optimizer = torch.optim.Adam(policy.trainable_parameters(), lr=cfg.lr, betas=cfg.adam_betas, eps=cfg.adam_eps)
    start_update, start_frames = 0, 0
    checkpoint = latest_checkpoint(run.path) if resume is not None else None
    if checkpoint is not None:
        extra = load_checkpoint(checkpoint, modules={"policy": policy}, optimizers={"adam": optimizer}, rng=True)
        envs.restore(extra["envs"])
        start_update, start_frames = extra["update"], extra["frames"]
    logger = MetricsLogger(run, resume_step=start_frames if resume is not None else None, tensorboard=cfg.tensorboard)
    total = cfg.num_updates * cfg.frames_per_update

    def guard(grad_norm: float) -> bool:
        # Raise before the step: the weights never see a NaN and the last checkpoint stays good.
        check_finite("gradient norm", grad_norm, checkpoint=checkpoint)
        return True

    with logger, TrainingProgress(total, algo, initial_frames=start_frames, console=console) as progress:

        def on_update(update: int, metrics: dict[str, float]) -> None:
            nonlocal checkpoint
            check_finite("losses", {k: metrics[k] for k in ("policy_loss", "value_loss", "entropy")},
                         step=update + 1, checkpoint=checkpoint)
            frames = int(metrics["frames"])
            logger.log(frames, metrics)
            progress.update(frames, success=metrics["success_rate"], ret=metrics["return"])
            if (update + 1) % cfg.checkpoint_every == 0 or update + 1 == cfg.num_updates:
                checkpoint = save_checkpoint(
                    run, update + 1, modules={"policy": policy}, optimizers={"adam": optimizer},
                    extra={"update": update + 1, "frames": frames, "envs": envs.state()},
                    keep_last=cfg.keep_checkpoints,
                )

        ppo_loop(policy, envs, optimizer, cfg.hyperparameters(), seed=cfg.seed, num_updates=cfg.num_updates,
                 start_update=start_update, on_update=on_update, before_step=guard)
    envs.close()
    return run


def train_symbolic_ppo(
    cfg: SymbolicPPOConfig,
    *,
    config_path: str | Path | None = None,
    resume: str | Path | None = None,
    console: Console | None = None,
) -> RunDir:
    """Train symbolic PPO as `cfg` says (or continue `resume`); return the run directory."""

    def build() -> tuple[SymbolicPolicy, SeededVecEnv]:
        return build_symbolic_policy(cfg), SeededVecEnv(lambda _: make_symbolic_env(cfg), cfg.num_envs, cfg.seed)

    return train_with_ppo("symbolic-ppo", cfg, build, config_path=config_path, resume=resume, console=console)


def evaluate_symbolic(policy: SymbolicPolicy, cfg: SymbolicPPOConfig, *, episodes: int, seed: int = 0,
                      num_envs: int = 16) -> EvalResult:
    """Success rate (99% Wilson CI), mean return and length over `episodes` seeded episodes, actions sampled.

    The protocol of every method (`llmrl.eval.episodes.evaluate`) on the symbolic observation.
    """
    return evaluate(policy, lambda: make_symbolic_env(cfg), episodes, seed, num_envs=num_envs, env_id=cfg.env_id)


def evaluate_run(run_dir: str | Path, *, episodes: int, seed: int = 0, overrides: Sequence[str] = (),
                 num_envs: int = 16) -> EvalResult:
    """Success rate of a symbolic PPO run's latest checkpoint (`llmrl eval run`)."""
    cfg = RunDir.open(run_dir).load_config(SymbolicPPOConfig, list(overrides))
    policy = build_symbolic_policy(cfg)
    load_checkpoint(run_dir, modules={"policy": policy}, rng=False)
    return evaluate_symbolic(policy, cfg, episodes=episodes, seed=seed, num_envs=num_envs)
