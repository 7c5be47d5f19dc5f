"""`make_intrinsic` and `make_suggester`: the reward and goal suggester a trainer's options pick."""

from collections.abc import Sequence
from pathlib import Path

from llmrl.envs.crafter_text import GOALS
from llmrl.intrinsic.apt import AptReward
from llmrl.intrinsic.base import INTRINSIC_NAMES, Embedder, GoalSuggester, IntrinsicReward
from llmrl.intrinsic.closed_form import ClosedFormSuggester
from llmrl.intrinsic.common import embed_texts
from llmrl.intrinsic.novelty import NoReward, NoveltyReward
from llmrl.intrinsic.open_ended import OpenEndedSuggester
from llmrl.intrinsic.oracle import OracleSuggester
from llmrl.intrinsic.rnd import RndReward
from llmrl.intrinsic.similarity import GoalSimilarityReward


def make_intrinsic(
    name: str,
    *,
    num_envs: int,
    embedder: Embedder | None = None,
    suggester: GoalSuggester | None = None,
    threshold: float = 0.99,
    seed: int = 0,
    device: str = "cpu",
    apt_k: int = 12,
    memory_size: int = 10_000,
    rnd_lr: float = 1e-4,
) -> IntrinsicReward:
    """The intrinsic reward `name` (one of `INTRINSIC_NAMES`) over `num_envs` envs.

    "ellm" / "ellm-nofilter": similarity to `suggester`'s goals (achieved goals filtered /
    not), paid above `threshold`; "oracle": the same with the ground-truth feasible goals
    (contexts must carry `feasible`); "novelty": 1 per new caption per episode; "rnd":
    Random Network Distillation (predictor learning rate `rnd_lr`); "apt": kNN entropy
    (`apt_k` neighbours in a memory of `memory_size` states); "none": 0. Similarity, RND and
    APT need an `embedder` (`llmrl.lm.load_embedder("minilm")`).
    """
    if name not in INTRINSIC_NAMES:
        raise ValueError(f"unknown intrinsic reward {name!r}; accepted: {', '.join(INTRINSIC_NAMES)}")
    if name in ("novelty", "none"):
        return NoveltyReward(num_envs) if name == "novelty" else NoReward(num_envs)
    if embedder is None:
        raise ValueError(f"intrinsic reward {name!r} needs an embedder (llmrl.lm.load_embedder('minilm'))")
    if name == "rnd":
        dim = _embedding_dim(embedder)
        return RndReward(num_envs, embedder=embedder, dim=dim, lr=rnd_lr, seed=seed, device=device)
    if name == "apt":
        return AptReward(num_envs, embedder=embedder, dim=_embedding_dim(embedder), k=apt_k, memory_size=memory_size)
    if name == "oracle":
        if suggester is not None:
            raise ValueError("the oracle builds its own suggester; pass suggester=None")
        suggester = OracleSuggester()
    elif suggester is None:
        raise ValueError(f"intrinsic reward {name!r} needs a goal suggester (llmrl.intrinsic.make_suggester)")
    return GoalSimilarityReward(
        num_envs,
        suggester=suggester,
        embedder=embedder,
        threshold=threshold,
        filter_achieved=name != "ellm-nofilter",
        name=name,
    )


SUGGESTER_KINDS = ("closed-form", "open-ended", "oracle")


def make_suggester(
    kind: str,
    backend=None,
    *,
    goals: Sequence[str] = GOALS,
    threshold: float = 0.5,
    top_k: int | None = None,
    temperature: float = 0.1,
    cache_path: str | Path | None = None,
) -> GoalSuggester:
    """A goal suggester: "closed-form" (yes/no per goal of `goals`, needs a local `LanguageModel`
    backend; accept P(yes) > `threshold` or the `top_k` best), "open-ended" (generation by any
    backend with `generate`, at `temperature`) or "oracle" (ground truth, no backend).
    `cache_path`: SQLite file of answers that survives the run.
    """
    if kind not in SUGGESTER_KINDS:
        raise ValueError(f"unknown suggester kind {kind!r}; accepted: {', '.join(SUGGESTER_KINDS)}")
    if kind == "oracle":
        return OracleSuggester()
    if backend is None:
        raise ValueError(f"the {kind} suggester needs a backend (llmrl.lm.load_lm(...) or OpenAICompatible)")
    if kind == "closed-form":
        return ClosedFormSuggester(backend, goals, threshold=threshold, top_k=top_k, cache_path=cache_path)
    from llmrl.lm.generation_cache import GenerationCache

    cache = GenerationCache(cache_path) if cache_path is not None else None
    return OpenEndedSuggester(backend, temperature=temperature, cache=cache)


def _embedding_dim(embedder: Embedder) -> int:
    dim = getattr(embedder, "dim", None)
    return int(dim) if dim else int(embed_texts(embedder, ["you see grass."]).shape[1])
