"""Symbolic PPO (GLAM's grid baseline): the shared PPO loop on minigrid's 7x7x3 view + the mission.

`SymbolicPPOConfig` defaults are the GLAM paper's baseline settings (64 envs x 40 steps,
Adam lr 1e-4) with the GLAM runs' PPO constants otherwise, so that only the observation
and the network differ from GLAM. The run itself is `llmrl.train.ppo_run.run_ppo`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from llmrl.agents.symbolic import SymbolicPolicy
from llmrl.envs.babyai_text import GLAM_IDS, make_level
from llmrl.eval.episodes import EvalResult, evaluate
from llmrl.runtime.checkpoint import load_run_module
from llmrl.runtime.device import resolve_device
from llmrl.runtime.run_dir import RunDir
from llmrl.runtime.vec_env import SeededVecEnv
from llmrl.train.ppo_run import run_ppo
from llmrl.train.settings import BabyAISettings, PPOSettings, RunSettings, check_at_least_one


@dataclass
class SymbolicPPOConfig(PPOSettings, BabyAISettings, RunSettings):
    """Every setting of a symbolic PPO run; defaults follow the GLAM paper's baseline.

    The run, task and PPO fields come from the sections of `llmrl.train.settings`; the
    baseline's paper setting (preset `symbolic-ppo/paper`) changes four of their defaults.
    """

    num_envs: int = 64
    minibatch_size: int = 256
    lr: float = 1e-4
    normalize_advantages: bool = True

    # Network.
    channels: int = 64
    mission_hidden: int = 128

    def __post_init__(self) -> None:
        super().__post_init__()
        check_at_least_one(self, ("channels", "mission_hidden"))


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

    return run_ppo("symbolic-ppo", cfg, build, config_path=config_path, resume=resume, console=console)


def evaluate_symbolic(policy: SymbolicPolicy, cfg: SymbolicPPOConfig, *, episodes: int, seed: int = 0,
                      num_envs: int = 16) -> EvalResult:
    """Success rate (99% Wilson CI), mean return and length over `episodes` seeded episodes, actions sampled.

    The protocol of every method (`llmrl.eval.episodes.evaluate`) on the symbolic observation.
    """
    return evaluate(policy, lambda: make_symbolic_env(cfg), episodes, seed, num_envs=num_envs, env_id=cfg.env_id)


def evaluate_run(run_dir: str | Path, *, episodes: int, seed: int = 0, overrides: Sequence[str] = (),
                 num_envs: int = 16) -> EvalResult:
    """Success rate of a symbolic PPO run's latest checkpoint (`llmrl eval run`)."""
    cfg, policy = load_run_module(run_dir, SymbolicPPOConfig, build_symbolic_policy, overrides=overrides)
    return evaluate_symbolic(policy, cfg, episodes=episodes, seed=seed, num_envs=num_envs)
