"""Persistent cache of completions: key = (model, prompt, sampling parameters)."""

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from llmrl.lm.sampling import SamplingParams
from llmrl.lm.sqlite_store import SqliteStore


class GenerationCache:
    """Completions in SQLite, shared by local and server generation and by several processes.

    Only successful generations are stored (a failed call raises before `put`).
    `hits` and `misses` count prompt lookups.
    """

    def __init__(self, path: str | Path):
        self.store = SqliteStore(path)

    @property
    def hits(self) -> int:
        return self.store.hits

    @property
    def misses(self) -> int:
        return self.store.misses

    @staticmethod
    def key(model: str, prompt: str, params: SamplingParams) -> str:
        """A stable digest of everything that decides the completion."""
        payload = json.dumps({"model": model, "prompt": prompt, **params.as_dict()}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()

    def get(self, model: str, prompt: str, params: SamplingParams) -> list[str] | None:
        """Cached completions of `prompt`, or None."""
        raw = self.store.get(self.key(model, prompt, params))
        return None if raw is None else json.loads(raw)

    def put(self, model: str, prompt: str, params: SamplingParams, completions: list[str]) -> None:
        """Remember the completions of `prompt`."""
        self.store.put(self.key(model, prompt, params), json.dumps(completions).encode())


def cached_generate(
    cache: GenerationCache | None,
    model: str,
    prompts: list[str],
    params: SamplingParams,
    compute: Callable[[list[str]], list[list[str]]],
) -> list[list[str]]:
    """Completions of `prompts`, from `cache` where possible; `compute` runs once on the misses only."""
    if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
        raise TypeError("prompts must be a list of str")
    use_cache = cache is not None and params.cacheable
    results: list[list[str] | None] = [cache.get(model, p, params) if use_cache else None for p in prompts]
    missing = [i for i, r in enumerate(results) if r is None]
    if missing:
        computed = compute([prompts[i] for i in missing])
        for i, completions in zip(missing, computed, strict=True):
            results[i] = completions
            if use_cache:
                cache.put(model, prompts[i], params, completions)
    return results
