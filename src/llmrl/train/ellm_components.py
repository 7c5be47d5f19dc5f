"""Builds the pieces an ELLM run needs from its config: embedder, goal suggester, intrinsic reward."""

from __future__ import annotations

from pathlib import Path

from llmrl.intrinsic.base import Embedder, GoalSuggester, IntrinsicReward
from llmrl.lm.registry import cache_dir
from llmrl.runtime.device import resolve_device
from llmrl.train.ellm_config import EllmConfig, SuggesterConfig

NEEDS_SUGGESTER = ("ellm", "ellm-nofilter")


def build_embedder(cfg: EllmConfig) -> Embedder:
    """The frozen sentence encoder (`cfg.embedder`), with llmrl's persistent embedding cache."""
    from llmrl.lm.embeddings import load_embedder  # sentence-transformers: only when a run starts

    return load_embedder(cfg.embedder, device=resolve_device(cfg.device), cache_path=cache_dir() / "embeddings.sqlite")


def build_suggester(cfg: SuggesterConfig, device: str = "cpu") -> GoalSuggester:
    """The LLM goal suggester of `cfg`: closed form on a local model, or open-ended (local or server)."""
    from llmrl.intrinsic import make_suggester

    cache = Path(cfg.cache_path) if cfg.cache_path else cache_dir() / "ellm-goals.sqlite"
    cache.parent.mkdir(parents=True, exist_ok=True)
    if cfg.base_url is not None:
        from llmrl.lm.openai_compat import OpenAICompatible

        backend = OpenAICompatible(cfg.base_url, cfg.server_model or "", cfg.api_key_env, concurrency=cfg.concurrency)
    else:
        from llmrl.lm import load_lm

        backend = load_lm(cfg.model, device=device, dtype=cfg.dtype)
    return make_suggester(cfg.form, backend, threshold=cfg.accept_threshold, top_k=cfg.top_k, cache_path=cache)


def build_intrinsic(
    cfg: EllmConfig, embedder: Embedder, suggester: GoalSuggester | None = None
) -> IntrinsicReward:
    """`cfg.intrinsic` over `cfg.env.num_envs` envs; the LLM suggester is built only when needed."""
    from llmrl.intrinsic import make_intrinsic

    if cfg.intrinsic in NEEDS_SUGGESTER and suggester is None:
        suggester = build_suggester(cfg.suggester, resolve_device(cfg.device))
    return make_intrinsic(
        cfg.intrinsic, num_envs=cfg.env.num_envs, embedder=embedder,
        suggester=suggester if cfg.intrinsic in NEEDS_SUGGESTER else None,
        threshold=cfg.threshold, seed=cfg.seed, device=resolve_device(cfg.device),
    )
