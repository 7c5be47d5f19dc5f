"""Config sections that trainers compose: run, BabyAI env, prompt, LM and PPO settings.

The DQN section is `llmrl.algos.dqn.DQNSettings` (DRRN composes it flat; ELLM nests `DQNConfig`).

A trainer's config inherits the sections it needs and adds its model's fields, e.g.

    @dataclass
    class GlamConfig(PPOSettings, LMSettings, BabyAITextSettings, RunSettings): ...

Inheritance keeps every key flat (`lr: 1e-6`, `--set seed=1`), and a field name means one
thing in every trainer: `checkpoint_every` counts environment frames everywhere, `device`
defaults to "auto" everywhere. Each section checks its own fields in `__post_init__` and
passes on to the next section (cooperative `super()`), so a composed config checks them all.
Defaults are the GLAM paper's main runs; a trainer re-declares only the defaults its paper
setting changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from llmrl.envs.babyai_text import GLAM_IDS, VARIANTS
from llmrl.train.ppo_loop import PPOHyperparameters

TINY_PREFIX = "tiny-"
"""`model: tiny-llama` (or tiny-gpt2, tiny-t5): a tiny randomly initialized LM, offline."""


def check_env_id(env_id: str) -> None:
    """Accept the BabyAIText ids and minigrid BabyAI-* ids, with a message listing them otherwise."""
    if not (env_id in GLAM_IDS or env_id.startswith("BabyAI-")):
        raise ValueError(f"env_id must be one of {', '.join(GLAM_IDS)} or a minigrid BabyAI-* id, got {env_id!r}")


def check_at_least_one(cfg: object, names: tuple[str, ...]) -> None:
    """Raise naming the first of `names` whose value on `cfg` is below 1."""
    for name in names:
        if getattr(cfg, name) < 1:
            raise ValueError(f"{name} must be >= 1, got {getattr(cfg, name)}")


class Section:
    """The end of the cooperative `__post_init__` chain of the sections.

    A config may also compose a section of a lower layer (`llmrl.algos.dqn.DQNSettings`) after
    these: the chain hands over to it.
    """

    def __post_init__(self) -> None:
        post_init = getattr(super(), "__post_init__", None)
        if post_init is not None:
            post_init()


@dataclass
class RunSettings(Section):
    """The run: seed, device and run directory (`<out_dir>/<algo>/<name>-<time>/`)."""

    seed: int = 0
    device: str = "auto"  # "auto": cuda when available, else cpu; or any torch device ("cpu", "cuda:1")
    out_dir: str = "runs"
    name: str | None = None
    # Environment frames between checkpoints (also written at the end); 0: only at the end.
    checkpoint_every: int = 10_000
    keep_checkpoints: int = 3  # newest checkpoints kept (0: all)
    tensorboard: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if min(self.seed, self.checkpoint_every, self.keep_checkpoints) < 0:
            raise ValueError("seed, checkpoint_every and keep_checkpoints must be >= 0, got "
                             f"{self.seed}, {self.checkpoint_every}, {self.keep_checkpoints}")


@dataclass
class BabyAISettings(Section):
    """The task: a BabyAIText-* id (room_size / num_dists apply to those) or a minigrid BabyAI-* id."""

    env_id: str = "BabyAIText-MixedTrainLocal-v0"
    room_size: int = 8
    num_dists: int = 8

    def __post_init__(self) -> None:
        super().__post_init__()
        check_env_id(self.env_id)


@dataclass
class BabyAITextSettings(BabyAISettings):
    """The task as text: the test variant, and the prompt an agent reads (`llmrl.agents.prompt`)."""

    variant: str | None = None  # null: English; else one of llmrl.envs.babyai_text.VARIANTS
    history: int = 3  # observations in the prompt (and history - 1 actions)
    template: Literal["glam", "chat"] = "glam"  # chat: the GLAM prompt inside the LM's chat template

    def __post_init__(self) -> None:
        super().__post_init__()
        check_at_least_one(self, ("history",))
        if self.variant is not None and self.variant not in VARIANTS:
            raise ValueError(f"variant must be null or one of {', '.join(VARIANTS)}, got {self.variant!r}")


@dataclass
class LMSettings(Section):
    """The language model and the LLM policy over it (`llmrl.agents.llm_policy.LLMPolicy`)."""

    model: str = "google/flan-t5-large"  # HF id or path, "smollm2-135m", or tiny-llama / tiny-gpt2 / tiny-t5
    tiny_hidden_size: int = 64
    tiny_layers: int = 2
    dtype: str | None = None
    lora: bool = False  # False: full fine-tuning, as the paper's main runs
    lora_r: int = 16
    lora_alpha: int = 32
    lora_layers: int | None = None  # LoRA on the top N transformer layers only (causal LMs); None: all
    normalize: Literal["sum", "mean"] = "sum"  # an action's score: sum or mean of its token log-probs
    scoring: Literal["shared", "naive"] = "shared"
    value_inner: int = 1024
    # Speed (llmrl.lm.precision, LanguageModel.score(reuse_prefix=...)): "auto" computes the LM body
    # in bf16 where the CPU/GPU has it natively; reuse_prefix reuses prompt prefixes' keys/values.
    precision: Literal["auto", "bf16", "fp32"] = "fp32"
    reuse_prefix: bool = False
    # Keep the hidden states entering the lowest adapted layer (needs lora_layers): updates run the
    # top lora_layers layers only (llmrl.lm.trunk).
    trunk_cache: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        check_at_least_one(self, ("value_inner", "tiny_hidden_size", "tiny_layers"))
        if self.model.startswith(TINY_PREFIX):
            from llmrl.lm.tiny import FAMILIES  # imports transformers: only when a tiny model is named

            if self.model[len(TINY_PREFIX):] not in FAMILIES:
                raise ValueError(f"tiny models are {', '.join(TINY_PREFIX + f for f in FAMILIES)}, got {self.model!r}")


@dataclass
class LMPolicySettings(LMSettings, BabyAITextSettings, RunSettings):
    """A language-model policy on BabyAI-Text: the sections GLAM, NPAE and BC share, which
    `llmrl.train.lm_policies` builds the LM, the policy and its prompt envs from."""


@dataclass
class PPOSettings(Section):
    """The run's length and the PPO loop (`llmrl.train.ppo_loop`); defaults are the GLAM paper's."""

    total_frames: int = 1_500_000
    num_envs: int = 32
    num_steps: int = 40  # steps of each env per update
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

    def __post_init__(self) -> None:
        super().__post_init__()
        check_at_least_one(self, ("total_frames", "num_envs", "num_steps", "epochs", "minibatch_size",
                                  "grad_accum_steps"))
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


def checkpoint_due(every: int, frames_before: int, frames_after: int) -> bool:
    """Whether going from `frames_before` to `frames_after` crossed a multiple of `every` (0: never)."""
    return every > 0 and frames_after // every > frames_before // every
