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


class TextGenerator:
    """Base of what generates text (a local `LanguageModel`, an `OpenAICompatible` server): `generate`
    checks the request and answers from the cache what it can; a subclass computes the rest in
    `_generate_uncached` and has a `name` (the cache's model key)."""

    name: str

    def generate(
        self,
        prompts: list[str],
        *,
        max_new_tokens: int = 64,
        temperature: float = 0.0,
        stop: list[str] | None = None,
        n: int = 1,
        seed: int | None = None,
        cache: GenerationCache | None = None,
    ) -> list[list[str]]:
        """`n` completions per prompt (greedy at temperature 0), cut at the first `stop` string; `seed`
        makes sampling repeatable; `cache` answers greedy and seeded requests it has seen."""
        params = SamplingParams.build(max_new_tokens, temperature, stop, n, seed)
        return cached_generate(cache, self.name, prompts, params,
                               lambda missing: self._generate_uncached(missing, params))

    def _generate_uncached(self, prompts: list[str], params: SamplingParams) -> list[list[str]]:
        raise NotImplementedError
