"""DRRN training (He et al. 2016), GLAM's text Q-learning baseline, in one readable loop.

Every vectorized step:

    a_t ~ softmax(Q(s_t, .) / temperature)                   # softmax exploration over the command texts
    replay <- (s_t, a_t, 20 * r_t, s_{t+1}, terminated)      # truncation bootstraps from the final observation
    every `train_every` frames, once `learning_starts` frames are in:
        y = R + gamma^k * (1 - done) * Q_target(s', argmax_a Q(s', a))   # llmrl.algos.dqn (double DQN;
                                                                          # n_step returns, 1 by default)
        minimize Huber(Q(s, a) - y) on a batch of 64
    every `target_update_every` frames: Q_target <- Q

The state text is the GLAM prompt (goal + recent observations and actions), so DRRN reads
exactly what the LLM policy reads. Reference settings: GRU encoders of 128, lr 1e-4,
gamma 0.9, batch 64. One atomic checkpoint holds both networks, the optimizer, the RNG states,
the envs and the replay buffer (`replay.safetensors`), so a resumed run continues exactly, and
a run killed at any moment leaves a checkpoint that resumes.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from rich.console import Console

from llmrl.agents.drrn import DRRN
from llmrl.agents.prompt import GlamTemplate, PromptObservation
from llmrl.algos.dqn import DQNSettings, copy_params, dqn_update
from llmrl.algos.replay import NStepReplayBuffer
from llmrl.envs.babyai_text import variant_action_names, variant_prompt_headers
from llmrl.eval.glam_eval import EvalResult, evaluate_policy, make_prompt_env
from llmrl.runtime.checkpoint import latest_checkpoint, load_arrays, load_checkpoint, load_run_module, save_checkpoint
from llmrl.runtime.device import resolve_device
from llmrl.runtime.guard import check_finite
from llmrl.runtime.run_dir import RunDir
from llmrl.runtime.seeding import seed_everything, update_generator
from llmrl.runtime.vec_env import SeededVecEnv
from llmrl.train.offpolicy_run import run_off_policy
from llmrl.train.settings import BabyAITextSettings, RunSettings, check_at_least_one

REPLAY = "replay"  # the checkpoint's arrays group (replay.safetensors)


@dataclass
class DRRNConfig(BabyAITextSettings, RunSettings, DQNSettings):
    """Every setting of a DRRN run; defaults are the GLAM paper's DRRN settings (preset `drrn/paper`).

    The run, task, prompt and DQN fields come from `llmrl.train.settings` and
    `llmrl.algos.dqn.DQNSettings` (re-declared below where DRRN's setting differs); the state
    text is the GLAM prompt with `history` observations (template: glam).
    """

    total_frames: int = 1_500_000
    num_envs: int = 32

    # Network.
    hidden: int = 128
    max_words: int = 128  # longer prompts keep their last words

    # Q-learning.
    lr: float = 1e-4
    gamma: float = 0.9
    n_step: int = 1
    buffer_size: int = 100_000
    learning_starts: int = 1_000
    train_every: int = 32  # one update per step of the 32 envs
    target_update_every: int = 1_000
    temperature: float = 1.0  # softmax exploration while training
    # Evaluation samples softmax(Q / eval_temperature) (0: greedy). Q is in units of the scaled
    # reward (x20), so at temperature 1 a trained DRRN still takes near-uniform actions where the
    # Q-values of its actions differ by less than a unit; a low temperature evaluates what it learned.
    eval_temperature: float = 1.0
    reward_scale: float = 20.0
    log_every: int = 1_024  # frames between metrics rows

    # Keys of configs saved before train_every counted frames: loading one says how to convert it.
    RETIRED_KEYS: ClassVar[dict[str, str]] = {
        "updates_per_train": "train_every now counts frames between updates; in this run's config.yaml set "
                             "train_every to train_every * num_envs / updates_per_train and delete updates_per_train",
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        check_at_least_one(self, ("total_frames", "num_envs", "hidden", "max_words", "log_every"))
        if self.template != "glam":
            raise ValueError(f"template must be 'glam' for DRRN (a chat template needs an LM), got {self.template!r}")
        if min(self.temperature, self.eval_temperature) < 0 or self.reward_scale <= 0:
            raise ValueError("need temperature and eval_temperature >= 0 and reward_scale > 0, got "
                             f"temperature={self.temperature}, eval_temperature={self.eval_temperature}, "
                             f"reward_scale={self.reward_scale}")

    @property
    def num_steps(self) -> int:
        """Vectorized steps needed to reach total_frames."""
        return max(1, -(-self.total_frames // self.num_envs))


def make_drrn_env(cfg: DRRNConfig) -> PromptObservation:
    """One env of `cfg` whose observation is the GLAM prompt (DRRN's state text)."""
    return make_prompt_env(cfg, GlamTemplate(variant_prompt_headers(cfg.variant)), cfg.variant)


def build_drrn(cfg: DRRNConfig) -> DRRN:
    """The DRRN network of `cfg`, initialized from cfg.seed; its `act` samples at cfg.eval_temperature."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        net = DRRN(variant_action_names(cfg.variant), hidden=cfg.hidden, max_words=cfg.max_words,
                   temperature=cfg.eval_temperature)
    return net.to(resolve_device(cfg.device))


def evaluate_run(run_dir: str | Path, *, episodes: int, seed: int = 0, overrides: Sequence[str] = (),
                 num_envs: int = 16) -> EvalResult:
    """Success rate of a DRRN run's latest checkpoint in the English GLAM prompt env (`llmrl eval run`)."""
    cfg, net = load_run_module(run_dir, DRRNConfig, build_drrn, overrides=overrides, name="q")
    return evaluate_policy(net, cfg, episodes=episodes, seed=seed, num_envs=num_envs)


class DRRNLoop:
    """Envs, networks, optimizer and replay of one DRRN run, advanced by `step()` (module doc)."""

    def __init__(self, cfg: DRRNConfig) -> None:
        self.cfg = cfg
        self.device = resolve_device(cfg.device)
        self.net = build_drrn(cfg)
        self.target = copy.deepcopy(self.net).requires_grad_(False)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=cfg.lr)
        self.envs = SeededVecEnv(lambda _: make_drrn_env(cfg), cfg.num_envs, cfg.seed)
        self.replay = NStepReplayBuffer(cfg.buffer_size, {"state": ((cfg.max_words,), np.int64)}, cfg.n_step,
                                        cfg.gamma, cfg.num_envs)
        self.steps = 0  # vectorized steps so far
        self.target_every = max(1, cfg.target_update_every // cfg.num_envs)
        self.last_checkpoint: str | None = None
        self._episodes: list[dict[str, float]] = []
        self._losses: list[dict[str, float]] = []
        self._window = (time.perf_counter(), 0)  # (start time, start frames) of the metrics interval

    @property
    def frames(self) -> int:
        return self.steps * self.cfg.num_envs

    def step(self) -> None:
        """Step every env once, store the transitions, and run the due updates."""
        cfg, net, envs = self.cfg, self.net, self.envs
        # 1. Act: softmax exploration over the command texts (a generator per step: resumable).
        obs_ids = net.encode_states(envs.obs)
        actions, _, _ = net.act(envs.obs, update_generator(cfg.seed, self.steps, 0), cfg.temperature)
        rewards, terminated, truncated, infos, final_obs = envs.step(actions.tolist())
        # 2. Store: an ended episode's next state is its final observation, not the reset one.
        next_texts = [final if final is not None else obs for final, obs in zip(final_obs, envs.obs, strict=True)]
        self.replay.add({"state": obs_ids}, actions.numpy(), rewards * cfg.reward_scale,
                        {"state": net.encode_states(next_texts)}, terminated, truncated)
        for info in infos:
            if "episode" in info:
                self._episodes.append({**info["episode"], "success": float(info.get("success", False))})
        self.steps += 1
        step = self.steps

        # 3. Learn: double-DQN updates on replayed batches, then the periodic target copy.
        due = self.frames // cfg.train_every - (self.frames - cfg.num_envs) // cfg.train_every
        if self.frames >= cfg.learning_starts and len(self.replay) > 0:  # n_step > 1 fills it late
            for k in range(due):
                self._losses.append(dqn_update(
                    net, self.target, self.replay, self.optimizer, np.random.default_rng([cfg.seed, step, k]),
                    batch_size=cfg.batch_size, max_grad_norm=cfg.max_grad_norm, huber_delta=cfg.huber_delta,
                    device=self.device, before_step=self._guard, compute_dtype=cfg.compute_dtype,
                ))
        if step % self.target_every == 0:
            copy_params(self.target, net)

    def _guard(self, grad_norm: float) -> bool:
        check_finite("gradient norm", grad_norm, checkpoint=self.last_checkpoint)
        return True

    def pop_interval(self) -> dict[str, float]:
        """The metrics row of the steps since the last call (then a new interval starts)."""
        start, start_frames = self._window
        row = _window_metrics(self._episodes, self._losses, self.frames, time.perf_counter() - start,
                              self.frames - start_frames)
        if self._losses:  # a window before learning_starts has no update: its loss is NaN by design
            check_finite("losses", {k: v for k, v in row.items() if k in ("loss", "q_mean")},
                         step=self.frames, checkpoint=self.last_checkpoint)
        self._episodes, self._losses, self._window = [], [], (time.perf_counter(), self.frames)
        return row

    def save(self, run: RunDir) -> Path:
        """One atomic checkpoint: both networks, the optimizer, the RNGs, the envs and the replay."""
        return save_checkpoint(
            run, self.frames, modules={"q": self.net, "target": self.target}, optimizers={"adam": self.optimizer},
            extra={"step": self.steps, "frames": self.frames, "envs": self.envs.state()},
            arrays={REPLAY: self.replay.state_dict()}, keep_last=self.cfg.keep_checkpoints,
        )

    def restore(self, checkpoint: str | Path) -> None:
        """Continue from a checkpoint written by `save` (into a freshly built loop of the same config)."""
        extra = load_checkpoint(checkpoint, modules={"q": self.net, "target": self.target},
                                optimizers={"adam": self.optimizer})
        self.envs.restore(extra["envs"])
        self.replay.load_state_dict(load_arrays(checkpoint, REPLAY))
        self.steps = extra["step"]
        self._window = (time.perf_counter(), self.frames)
        self.last_checkpoint = str(checkpoint)


def train_drrn(
    cfg: DRRNConfig,
    *,
    config_path: str | Path | None = None,
    resume: str | Path | None = None,
    console: Console | None = None,
) -> RunDir:
    """Train DRRN as `cfg` says (or continue `resume` exactly); return the run directory."""
    run = RunDir.open(resume) if resume is not None else RunDir.create(cfg.out_dir, "drrn", cfg.name, cfg, config_path)
    seed_everything(cfg.seed)
    loop = DRRNLoop(cfg)
    checkpoint = latest_checkpoint(run.path) if resume is not None else None
    if checkpoint is not None:
        loop.restore(checkpoint)
    # A metrics row every log_every frames (rounded to whole vectorized steps).
    log_every = max(1, cfg.log_every // cfg.num_envs) * cfg.num_envs
    run_off_policy(
        run, loop, "drrn", total_frames=cfg.num_steps * cfg.num_envs, log_every=log_every,
        checkpoint_every=cfg.checkpoint_every, save=lambda: loop.save(run),
        resume_step=loop.frames if resume is not None else None, tensorboard=cfg.tensorboard,
        progress_fields=lambda row: {"success": row["success_rate"], "ret": row["return"]}, console=console,
    )
    loop.envs.close()
    return run


def _window_metrics(episodes: list[dict[str, float]], losses: list[dict[str, float]], frames: int,
                    seconds: float, window_frames: int) -> dict[str, float]:
    def mean(rows: list[dict[str, float]], key: str) -> float:
        return float(np.mean([r[key] for r in rows])) if rows else math.nan

    return {
        "frames": frames,
        "episodes": len(episodes),
        "success_rate": mean(episodes, "success"),
        "return": mean(episodes, "return"),
        "episode_length": mean(episodes, "length"),
        "loss": mean(losses, "loss"),
        "q_mean": mean(losses, "q_mean"),
        "td_abs": mean(losses, "td_abs"),
        "grad_norm": mean(losses, "grad_norm"),
        "fps": window_frames / seconds if seconds > 0 else math.nan,
    }
