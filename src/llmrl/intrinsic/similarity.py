"""ELLM's reward: how closely what the agent just did matches a goal suggested for where it was.

    r_t = max_{g in G(s_t)} cos(E(c_t), E(g))   if that maximum > threshold, else 0

c_t is the transition caption of step t ("chop tree"), G(s_t) the goals suggested for
the state the step started from, E a sentence encoder. Aliases are resolved first
("make crafting table" -> "place crafting table", "attack cow" -> "eat cow") so they
embed identically. Goals achieved this episode (captions seen) are dropped from later
suggestions unless filtering is off (the "ellm-nofilter" ablation).
"""

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from llmrl.envs.crafter_text import canonical_goal
from llmrl.intrinsic.base import Embedder, GoalContext, GoalSuggester, Transition
from llmrl.intrinsic.common import RewardBase, check_embedder, embed_texts


class GoalSimilarityReward(RewardBase):
    """The ELLM intrinsic reward over `num_envs` envs, with goals from `suggester`.

    threshold: similarities at or below it pay nothing (0.99 by default: Crafter captions
    and goals share one vocabulary, so only a real match passes). filter_achieved: drop
    goals achieved this episode from the suggestions (and so from the reward).
    """

    uses_goals = True

    def __init__(
        self,
        num_envs: int,
        *,
        suggester: GoalSuggester,
        embedder: Embedder,
        threshold: float = 0.99,
        filter_achieved: bool = True,
        name: str = "ellm",
    ):
        super().__init__(num_envs)
        if not callable(getattr(suggester, "suggest", None)):
            raise TypeError(f"suggester must have suggest(contexts), got {type(suggester).__name__}")
        check_embedder(embedder)
        if not -1.0 <= threshold < 1.0:
            raise ValueError(f"threshold must be a cosine similarity in [-1, 1), got {threshold}")
        self.name = name
        self.suggester = suggester
        self.embedder = embedder
        self.threshold = threshold
        self.filter_achieved = filter_achieved

    def goals(self, contexts: Sequence[GoalContext]) -> list[list[str]]:
        """The suggester's goals for each env, minus this episode's achieved goals when filtering."""
        self._check_contexts(contexts)
        contexts = [
            replace(c, achieved=c.achieved | self.episode_captions(i) if self.filter_achieved else frozenset())
            for i, c in enumerate(contexts)
        ]
        return self.suggester.suggest(contexts)

    def similarity(self, caption: str, goals: Sequence[str]) -> float:
        """max_g cos(E(caption), E(g)) after alias resolution; -1 when there are no goals."""
        if not goals:
            return -1.0
        texts = [canonical_goal(caption), *(canonical_goal(g) for g in goals)]
        vectors = embed_texts(self.embedder, texts)
        return float((vectors[1:] @ vectors[0]).max())

    def _rewards(self, transitions: Sequence[Transition]) -> np.ndarray:
        out = np.zeros(len(transitions), dtype=np.float32)
        for k, t in enumerate(transitions):
            if t.caption is None:
                continue
            best = self.similarity(t.caption, t.prev_goals)
            if best > self.threshold:
                out[k] = np.clip(best, -1.0, 1.0)
        return out

    def _extra_stats(self) -> dict[str, float]:
        return {f"suggester/{k}": v for k, v in self.suggester.stats().items()}
