"""Closed-form goal suggester: one yes/no question per candidate goal, scored, not generated.

For a finite goal list (Crafter's 24 goals or any user list) the LLM is asked
"Should you {goal}?" for every goal and the answer is read off the scores:

    P(yes | state, goal) = p(yes | s, q_g) / (p(yes | s, q_g) + p(no | s, q_g))

The state s is the prompt, said once; every question-and-answer q_g + a is a candidate
(2 per goal), so one `score(method="shared")` pass computes the state once and the 2G
candidates on top of it. Each candidate's score is s_a = log p(q_g | s) + log p(a | s, q_g),
and the question's share cancels in the ratio:

    exp(s_yes) / (exp(s_yes) + exp(s_no)) = sigmoid(s_yes - s_no) = P(yes | state, goal)

No parsing can fail, and all states of a batch go to the engine in one `score` call.
The prompts' common start (the game and the worked answers, ~140 of ~170 tokens with
SmolLM2) is passed as `prefix`: the engine computes it once and reuses it for every state.
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
from llmrl.intrinsic.prompts import yes_no_preamble, yes_no_question, yes_no_state_prompt
from llmrl.intrinsic.suggestion_stats import SuggestionStats
from llmrl.lm.sqlite_store import SqliteStore

ANSWERS = [" yes", " no"]


class ClosedFormSuggester:
    """Accepts the goals whose P(yes) exceeds `threshold`, or the `top_k` most likely ones.

    lm: a `llmrl.lm.LanguageModel` (scoring needs token log-probs: a local model).
    goals: the candidate goals (lower-cased, no repeats). `top_k` (when given) replaces the
    threshold: the k not-yet-achieved goals with the highest P(yes). The threshold 0.5 is the
    paper's rule; small models need `top_k` (the embedded SmolLM2-135M gives P(yes) of
    0.12-0.41 to every Crafter goal, so 0.5 accepts none). P(yes) of every goal is
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
        # Every goal's question, once followed by " yes" and once by " no": 2 candidates per goal.
        self.candidates = [yes_no_question(goal) + answer for goal in self.goals for answer in ANSWERS]
        self.threshold = threshold
        self.top_k = top_k
        self.counters = SuggestionStats()
        self._dtype = str(getattr(lm, "dtype", ""))
        self._memo: dict[str, np.ndarray] = {}
        self._disk = SqliteStore(cache_path) if cache_path is not None else None

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """[len(texts), len(goals)] P(yes) of each goal in each state text (memoized)."""
        unknown = [t for t in dict.fromkeys(texts) if t not in self._memo and not self._load(t)]
        if unknown:
            self._score(unknown)
        return np.stack([self._memo[t] for t in texts]) if texts else np.zeros((0, len(self.goals)), np.float32)

    def _score(self, texts: list[str]) -> None:
        prompts = [yes_no_state_prompt(text) for text in texts]
        scores = self.lm.score(prompts, [self.candidates] * len(prompts), method="shared", prefix=yes_no_preamble())
        pairs = torch.stack(scores).view(len(texts), len(self.goals), len(ANSWERS))
        # sigmoid(s_yes - s_no) is P(yes) renormalised over the two answers (module doc).
        p_yes = torch.sigmoid(pairs[..., 0] - pairs[..., 1]).float().cpu().numpy()
        self.counters.llm_calls += 1
        self.counters.llm_prompts += len(texts)
        for text, row in zip(texts, p_yes, strict=True):
            self._memo[text] = row.copy()
            if self._disk is not None:
                self._disk.put(self._key(text), self._memo[text].astype(np.float32).tobytes())

    def _key(self, text: str) -> str:
        # The weights' dtype is part of the key: bfloat16 answers differ from float32 ones.
        payload = json.dumps({"model": self.lm.name, "dtype": self._dtype, "prompt": yes_no_state_prompt(text),
                              "candidates": self.candidates})
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
            goals.append(dedupe_goals(ranked, context.achieved, limit=self.top_k))
        self.counters.record(contexts, goals)
        return goals

    def stats(self) -> dict[str, float]:
        """See `SuggestionStats`."""
        return self.counters.as_dict()
