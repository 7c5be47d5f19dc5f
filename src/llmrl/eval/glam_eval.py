"""Evaluate a GLAM-family policy in BabyAI-Text: success rate with a 99% Wilson interval,
mean return and length (the protocol of `llmrl.eval.episodes.evaluate`).

`make_prompt_env` builds the env such a policy reads (observation = the GLAM prompt), for
training and evaluation alike. `generalization_suite` runs the reference English and every
BabyAI-Text variant and writes a markdown table and JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from llmrl.agents.prompt import ChatTemplate, GlamTemplate, PromptObservation, PromptTemplate
from llmrl.envs.babyai_text import GLAM_IDS, VARIANTS, make, variant_action_names, variant_prompt_headers
from llmrl.eval.episodes import EvalResult, evaluate

__all__ = ["EvalResult", "PromptSettings", "build_template", "evaluate_policy", "generalization_suite",
           "make_prompt_env", "markdown_table"]


class PromptSettings(Protocol):
    """The fields that fix the env and the prompt (a config composing `BabyAITextSettings` has them)."""

    env_id: str
    room_size: int
    num_dists: int
    history: int
    template: str


def build_template(cfg: PromptSettings, policy: Any, variant: str | None) -> PromptTemplate:
    """The prompt template of `cfg` with `variant`'s headers (a chat template reads `policy.lm`'s tokenizer)."""
    glam = GlamTemplate(variant_prompt_headers(variant))
    return ChatTemplate(policy.lm.tokenizer, glam) if cfg.template == "chat" else glam


def make_prompt_env(cfg: PromptSettings, template: PromptTemplate, variant: str | None = None) -> PromptObservation:
    """One env of `cfg` whose observation is the prompt."""
    kwargs = {"room_size": cfg.room_size, "num_dists": cfg.num_dists} if cfg.env_id in GLAM_IDS else {}
    return PromptObservation(make(cfg.env_id, variant=variant, **kwargs), template, cfg.history)


def evaluate_policy(
    policy: Any,
    cfg: PromptSettings,
    *,
    episodes: int,
    seed: int = 0,
    variant: str | None = None,
    num_envs: int = 16,
    on_episode: Callable[[int], None] | None = None,
) -> EvalResult:
    """Run `episodes` episodes of cfg's env (with `variant`) sampling actions from `policy`.

    `cfg` gives the env (id, room size, distractors) and the prompt (template, history); the
    policy acts on `variant`'s action names during the call. `on_episode(done)` is called after
    each finished episode (progress bars).
    """
    template = build_template(cfg, policy, variant)
    trained_names = policy.action_names
    policy.action_names = variant_action_names(variant)
    try:
        return evaluate(policy, lambda: make_prompt_env(cfg, template, variant), episodes, seed, num_envs=num_envs,
                        on_episode=on_episode, env_id=cfg.env_id, variant=variant)
    finally:
        policy.action_names = trained_names


def generalization_suite(
    policy: Any,
    cfg: PromptSettings,
    out_dir: str | Path,
    *,
    episodes: int,
    seed: int = 0,
    variants: Sequence[str | None] = (None, *VARIANTS),
    num_envs: int = 16,
) -> tuple[list[EvalResult], Path, Path]:
    """Evaluate every variant; write `generalization.md` and `generalization.json` to `out_dir`."""
    results = [evaluate_policy(policy, cfg, episodes=episodes, seed=seed, variant=v, num_envs=num_envs)
               for v in variants]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "generalization.json"
    json_path.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    md_path = out_dir / "generalization.md"
    md_path.write_text(markdown_table(results))
    return results, md_path, json_path


def markdown_table(results: Sequence[EvalResult]) -> str:
    """One row per result: variant, success rate with its 99% interval, return, length, episodes."""
    lines = [
        "| variant | success rate | 99% CI | mean return | mean length | episodes |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.variant or 'english'} | {r.success_rate:.3f} | [{r.ci_low:.3f}, {r.ci_high:.3f}] | "
            f"{r.mean_return:.3f} | {r.mean_length:.1f} | {r.episodes} |"
        )
    return "\n".join(lines) + "\n"
