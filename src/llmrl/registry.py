"""Every algorithm llmrl trains, by name: its config class, its trainer and its evaluator.

This is the one list of algorithms. The CLI builds `llmrl train|eval <name>` from it and
`llmrl.eval.compare.evaluate_run` dispatches on a run's algorithm through it. Entries name
their code as "module:attribute" strings, imported on first use: `llmrl --help` imports no
trainer (and so no torch), and a lower layer such as `llmrl.eval` can dispatch without
importing `llmrl.train` (see docs/architecture.md).

An entry's trainer is `train(cfg, *, config_path=None, resume=None, ...) -> RunDir`; its
evaluator `evaluate(run_dir, *, episodes, seed=0, overrides=(), num_envs=16) -> EvalResult`
plays the run's latest checkpoint on seeded episodes. Adding an algorithm: a module with
those two functions and a config dataclass, and one `Algorithm(...)` line below.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Algorithm:
    """One algorithm: where its config class, trainer and evaluator live ("module:attribute")."""

    name: str
    config_ref: str
    train_ref: str
    evaluate_ref: str | None  # None: evaluated by its own command (`llmrl eval ellm`)
    summary: str  # one line: the CLI's help of `llmrl train <name>`
    generic_cli: bool = True  # `llmrl train|eval <name>` built from this entry (GLAM, ELLM have their own)

    @property
    def config(self) -> type:
        return _resolve(self.config_ref)

    @property
    def train(self) -> Any:
        return _resolve(self.train_ref)

    @property
    def evaluate(self) -> Any:
        if self.evaluate_ref is None:
            raise ValueError(f"{self.name} runs are evaluated with `llmrl eval {self.name}`, not a success rate")
        return _resolve(self.evaluate_ref)


def _resolve(ref: str) -> Any:
    module, _, attribute = ref.partition(":")
    return getattr(importlib.import_module(module), attribute)


ALGORITHMS: dict[str, Algorithm] = {a.name: a for a in (
    Algorithm("glam", "llmrl.train.glam:GlamConfig", "llmrl.train.glam:train_glam",
              "llmrl.train.glam:evaluate_run", "Train an LLM policy with PPO in BabyAI-Text (GLAM).",
              generic_cli=False),
    Algorithm("symbolic-ppo", "llmrl.train.symbolic_ppo:SymbolicPPOConfig",
              "llmrl.train.symbolic_ppo:train_symbolic_ppo", "llmrl.train.symbolic_ppo:evaluate_run",
              "PPO on minigrid's symbolic 7x7x3 view + mission (FiLM-CNN, GLAM's grid baseline)."),
    Algorithm("drrn", "llmrl.train.drrn:DRRNConfig", "llmrl.train.drrn:train_drrn", "llmrl.train.drrn:evaluate_run",
              "DRRN: text Q-learning over (prompt, action text) pairs with GRU encoders and replay."),
    Algorithm("npae", "llmrl.train.npae:NPAEConfig", "llmrl.train.npae:train_npae", "llmrl.train.npae:evaluate_run",
              "NPAE: a randomly initialized LLM body with MLP action/value heads, trained by PPO."),
    Algorithm("bc", "llmrl.train.bc:BCConfig", "llmrl.train.bc:train_bc", "llmrl.train.bc:evaluate_run",
              "Behaviour cloning of an LLM policy from the bot's or a run's recorded trajectories."),
    Algorithm("ellm", "llmrl.train.ellm_config:EllmConfig", "llmrl.train.ellm:train_ellm", None,
              "Pretrain (or fine-tune) a goal-conditioned DQN with an intrinsic reward on Text Crafter.",
              generic_cli=False),
)}


def algorithm(name: str | None) -> Algorithm:
    """The entry of `name`, or a ValueError listing the known ones."""
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; known: {', '.join(ALGORITHMS)}")
    return ALGORITHMS[name]
