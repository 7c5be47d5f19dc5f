"""What the language-model trainers (GLAM, NPAE, BC) build alike from their `LMPolicySettings`.

`build_lm` (tiny random, embedded, HF id or path; LoRA), `build_policy` (GLAM's `LLMPolicy`,
which BC clones into), `build_prompt_envs` (seeded BabyAI-Text envs whose observations are the
prompt) and `load_policy` / `load_policy_checkpoint` (an `LLMPolicy` checkpoint of GLAM or BC).
GLAM's own choices, a text game in place of BabyAI-Text and distributed runs, stay in
`llmrl.train.glam`.
"""

from __future__ import annotations

from pathlib import Path

import torch

from llmrl.agents.llm_policy import LLMPolicy
from llmrl.agents.npae import NPAEPolicy
from llmrl.envs.babyai_text import variant_action_names
from llmrl.eval.glam_eval import build_template, make_prompt_env
from llmrl.lm import LanguageModel, apply_lora, load_lm, tiny_random_lm
from llmrl.runtime.checkpoint import load_checkpoint
from llmrl.runtime.device import resolve_device
from llmrl.runtime.vec_env import SeededVecEnv
from llmrl.train.settings import TINY_PREFIX, LMPolicySettings


def build_lm(cfg: LMPolicySettings) -> LanguageModel:
    """The language model of `cfg`: tiny random (seeded by cfg.seed), embedded, HF id or path; LoRA if asked."""
    device = resolve_device(cfg.device)
    lora = {"r": cfg.lora_r, "lora_alpha": cfg.lora_alpha} if cfg.lora else None
    if cfg.lora_layers is not None:
        if lora is None:
            raise ValueError("lora_layers adapts the top layers through LoRA: set lora: true")
        lora["top_layers"] = cfg.lora_layers
    if cfg.model.startswith(TINY_PREFIX):
        lm = tiny_random_lm(cfg.model[len(TINY_PREFIX):], seed=cfg.seed, hidden_size=cfg.tiny_hidden_size,
                            num_layers=cfg.tiny_layers, device=device)
        lm = apply_lora(lm, lora) if lora else lm
    else:
        lm = load_lm(cfg.model, device=device, dtype=cfg.dtype, lora=lora)
    lm.precision = cfg.precision
    lm.trunk_cache = cfg.trunk_cache
    return lm


def build_policy(cfg: LMPolicySettings, lm: LanguageModel | None = None) -> LLMPolicy:
    """An `LLMPolicy` over the variant's action names; the value head is seeded by cfg.seed."""
    lm = lm or build_lm(cfg)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return LLMPolicy(lm, variant_action_names(cfg.variant), normalize=cfg.normalize,
                         scoring=cfg.scoring, value_inner=cfg.value_inner, reuse_prefix=cfg.reuse_prefix)


def build_prompt_envs(cfg: LMPolicySettings, policy: LLMPolicy | NPAEPolicy, num_envs: int, *,
                      first_index: int = 0) -> SeededVecEnv:
    """`num_envs` seeded BabyAI-Text envs of `cfg` whose observations are the prompt `policy` reads.

    A distributed rank passes first_index = rank * num_envs; a chat template reads `policy.lm`'s tokenizer.
    """
    template = build_template(cfg, policy, cfg.variant)
    return SeededVecEnv(lambda _: make_prompt_env(cfg, template, cfg.variant), num_envs, cfg.seed,
                        first_index=first_index)


def load_policy_checkpoint(policy: LLMPolicy, path: str | Path, optimizer: torch.optim.Optimizer | None = None,
                           *, rng: bool = False) -> dict:
    """Restore a GLAM or BC checkpoint (run directory or step directory) into `policy` (and `optimizer`)."""
    return load_checkpoint(
        path,
        modules={"policy": policy},
        optimizers={"adam": optimizer} if optimizer is not None else None,
        rng=rng,
        load_fn=lambda _, module, state: module.load_checkpoint_state(state),
    )


def load_policy(cfg: LMPolicySettings, path: str | Path) -> LLMPolicy:
    """The `LLMPolicy` of `cfg` with the weights of the checkpoint at `path` (a run or step directory)."""
    policy = build_policy(cfg)
    load_policy_checkpoint(policy, path)
    return policy
