"""Settings every PPO trainer on BabyAI-Text shares (GLAM, NPAE, symbolic PPO).

One dataclass holds the run's length, the task, the PPO loop and the run directory, with the
GLAM paper's main-run values as defaults; a trainer's config subclasses it, adds its model's
fields, and re-declares only the defaults its paper setting changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmrl.envs.babyai_text import GLAM_IDS
from llmrl.train.ppo_loop import PPOHyperparameters


def check_env_id(env_id: str) -> None:
    """Accept the BabyAIText ids and minigrid BabyAI-* ids, with a message listing them otherwise."""
    if not (env_id in GLAM_IDS or env_id.startswith("BabyAI-")):
        raise ValueError(f"env_id must be one of {', '.join(GLAM_IDS)} or a minigrid BabyAI-* id, got {env_id!r}")


@dataclass
class PPOSettings:
    """The run, the task, the PPO loop and the run directory; defaults are the GLAM paper's main runs."""

    seed: int = 0
    total_frames: int = 1_500_000

    # Environment: a BabyAIText-* id (room_size / num_dists apply to those) or a minigrid BabyAI-* id.
    env_id: str = "BabyAIText-MixedTrainLocal-v0"
    room_size: int = 8
    num_dists: int = 8

    # PPO.
    num_envs: int = 32
    num_steps: int = 40
    epochs: int = 4
    minibatch_size: int = 64
    lr: float = 1e-6
    adam_betas: tuple[float, float] = (0.9, 0.999)
    adam_eps: float = 1e-5
    clip_coef: float = 0.2
    value_clip_coef: float | None = 0.2
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float | None = 0.5
    gamma: float = 0.99
    gae_lambda: float = 0.99
    normalize_advantages: bool = False
    reward_scale: float = 20.0
    grad_accum_steps: int = 1

    # Run directory.
    out_dir: str = "runs"
    name: str | None = None
    checkpoint_every: int = 10  # updates
    keep_checkpoints: int = 3
    tensorboard: bool = True

    def __post_init__(self) -> None:
        positive = ("total_frames", "num_envs", "num_steps", "epochs", "minibatch_size",
                    "checkpoint_every", "grad_accum_steps")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        check_env_id(self.env_id)
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")

    @property
    def frames_per_update(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def num_updates(self) -> int:
        """Updates needed to reach total_frames (at least one)."""
        return max(1, -(-self.total_frames // self.frames_per_update))

    def hyperparameters(self) -> PPOHyperparameters:
        """The loop's settings."""
        return PPOHyperparameters(
            num_steps=self.num_steps, epochs=self.epochs, minibatch_size=self.minibatch_size, gamma=self.gamma,
            gae_lambda=self.gae_lambda, clip_coef=self.clip_coef, value_clip_coef=self.value_clip_coef,
            ent_coef=self.ent_coef, vf_coef=self.vf_coef, max_grad_norm=self.max_grad_norm,
            normalize_advantages=self.normalize_advantages, reward_scale=self.reward_scale,
            grad_accum_steps=self.grad_accum_steps,
        )
