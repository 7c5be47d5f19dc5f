"""Closed-form goal suggester: one yes/no question per candidate goal, scored, not generated.

For a finite goal list (Crafter's 24 goals or any user list) the LLM is asked
"Should you {goal}?" for every goal and the answer is read off the next-token scores:

    P(yes | state, goal) = exp(s_yes) / (exp(s_yes) + exp(s_no)) = sigmoid(s_yes - s_no)

where s_* are the log-likelihoods of " yes" and " no" after the question. No parsing can
fail, and all questions of a batch of states go to the engine in one `score` call
(`method="shared"`: each question is computed once for its two answers).
"""

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from llmrl.envs.crafter_text import GOALS
from llmrl.intrinsic.base import GoalContext
from llmrl.intrinsic.parsing import dedupe_goals
from llmrl.intrinsic.prompts import yes_no_prompt
from llmrl.intrinsic.suggestion_stats import SuggestionStats
from llmrl.lm.sqlite_store import SqliteStore

ANSWERS = [" yes", " no"]


class ClosedFormSuggester:
    """Accepts the goals whose P(yes) exceeds `threshold`, or the `top_k` most likely ones.

    lm: a `llmrl.lm.LanguageModel` (scoring needs token log-probs: a local model).
    goals: the candidate goals (lower-cased, no repeats). `top_k` (when given) replaces the
    threshold: the k not-yet-achieved goals with the highest P(yes). P(yes) of every goal is
    memoized in memory by state text, and in the SQLite file `cache_path` when given, so a
    state seen before costs no model call.
    """

    def __init__(
        self,
        lm,
        goals: Sequence[str] = GOALS,
        *,
        threshold: float = 0.5,
        top_k: int | None = None,
        cache_path: str | Path | None = None,
    ):
        if not callable(getattr(lm, "score", None)):
            raise TypeError(f"lm must be a llmrl.lm.LanguageModel (with score), got {type(lm).__name__}")
        goals = [" ".join(g.lower().split()) for g in goals]
        if not goals or any(not g for g in goals) or len(set(goals)) != len(goals):
            raise ValueError(f"goals must be a non-empty list of distinct non-empty strings, got {goals!r}")
        if not 0.0 <= threshold < 1.0:
            raise ValueError(f"threshold must be a probability in [0, 1), got {threshold}")
        if top_k is not None and not 1 <= top_k <= len(goals):
            raise ValueError(f"top_k must be None or between 1 and the number of goals ({len(goals)}), got {top_k}")
        self.lm = lm
        self.goals = tuple(goals)
        self.threshold = threshold
        self.top_k = top_k
        self.counters = SuggestionStats()
        self._memo: dict[str, np.ndarray] = {}
        self._disk = SqliteStore(cache_path) if cache_path is not None else None

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """[len(texts), len(goals)] P(yes) of each goal in each state text (memoized)."""
        unknown = [t for t in dict.fromkeys(texts) if t not in self._memo and not self._load(t)]
        if unknown:
            self._score(unknown)
        return np.stack([self._memo[t] for t in texts]) if texts else np.zeros((0, len(self.goals)), np.float32)

    def _score(self, texts: list[str]) -> None:
        prompts = [yes_no_prompt(text, goal) for text in texts for goal in self.goals]
        scores = self.lm.score(prompts, [ANSWERS] * len(prompts), method="shared")
        # sigmoid(s_yes - s_no) is P(yes) renormalised over the two answers.
        p_yes = torch.sigmoid(torch.stack([s[0] - s[1] for s in scores])).float().cpu().numpy()
        self.counters.llm_calls += 1
        self.counters.llm_prompts += len(texts)
        for i, text in enumerate(texts):
            self._memo[text] = p_yes[i * len(self.goals) : (i + 1) * len(self.goals)].copy()
            if self._disk is not None:
                self._disk.put(self._key(text), self._memo[text].astype(np.float32).tobytes())

    def _key(self, text: str) -> str:
        payload = json.dumps({"model": self.lm.name, "prompt": yes_no_prompt(text, "{goal}"), "goals": self.goals})
        return hashlib.sha256(payload.encode()).hexdigest()

    def _load(self, text: str) -> bool:
        if self._disk is None:
            return False
        raw = self._disk.get(self._key(text))
        if raw is None or len(raw) != 4 * len(self.goals):
            return False
        self._memo[text] = np.frombuffer(raw, dtype=np.float32).copy()
        self.counters.cache_hits += 1
        return True

    def suggest(self, contexts: Sequence[GoalContext]) -> list[list[str]]:
        """Accepted goals per context, most likely first, without achieved goals (and their aliases)."""
        self.counters.memo_hits += sum(c.text in self._memo for c in contexts)
        probs = self.probabilities([c.text for c in contexts])
        goals = []
        for context, p in zip(contexts, probs, strict=True):
            ranked = [self.goals[j] for j in np.argsort(-p, kind="stable") if self.top_k or p[j] > self.threshold]
            kept = dedupe_goals(ranked, context.achieved)
            goals.append(kept[: self.top_k] if self.top_k else kept)
        self.counters.record(contexts, goals)
        return goals

    def stats(self) -> dict[str, float]:
        """See `SuggestionStats`."""
        return self.counters.as_dict()
