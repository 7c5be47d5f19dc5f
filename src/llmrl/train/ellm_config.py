"""Settings of an ELLM run (`llmrl train ellm`); defaults are the paper's Crafter settings.

A preset under `llmrl/presets/ellm/` fills these, `key=value` overrides go on top, and every
key and value is checked before anything starts (`llmrl.runtime.config.load_config`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from llmrl.algos.dqn import DQNConfig
from llmrl.envs.crafter_text import GOALS, PAPER_LENGTH, canonical_goal
from llmrl.envs.crafter_text.actions import ACTION_SETS
from llmrl.intrinsic.base import INTRINSIC_NAMES
from llmrl.train.settings import RunSettings

LM_DTYPES = (None, "float32", "bfloat16", "float16")  # what llmrl.lm.load_lm accepts by name


@dataclass
class CrafterEnvConfig:
    """The Text Crafter environments (one per parallel env, stepped in turn)."""

    num_envs: int = 4
    length: int = PAPER_LENGTH
    action_set: str = "primitive"
    paper_tweaks: bool = False  # the paper's copy: 1-wood table, one-hit kills, no health reward

    def __post_init__(self) -> None:
        if self.num_envs < 1 or self.length < 1:
            raise ValueError(f"num_envs and length must be >= 1, got {self.num_envs} and {self.length}")
        if self.action_set not in ACTION_SETS:
            raise ValueError(f"action_set {self.action_set!r} is not one of {sorted(ACTION_SETS)}")


@dataclass
class SuggesterConfig:
    """The LLM that suggests goals (used by intrinsic 'ellm' and 'ellm-nofilter')."""

    form: Literal["closed-form", "open-ended"] = "closed-form"
    # A local model: an embedded name (smollm2-135m), a Hugging Face id or a local path.
    model: str = "smollm2-135m"
    # An OpenAI-compatible server instead of the local model, when base_url is set.
    base_url: str | None = None
    server_model: str | None = None
    # Name of the environment variable holding the server's API key; None for keyless servers
    # (vLLM, SGLang, Ollama run without one). The key itself never enters the config or the logs.
    api_key_env: str | None = None
    # Server requests in flight at once: the uncached states of one step are asked together.
    concurrency: int = 16
    # Closed form: accept a goal when P(yes) / (P(yes) + P(no)) exceeds this (the paper's rule) ...
    accept_threshold: float = 0.5
    # ... or, when set, take the top_k goals by P(yes) instead. The CPU presets use 3: the embedded
    # 135M model puts P(yes) at 0.12-0.41 for every goal, so the paper's 0.5 accepts nothing.
    top_k: int | None = None
    # The local model's weights: null (as stored), "float32", "bfloat16" or "float16". bfloat16
    # scored a new state 1.7x faster than float32 on this project's AVX512-BF16 CPU.
    dtype: str | None = None
    # Persistent cache of LLM answers (SQLite); null: llmrl's cache directory.
    cache_path: str | None = None

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be >= 1 (server requests in flight at once), got {self.concurrency}")
        if not 0.0 < self.accept_threshold < 1.0:
            raise ValueError(f"accept_threshold must lie in (0, 1), got {self.accept_threshold}")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"top_k must be >= 1 or null (threshold rule), got {self.top_k}")
        if self.dtype not in LM_DTYPES:
            raise ValueError(f"dtype must be one of {LM_DTYPES}, got {self.dtype!r}")
        if self.base_url is not None and not self.server_model:
            raise ValueError("base_url is set: also give server_model, the model name the server serves")
        if self.base_url is not None and self.form == "closed-form":
            raise ValueError("the closed form scores yes/no with a local model's log-probs: use form: open-ended "
                             "with a server (base_url), or drop base_url to use the local model")


@dataclass
class EllmConfig(RunSettings):
    """One ELLM pretraining (or fine-tuning) run; the run fields come from `RunSettings`."""

    total_frames: int = 5_000_000
    intrinsic: str = "ellm"
    # Cosine similarity above which a transition caption earns a suggested goal's reward.
    threshold: float = 0.99
    # Weight of Crafter's own reward: 0 in pretraining (intrinsic reward only).
    extrinsic_weight: float = 0.0
    # Fine-tuning task: one of the 24 goals ("attack_cow" or "attack cow"); only it is rewarded.
    task: str | None = None
    # A pretrained ELLM run (directory or checkpoint) whose Q-network fine-tuning starts from.
    finetune_from: str | None = None
    # Learning rate used instead of dqn.lr when fine-tuning.
    finetune_lr: float = 2e-5
    embedder: str = "minilm"
    image: bool = False  # also feed the 64x64 frame through a Nature CNN
    hidden: int = 512
    # Width of a ReLU layer in each dueling stream; 0: V and A are linear on the fused features
    # (the reference's network ends at its 1024 -> 512 fusion). The CPU experiment used 512.
    dueling_hidden: int = 0
    env: CrafterEnvConfig = field(default_factory=CrafterEnvConfig)
    dqn: DQNConfig = field(default_factory=DQNConfig)
    suggester: SuggesterConfig = field(default_factory=SuggesterConfig)
    log_every: int = 5000  # frames between metrics rows
    checkpoint_every: int = 100_000
    keep_checkpoints: int = 2
    metrics_window: int = 100  # episodes averaged in achievements_per_episode and crafter_score
    torch_threads: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.intrinsic not in INTRINSIC_NAMES:
            raise ValueError(f"intrinsic {self.intrinsic!r} is not one of {', '.join(INTRINSIC_NAMES)}")
        positives = ("total_frames", "finetune_lr", "hidden", "log_every", "metrics_window")
        bad = [f"{name}={getattr(self, name)}" for name in positives if not getattr(self, name) > 0]
        if bad:
            raise ValueError(f"must be > 0: {', '.join(bad)}")
        if self.dueling_hidden < 0:
            raise ValueError(f"dueling_hidden must be >= 0, got {self.dueling_hidden}")
        if not -1.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold is a cosine similarity in [-1, 1], got {self.threshold}")
        if self.extrinsic_weight < 0:
            raise ValueError(f"extrinsic_weight must be >= 0, got {self.extrinsic_weight}")
        if self.task is not None and self.task_goal not in GOALS:
            accepted = ", ".join(g.replace(" ", "_") for g in GOALS)
            raise ValueError(f"task {self.task!r} is not a Crafter goal; accepted: {accepted}")
        if self.torch_threads is not None and self.torch_threads < 1:
            raise ValueError(f"torch_threads must be >= 1 or null, got {self.torch_threads}")

    @property
    def task_goal(self) -> str | None:
        """The fine-tuning task as a goal phrase ('attack_cow' -> 'attack cow'), or None."""
        return None if self.task is None else " ".join(self.task.replace("_", " ").lower().split())

    @property
    def task_caption(self) -> str | None:
        """The transition caption that pays the task reward (aliases resolved: attack cow = eat cow)."""
        return None if self.task_goal is None else canonical_goal(self.task_goal)
