"""GLAM training (Carta et al. 2023): an LLM policy fine-tuned with PPO in BabyAI-Text.

`GlamConfig` holds every setting with the paper's values as defaults (Flan-T5 large,
32 envs x 40 steps, 4 epochs, minibatch 64, Adam lr 1e-6, clip 0.2, entropy 0.01, value
coef 0.5, grad norm 0.5, gamma = lambda = 0.99, reward x20, 1.5M frames). `train_glam`
wires config -> policy + envs -> `llmrl.train.ppo_run.run_ppo` (run directory, resume,
`ppo_loop`, metrics, checkpoints), on one process or every rank of a torchrun job.
The pieces (`build_envs`, `build_optimizer`, `cfg.hyperparameters()`, and the LM policy of
`llmrl.train.lm_policies`) are public so that benchmarks assemble the same run differently.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from rich.console import Console

from llmrl.agents.llm_policy import LLMPolicy
from llmrl.envs.text_games.candidate_env import TextGameSettings
from llmrl.eval.glam_eval import EvalResult, evaluate_policy
from llmrl.eval.text_games import evaluate_text_game_policy
from llmrl.runtime.distributed import (
    DEFAULT_TIMEOUT_S,
    DataParallelPolicy,
    World,
    check_same_on_all_ranks,
    init_distributed,
    rank_errors,
    shard_size,
    shutdown,
)
from llmrl.runtime.run_dir import RunDir
from llmrl.runtime.vec_env import SeededVecEnv
from llmrl.train.lm_policies import build_policy, build_prompt_envs, load_policy
from llmrl.train.ppo_loop import RolloutPolicy
from llmrl.train.ppo_run import run_ppo
from llmrl.train.settings import LMPolicySettings, PPOSettings


@dataclass
class GlamConfig(PPOSettings, LMPolicySettings):
    """Every setting of a GLAM run; defaults are the paper's main runs (preset `glam/paper`).

    The run, task, prompt, LM and PPO fields come from the sections of `llmrl.train.settings`;
    `text_game` and `dist_timeout_s` are GLAM's own.
    """

    # A candidate text game (TextWorld, ScienceWorld) in place of BabyAI-Text: each step's candidates
    # are the game's commands; env_id, room_size, num_dists, variant, template and history are then
    # unused (the game's prompt has its own text_game.history).
    text_game: TextGameSettings | None = None

    # Under torchrun: collectives fail after this many seconds (a dead or stuck rank), not never.
    dist_timeout_s: float = DEFAULT_TIMEOUT_S

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.text_game is not None and self.variant is not None:
            raise ValueError("variant renames BabyAI's commands; set variant: null with text_game")
        if not self.dist_timeout_s > 0:
            raise ValueError(f"dist_timeout_s must be > 0, got {self.dist_timeout_s}")


def build_envs(cfg: GlamConfig, policy: LLMPolicy, *, first_index: int = 0) -> SeededVecEnv:
    """cfg.num_envs seeded envs (a distributed rank passes first_index = rank * num_envs).

    cfg.text_game's envs, whose observations are prompts with their own candidates
    (`CandidatePrompt`), or BabyAI-Text envs whose observations are prompts.
    """
    if cfg.text_game is not None:
        text_game = cfg.text_game
        return SeededVecEnv(lambda _: text_game.make_env(), cfg.num_envs, cfg.seed, first_index=first_index)
    return build_prompt_envs(cfg, policy, cfg.num_envs, first_index=first_index)


def build_optimizer(cfg: GlamConfig, policy: LLMPolicy) -> torch.optim.Adam:
    """Adam over the trainable parameters (LoRA adapters or the whole LM, and the value head)."""
    params = list(policy.trainable_parameters())
    # The fused kernel updates every tensor in one pass instead of a dozen ops per tensor: about
    # 8% of a full SmolLM2 update on CPU. It exists for CPU and CUDA tensors only. Its in-place
    # updates leave the parameters' version counters alone: the LM's caches follow its steps.
    fused = all(p.device.type in ("cpu", "cuda") for p in params)
    optimizer = torch.optim.Adam(params, lr=cfg.lr, betas=cfg.adam_betas, eps=cfg.adam_eps, fused=fused)
    policy.lm.follow_optimizer(optimizer)
    return optimizer


def shard_config(cfg: GlamConfig, world: World) -> GlamConfig:
    """This rank's part of `cfg`: num_envs and minibatch_size are global counts split over the ranks.

    Each rank steps num_envs / W envs and updates on minibatches of minibatch_size / W of its
    own samples; DDP's gradient average then equals the gradient of the global minibatch
    (see `llmrl.runtime.distributed`). The device is the rank's own (cuda:LOCAL_RANK or cpu).
    """
    if not world.is_distributed:
        return cfg
    return replace(cfg, num_envs=shard_size(cfg.num_envs, world, "num_envs"),
                   minibatch_size=shard_size(cfg.minibatch_size, world, "minibatch_size"), device=str(world.device))


def data_parallel(policy: LLMPolicy, local: GlamConfig, world: World) -> RolloutPolicy:
    """The policy the PPO loop drives: `policy` itself, or its DDP wrapper in a distributed run."""
    if not world.is_distributed:
        return policy
    return DataParallelPolicy(policy, world, batch_size=local.frames_per_update, minibatch_size=local.minibatch_size)


def evaluate_run(run_dir: str | Path, *, episodes: int, seed: int = 0, overrides: Sequence[str] = (),
                 num_envs: int = 16) -> EvalResult:
    """Success rate of a GLAM run's latest checkpoint on seeded episodes, actions sampled (`llmrl eval run`)."""
    cfg = RunDir.open(run_dir).load_config(GlamConfig, list(overrides))
    return evaluate_checkpoint(cfg, run_dir, episodes=episodes, seed=seed, num_envs=num_envs)


def evaluate_checkpoint(cfg: GlamConfig, path: str | Path, *, episodes: int, seed: int, num_envs: int) -> EvalResult:
    """The LLM policy of `cfg` with the checkpoint at `path` (a run or step directory), evaluated."""
    return evaluate_glam_policy(load_policy(cfg, path), cfg, episodes=episodes, seed=seed, num_envs=num_envs)


def evaluate_glam_policy(policy: LLMPolicy, cfg: GlamConfig, *, episodes: int, seed: int = 0, num_envs: int = 16,
                         variant: str | None = None) -> EvalResult:
    """`policy` on the envs of `cfg`: its text game if it names one, else BabyAI-Text (in `variant`)."""
    if cfg.text_game is None:
        return evaluate_policy(policy, cfg, episodes=episodes, seed=seed, variant=variant, num_envs=num_envs)
    if variant is not None:
        raise ValueError(f"variant {variant!r} is a BabyAI-Text variant; this config plays {cfg.text_game.env}")
    return evaluate_text_game_policy(policy, cfg.text_game, episodes=episodes, seed=seed, num_envs=num_envs)


def train_glam(
    cfg: GlamConfig,
    *,
    config_path: str | Path | None = None,
    resume: str | Path | None = None,
    console: Console | None = None,
    log_every_s: float = 30.0,
) -> RunDir | None:
    """Train GLAM as `cfg` says, in a new run directory or continuing `resume` exactly; return the run.

    A resumed run restores weights, optimizer, RNG states and the envs (each episode is
    replayed from its seed), so it ends with the same parameters as an uninterrupted run.
    Off a terminal, a progress line is printed at most every `log_every_s` seconds (0: every update).

    Under torchrun every rank runs this (`llmrl.runtime.distributed`): each steps its share of
    the envs with its own model replica, DDP averages the gradients, and rank 0 alone logs and
    checkpoints. Rank 0 returns the run, the other ranks None.
    """
    world = init_distributed(cfg.device, timeout_s=cfg.dist_timeout_s)
    with rank_errors(world):
        run = _train_glam(cfg, world, config_path, resume, console or Console(), log_every_s)
    shutdown(world)
    return run


def _train_glam(cfg: GlamConfig, world: World, config_path: str | Path | None, resume: str | Path | None,
                console: Console, log_every_s: float) -> RunDir | None:
    local = shard_config(cfg, world)
    check_same_on_all_ranks(json.dumps(asdict(cfg), sort_keys=True, default=str), world, "config")

    def build() -> tuple[LLMPolicy, SeededVecEnv]:
        start = time.perf_counter()
        with console.status(f"loading {cfg.model} (an embedded model is converted once, ~20 s, then cached)") \
                if world.is_main else nullcontext():
            policy = build_policy(local)
        if world.is_main:
            trainable = sum(p.numel() for p in policy.trainable_parameters())
            console.log(f"{policy.lm!r} ready in {time.perf_counter() - start:.1f} s; {trainable:,} trainable "
                        "parameters" + (f"; {world.world_size} ranks" if world.is_distributed else ""))
        return policy, build_envs(local, policy, first_index=world.rank * local.num_envs)

    return run_ppo(
        "glam", cfg, build, config_path=config_path, resume=resume, console=console, log_every_s=log_every_s,
        world=world, hyperparameters=local.hyperparameters(),
        make_optimizer=lambda policy: build_optimizer(local, policy),
        wrap=lambda policy: data_parallel(policy, local, world),
        state_dict_fn=lambda _, module: module.checkpoint_state(),
        load_fn=lambda _, module, state: module.load_checkpoint_state(state),
    )
