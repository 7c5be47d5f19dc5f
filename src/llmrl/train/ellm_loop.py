"""The ELLM training loop: goal-conditioned play in Text Crafter + DQN updates on an n-step replay.

One `EllmLoop.step()` steps every env once (`llmrl.eval.goal_play.GoalPlay`: epsilon-greedy on
Q(s, g, .), goals and intrinsic rewards from the intrinsic reward), pays

    r_t = clip(w_ext * r_crafter + r_intrinsic (+ 1[caption == task]), -1, 1)

stores the n-step transition, and runs the DQN updates that the frame count makes due (one
per `train_every` frames after `learning_starts`; a hard target copy every
`target_update_every` frames).

Exact resume: `state()` holds the replay, the embedding table, the counters, the RNG and what
`GoalPlay.load_state` needs to replay every env to its mid-episode state.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from llmrl.agents.goal_actor import GoalConditionedActor
from llmrl.agents.goal_dqn import GoalConditionedQNet, TextEmbeddingTable
from llmrl.algos.dqn import copy_params, dqn_update, linear_epsilon
from llmrl.algos.replay import NStepReplayBuffer
from llmrl.envs.crafter_text import CrafterTextEnv, canonical_goal
from llmrl.eval.goal_play import GoalPlay, episode_metrics
from llmrl.intrinsic.base import IntrinsicReward
from llmrl.runtime.device import resolve_device
from llmrl.runtime.guard import check_finite
from llmrl.train.ellm_config import EllmConfig


@dataclass
class IntervalStats:
    """What happened since the last metrics row."""

    updates: list[dict[str, float]] = field(default_factory=list)
    intrinsic_sum: float = 0.0
    rewarded_steps: int = 0
    steps: int = 0
    start_time: float = field(default_factory=time.perf_counter)
    start_frames: int = 0


def make_crafter_envs(cfg: EllmConfig) -> list[CrafterTextEnv]:
    """The run's cfg.env.num_envs Text Crafter envs."""
    e = cfg.env
    return [CrafterTextEnv(length=e.length, action_set=e.action_set, paper_tweaks=e.paper_tweaks, image=cfg.image)
            for _ in range(e.num_envs)]


def make_goal_net(cfg: EllmConfig, num_actions: int, table: TextEmbeddingTable) -> GoalConditionedQNet:
    """The goal-conditioned Q-network of `cfg` (initialized from torch's global RNG)."""
    return GoalConditionedQNet(num_actions, table, cfg.hidden, cfg.image, cfg.dueling_hidden)


class EllmLoop:
    """Play, agent, replay and updates of one run, advanced by `step()` (module doc)."""

    def __init__(self, cfg: EllmConfig, intrinsic: IntrinsicReward, table: TextEmbeddingTable, *,
                 lr: float | None = None) -> None:
        if intrinsic.num_envs != cfg.env.num_envs:
            raise ValueError(f"intrinsic reward built for {intrinsic.num_envs} envs, config has {cfg.env.num_envs}")
        self.cfg, self.table = cfg, table
        self.device = torch.device(resolve_device(cfg.device))
        envs = make_crafter_envs(cfg)
        num_actions = len(envs[0].action_names)
        self.net = make_goal_net(cfg, num_actions, table).to(self.device)
        # The target net only ever runs inside the update's autocast, so with precision=bf16 it is
        # kept in bf16 outright: no weight cast per update (copy_params casts on each copy).
        self.target = make_goal_net(cfg, num_actions, table).to(self.device, cfg.dqn.compute_dtype or torch.float32)
        copy_params(self.target, self.net)
        self.target.requires_grad_(False)
        # The fused Adam kernel: one pass over all parameters instead of a dozen ops per tensor.
        fused = self.device.type in ("cpu", "cuda")
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=lr or cfg.dqn.lr, fused=fused)
        self.replay = NStepReplayBuffer(cfg.dqn.buffer_size, self.net.obs_spec(), cfg.dqn.n_step, cfg.dqn.gamma,
                                        cfg.env.num_envs)
        # One generator draws the exploration and the replay batches.
        self.rng = np.random.default_rng(cfg.seed)
        # Counters (all saved in `state()`).
        self.frames = self.updates = self.update_slots = self.target_copies = self.episodes = 0
        self.update_seconds = 0.0  # wall time inside DQN updates (for benchmarks; not saved)
        self.window: deque[dict[str, Any]] = deque(maxlen=cfg.metrics_window)
        self.finished: list[dict[str, Any]] = []  # episodes since the last `pop_interval`
        self.interval = IntervalStats()
        self.last_checkpoint: str | None = None
        actor = GoalConditionedActor(self.net, table, self.rng, image=cfg.image, device=self.device)
        self.play = GoalPlay(envs, actor, intrinsic, seed=cfg.seed, task_goal=cfg.task_goal)

    @property
    def intrinsic(self) -> IntrinsicReward:
        return self.play.intrinsic

    @property
    def epsilon(self) -> float:
        d = self.cfg.dqn
        return linear_epsilon(self.frames, d.epsilon_start, d.epsilon_end, d.epsilon_decay_steps)

    def step(self) -> None:
        """Step every env once, store the transitions and run the due updates."""
        n = self.cfg.env.num_envs
        played = self.play.step(self.epsilon)
        task_rewards = np.zeros(n, np.float32)
        if self.cfg.task_caption is not None:
            task_rewards[:] = [float(c is not None and canonical_goal(c) == self.cfg.task_caption)
                               for c in played.captions]
        reward = np.clip(self.cfg.extrinsic_weight * played.extrinsic + played.intrinsic + task_rewards, -1.0, 1.0)
        self.window.extend(played.finished)
        self.finished.extend(played.finished)
        self.episodes += len(played.finished)
        self.frames += n
        self.interval.steps += n
        self.interval.intrinsic_sum += float(played.intrinsic.sum())
        self.interval.rewarded_steps += int((played.intrinsic > 0).sum())
        # A truncated episode bootstraps from its final state; it is paired with the goals it was
        # played under (a terminated one does not bootstrap, so its goals do not matter).
        done = played.terminated | played.truncated
        next_goals = [played.prev_goals[i] if done[i] else self.play.goals[i] for i in range(n)]
        next_obs = self.play.actor.observation(played.final_texts, next_goals, played.final_images)
        self.replay.add(played.obs, played.actions, reward, next_obs, played.terminated, played.truncated)
        self._train()

    # ---- learning -----------------------------------------------------------------------

    def _train(self) -> None:
        d = self.cfg.dqn
        slots = self.frames // d.train_every
        if self.frames < d.learning_starts or len(self.replay) == 0:
            self.update_slots = slots  # no backlog of updates accumulates while seeding the buffer
        while self.update_slots < slots:
            self.update_slots += 1
            start = time.perf_counter()
            stats = dqn_update(
                self.net, self.target, self.replay, self.optimizer, self.rng,
                batch_size=d.batch_size, max_grad_norm=d.max_grad_norm, huber_delta=d.huber_delta,
                device=self.device, before_step=self._guard, compute_dtype=d.compute_dtype,
            )
            self.update_seconds += time.perf_counter() - start
            stats.update(self.intrinsic.update())
            self.interval.updates.append(stats)
            self.updates += 1
        copies = self.frames // d.target_update_every
        if copies > self.target_copies:
            copy_params(self.target, self.net)
            self.target_copies = copies

    def _guard(self, grad_norm: float) -> bool:
        # Raise before optimizer.step(): a NaN gradient must never reach the weights or a checkpoint.
        check_finite("DQN gradient norm", grad_norm, step=self.frames, checkpoint=self.last_checkpoint)
        return True

    # ---- metrics ------------------------------------------------------------------------

    def pop_interval(self) -> dict[str, float]:
        """The metrics row of the interval since the last call (then a new interval starts)."""
        now = time.perf_counter()
        stats = self.interval
        row: dict[str, float] = {
            "frames": self.frames, "episodes": self.episodes, "updates": self.updates, "epsilon": self.epsilon,
            "fps": (self.frames - stats.start_frames) / max(now - stats.start_time, 1e-9),
            "intrinsic_reward_mean": stats.intrinsic_sum / max(stats.steps, 1),
            "intrinsic_rewarded_share": stats.rewarded_steps / max(stats.steps, 1),
            "texts_embedded": len(self.table),
        }
        if stats.updates:
            for key in stats.updates[0]:
                row[key] = float(np.mean([u[key] for u in stats.updates if key in u]))
        if self.window:
            row.update(episode_metrics(list(self.window)))
        row["episodes_in_interval"] = len(self.finished)
        row.update({f"intrinsic/{k}": float(v) for k, v in self.intrinsic.stats().items()})
        self.interval = IntervalStats(start_frames=self.frames)
        self.finished = []
        return row

    # ---- resume -------------------------------------------------------------------------

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """(arrays, JSON-able dict) with everything besides the networks and optimizer to resume exactly."""
        arrays = {f"replay.{k}": v for k, v in self.replay.state_dict().items()}
        arrays["episode_returns"] = self.play.episode_returns
        # The replay holds row ids of the embedding table, so the table travels with it.
        arrays["table"], table_texts = self.table.state()
        counters = {
            "frames": self.frames, "updates": self.updates, "update_slots": self.update_slots,
            "target_copies": self.target_copies, "episodes": self.episodes, **self.play.state(),
            "window": list(self.window),
            "rng": self.rng.bit_generator.state, "table_texts": table_texts,
        }
        return arrays, counters

    def load_state(self, arrays: Mapping[str, np.ndarray], counters: Mapping[str, Any]) -> None:
        """Restore `state()`: counters, table, replay, and every env replayed to its saved mid-episode state."""
        self.table.load_state(arrays["table"], counters["table_texts"])
        self.replay.load_state_dict({k[len("replay."):]: v for k, v in arrays.items() if k.startswith("replay.")})
        for key in ("frames", "updates", "update_slots", "target_copies", "episodes"):
            setattr(self, key, int(counters[key]))
        self.window = deque(counters["window"], maxlen=self.cfg.metrics_window)
        self.rng.bit_generator.state = counters["rng"]
        self.play.load_state(counters, arrays["episode_returns"])
        self.interval = IntervalStats(start_frames=self.frames)

