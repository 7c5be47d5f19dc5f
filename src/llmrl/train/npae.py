"""NPAE training: GLAM's setting with a randomly initialized LLM body and MLP action heads.

`NPAEConfig` is `GlamConfig` (same env, prompt, model choice and PPO settings) plus the
heads' width: the run differs from GLAM only in the policy, which is the point of the
baseline (in BabyAI-Text: the action head has one output per command, so no `text_game`).
The model's *architecture* comes from `model` (a tiny-* model is random anyway; an HF model
or the embedded SmolLM2 is loaded once for its config and tokenizer, then re-initialized
from cfg.seed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from rich.console import Console

from llmrl.agents.npae import NPAEPolicy, randomly_initialized
from llmrl.envs.babyai_text import variant_action_names
from llmrl.eval.glam_eval import EvalResult, evaluate_policy
from llmrl.runtime.checkpoint import load_run_module
from llmrl.runtime.run_dir import RunDir
from llmrl.runtime.vec_env import SeededVecEnv
from llmrl.train.glam import GlamConfig
from llmrl.train.lm_policies import build_lm, build_prompt_envs
from llmrl.train.ppo_run import run_ppo
from llmrl.train.settings import TINY_PREFIX


@dataclass
class NPAEConfig(GlamConfig):
    """GlamConfig plus `head_inner`, the width of the action and value MLP heads (preset `npae/paper`)."""

    head_inner: int = 1024

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.lora:
            raise ValueError("lora must be false for NPAE: a randomly initialized body is trained whole")
        if self.text_game is not None:
            raise ValueError("text_game must be null for NPAE: its action head scores BabyAI's six commands, "
                             "not a game's candidates")
        if self.head_inner < 1:
            raise ValueError(f"head_inner must be >= 1, got {self.head_inner}")


def build_npae_policy(cfg: NPAEConfig) -> NPAEPolicy:
    """An NPAE policy: the architecture of cfg.model with weights drawn from cfg.seed, and seeded heads."""
    lm = build_lm(cfg)
    if not cfg.model.startswith(TINY_PREFIX):
        lm = randomly_initialized(lm, cfg.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return NPAEPolicy(lm, variant_action_names(cfg.variant), inner=cfg.head_inner)


def train_npae(
    cfg: NPAEConfig,
    *,
    config_path: str | Path | None = None,
    resume: str | Path | None = None,
    console: Console | None = None,
) -> RunDir:
    """Train NPAE as `cfg` says (or continue `resume`) with the shared PPO loop; return the run directory."""

    def build() -> tuple[NPAEPolicy, SeededVecEnv]:
        policy = build_npae_policy(cfg)
        return policy, build_prompt_envs(cfg, policy, cfg.num_envs)

    return run_ppo("npae", cfg, build, config_path=config_path, resume=resume, console=console)


def evaluate_run(run_dir: str | Path, *, episodes: int, seed: int = 0, overrides: Sequence[str] = (),
                 num_envs: int = 16) -> EvalResult:
    """Success rate of an NPAE run's latest checkpoint (`llmrl eval run`)."""
    cfg, policy = load_run_module(run_dir, NPAEConfig, build_npae_policy, overrides=overrides)
    return evaluate_policy(policy, cfg, episodes=episodes, seed=seed, num_envs=num_envs)
