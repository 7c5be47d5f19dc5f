"""The ELLM interaction loop: Text Crafter envs + goal-conditioned DQN + an intrinsic reward.

One `EllmLoop.step()` steps every env once (epsilon-greedy on Q(s, g, .)), pays

    r_t = clip(w_ext * r_crafter + r_intrinsic (+ 1[caption == task]), -1, 1)

stores the n-step transition, asks the intrinsic reward for the goals of the new states,
and runs the DQN updates that the frame count makes due (one per `train_every` frames after
`learning_starts`; a hard target copy every `target_update_every` frames).

Exact resume: each episode is played from an explicit crafter seed and its actions are
recorded, so `load_state` rebuilds every env's mid-episode state by replaying them
(Crafter is deterministic given seed and actions); everything else is in `state()`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from llmrl.agents.goal_dqn import GOAL_KEY, IMAGE_KEY, STATE_KEY, GoalConditionedQNet, TextEmbeddingTable, goal_text
from llmrl.algos.dqn import copy_params, dqn_update, linear_epsilon
from llmrl.algos.replay import NStepReplayBuffer
from llmrl.envs.crafter_text import CrafterTextEnv, canonical_goal
from llmrl.envs.crafter_text.metrics import (
    ACHIEVEMENTS,
    achievements_per_episode,
    crafter_score,
    episode_achievements,
    success_rates,
)
from llmrl.intrinsic.base import IntrinsicReward, Transition, context_from_info
from llmrl.train.ellm_config import EllmConfig
from llmrl.train.guard import check_finite
from llmrl.train.runtime import resolve_device


@dataclass
class IntervalStats:
    """What happened since the last metrics row."""

    updates: list[dict[str, float]] = field(default_factory=list)
    intrinsic_sum: float = 0.0
    rewarded_steps: int = 0
    steps: int = 0
    start_time: float = field(default_factory=time.perf_counter)
    start_frames: int = 0


class EllmLoop:
    """Envs, agent, replay and intrinsic reward of one run, advanced by `step()` (module doc)."""

    def __init__(
        self,
        cfg: EllmConfig,
        intrinsic: IntrinsicReward,
        table: TextEmbeddingTable,
        *,
        net: GoalConditionedQNet | None = None,
        lr: float | None = None,
    ) -> None:
        if intrinsic.num_envs != cfg.env.num_envs:
            raise ValueError(f"intrinsic reward built for {intrinsic.num_envs} envs, config has {cfg.env.num_envs}")
        self.cfg, self.intrinsic, self.table = cfg, intrinsic, table
        self.device = torch.device(resolve_device(cfg.device))
        n = cfg.env.num_envs
        self.envs = [
            CrafterTextEnv(length=cfg.env.length, action_set=cfg.env.action_set, paper_tweaks=cfg.env.paper_tweaks,
                           image=cfg.image)
            for _ in range(n)
        ]
        num_actions = len(self.envs[0].action_names)
        self.net = net or GoalConditionedQNet(num_actions, table, cfg.hidden, cfg.image, cfg.dueling_hidden)
        self.net.to(self.device)
        # The target net only ever runs inside the update's autocast, so with precision=bf16 it is
        # kept in bf16 outright: no weight cast per update (copy_params casts on each copy).
        target_dtype = cfg.dqn.compute_dtype or torch.float32
        self.target = GoalConditionedQNet(num_actions, table, cfg.hidden, cfg.image, cfg.dueling_hidden).to(
            self.device, target_dtype
        )
        copy_params(self.target, self.net)
        self.target.requires_grad_(False)
        # The fused Adam kernel: one pass over all parameters instead of a dozen ops per tensor.
        fused = self.device.type in ("cpu", "cuda")
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=lr or cfg.dqn.lr, fused=fused)
        self.replay = NStepReplayBuffer(cfg.dqn.buffer_size, self.net.obs_spec(), cfg.dqn.n_step, cfg.dqn.gamma, n)
        self.rng = np.random.default_rng(cfg.seed)
        # Counters (all saved in `state()`).
        self.frames = self.updates = self.update_slots = self.target_copies = self.episodes = 0
        self.update_seconds = 0.0  # wall time inside DQN updates (for benchmarks; not saved)
        self.episode_index = [0] * n  # how many episodes each env has started
        self.episode_actions: list[list[int]] = [[] for _ in range(n)]
        self.episode_returns = np.zeros((n, 2))  # (extrinsic, intrinsic) so far in each env's episode
        self.window: deque[dict[str, Any]] = deque(maxlen=cfg.metrics_window)
        self.finished: list[dict[str, Any]] = []  # episodes since the last `pop_interval`
        self.interval = IntervalStats()
        self.last_checkpoint: str | None = None
        self.goals: list[tuple[str, ...]] = [()] * n
        self.infos: list[dict[str, Any]] = [{}] * n
        self.texts: list[str] = [""] * n
        self.images: list[np.ndarray | None] = [None] * n
        for i in range(n):
            self._start_episode(i)
        self._set_goals(range(n))

    # ---- acting -------------------------------------------------------------------------

    def episode_seed(self, env_index: int, episode: int) -> int:
        """The crafter seed of an env's episode: distinct per run seed, env and episode."""
        return (self.cfg.seed * 1009 + env_index) * 1_000_003 + episode

    def _start_episode(self, i: int) -> None:
        obs, info = self.envs[i].reset(seed=self.episode_seed(i, self.episode_index[i]))
        self.episode_index[i] += 1
        self.episode_actions[i] = []
        self.episode_returns[i] = 0.0
        self.intrinsic.reset(i)
        self._observe(i, obs, info)

    def _observe(self, i: int, obs: Mapping[str, Any], info: dict[str, Any]) -> None:
        self.texts[i], self.infos[i] = obs["text"], info
        if self.cfg.image:
            self.images[i] = obs["image"]

    def _set_goals(self, envs) -> None:
        """Goals to condition on for the current state of `envs` (the task's, when fine-tuning)."""
        envs = list(envs)
        if self.cfg.task_goal is not None and not self.intrinsic.uses_goals:
            for i in envs:
                self.goals[i] = (self.cfg.task_goal,)
            return
        if not self.intrinsic.uses_goals:
            return
        # The intrinsic reward takes one context per env, in env order.
        contexts = [context_from_info(info) for info in self.infos]
        suggested = self.intrinsic.goals(contexts)
        for i in envs:
            self.goals[i] = tuple(suggested[i])

    def observation(self, texts: list[str], goals: list[tuple[str, ...]], images: list | None) -> dict[str, np.ndarray]:
        """Replay-ready arrays [num_envs, ...]: table row ids of text states and goal sentences (and frames)."""
        obs = {STATE_KEY: self.table.ids(texts), GOAL_KEY: self.table.ids([goal_text(g) for g in goals])}
        if self.cfg.image:
            obs[IMAGE_KEY] = np.stack(images)
        return obs

    def act(self, obs: Mapping[str, np.ndarray], epsilon: float) -> np.ndarray:
        """Epsilon-greedy actions; the network runs only on the envs that act greedily."""
        n = self.cfg.env.num_envs
        greedy = self.rng.random(n) >= epsilon
        actions = self.rng.integers(self.net.num_actions, size=n)
        if greedy.any():
            with torch.no_grad():
                batch = {k: torch.from_numpy(v[greedy]).to(self.device) for k, v in obs.items()}
                actions[greedy] = self.net.q_values(batch).argmax(-1).cpu().numpy()
        return actions

    @property
    def epsilon(self) -> float:
        d = self.cfg.dqn
        return linear_epsilon(self.frames, d.epsilon_start, d.epsilon_end, d.epsilon_decay_steps)

    def step(self, *, learn: bool = True, epsilon: float | None = None) -> None:
        """Step every env once; with `learn`, store the transitions and run the due updates."""
        n = self.cfg.env.num_envs
        obs = self.observation(self.texts, self.goals, self.images)
        actions = self.act(obs, self.epsilon if epsilon is None else epsilon)
        prev_goals = list(self.goals)
        ext = np.zeros(n, np.float32)
        terminated, truncated = np.zeros(n, bool), np.zeros(n, bool)
        final_texts, final_images, transitions, task_rewards = [], [], [], np.zeros(n, np.float32)
        for i, env in enumerate(self.envs):
            next_obs, ext[i], terminated[i], truncated[i], info = env.step(int(actions[i]))
            self.episode_actions[i].append(int(actions[i]))
            caption = info["transition_caption"]
            if self.cfg.task_caption is not None and caption is not None:
                task_rewards[i] = float(canonical_goal(caption) == self.cfg.task_caption)
            done = bool(terminated[i] or truncated[i])
            transitions.append(Transition(i, caption, prev_goals[i], next_obs["text"], done))
            final_texts.append(next_obs["text"])
            final_images.append(next_obs.get("image"))
            self._observe(i, next_obs, info)
        intrinsic = np.asarray(self.intrinsic.rewards(transitions), np.float32)
        reward = np.clip(self.cfg.extrinsic_weight * ext + intrinsic + task_rewards, -1.0, 1.0)
        self.episode_returns[:, 0] += ext
        self.episode_returns[:, 1] += intrinsic
        done = terminated | truncated
        for i in np.flatnonzero(done):
            self._finish_episode(int(i))
            self._start_episode(int(i))
        self._set_goals(range(n))
        self.frames += n
        self.interval.steps += n
        self.interval.intrinsic_sum += float(intrinsic.sum())
        self.interval.rewarded_steps += int((intrinsic > 0).sum())
        if not learn:
            return
        # A truncated episode bootstraps from its final state; it is paired with the goals it was
        # played under (a terminated one does not bootstrap, so its goals do not matter).
        next_goals = [prev_goals[i] if done[i] else self.goals[i] for i in range(n)]
        next_obs = self.observation(final_texts, next_goals, final_images)
        self.replay.add(obs, actions, reward, next_obs, terminated, truncated)
        self._train()

    def _finish_episode(self, i: int) -> None:
        unlocked = sorted(episode_achievements(self.infos[i]["achievements"]))
        record = {"achievements": unlocked, "length": len(self.episode_actions[i]),
                  "return": float(self.episode_returns[i, 0]), "intrinsic_return": float(self.episode_returns[i, 1])}
        self.window.append(record)
        self.finished.append(record)
        self.episodes += 1

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
        arrays["episode_returns"] = self.episode_returns
        # The replay holds row ids of the embedding table, so the table travels with it.
        arrays["table"], table_texts = self.table.state()
        counters = {
            "frames": self.frames, "updates": self.updates, "update_slots": self.update_slots,
            "target_copies": self.target_copies, "episodes": self.episodes,
            "episode_index": self.episode_index, "episode_actions": self.episode_actions,
            "goals": [list(g) for g in self.goals], "window": list(self.window),
            "rng": self.rng.bit_generator.state, "table_texts": table_texts,
        }
        return arrays, counters

    def load_state(self, arrays: Mapping[str, np.ndarray], counters: Mapping[str, Any]) -> None:
        """Restore `state()`: counters, table, replay, and every env replayed to its saved mid-episode state."""
        self.table.load_state(arrays["table"], counters["table_texts"])
        self.replay.load_state_dict({k[len("replay."):]: v for k, v in arrays.items() if k.startswith("replay.")})
        self.episode_returns[...] = arrays["episode_returns"]
        for key in ("frames", "updates", "update_slots", "target_copies", "episodes"):
            setattr(self, key, int(counters[key]))
        self.window = deque(counters["window"], maxlen=self.cfg.metrics_window)
        self.rng.bit_generator.state = counters["rng"]
        for i, env in enumerate(self.envs):
            self.episode_index[i] = int(counters["episode_index"][i])
            obs, info = env.reset(seed=self.episode_seed(i, self.episode_index[i] - 1))
            actions = [int(a) for a in counters["episode_actions"][i]]
            for action in actions:
                obs, _, _, _, info = env.step(action)
            self.episode_actions[i] = actions
            self._observe(i, obs, info)
        self.goals = [tuple(g) for g in counters["goals"]]
        self.interval = IntervalStats(start_frames=self.frames)


def episode_metrics(episodes: list[dict[str, Any]]) -> dict[str, float]:
    """achievements_per_episode, crafter_score, mean returns and length of finished episodes."""
    unlocked = [e["achievements"] for e in episodes]
    return {
        "achievements_per_episode": achievements_per_episode(unlocked),
        "crafter_score": crafter_score(success_rates(unlocked)),
        "episode_return": float(np.mean([e["return"] for e in episodes])),
        "episode_intrinsic_return": float(np.mean([e["intrinsic_return"] for e in episodes])),
        "episode_length": float(np.mean([e["length"] for e in episodes])),
    }


def success_by_achievement(episodes: list[dict[str, Any]]) -> dict[str, float]:
    """Percent of episodes unlocking each of the 22 achievements."""
    rates = success_rates([e["achievements"] for e in episodes])
    return {name: rates[name] for name in ACHIEVEMENTS}

