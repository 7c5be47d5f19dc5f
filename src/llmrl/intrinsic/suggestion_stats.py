"""Running statistics shared by all goal suggesters: cost, cache use, failures, quality."""

from collections.abc import Sequence
from dataclasses import dataclass

from llmrl.envs.crafter_text import canonical_goal
from llmrl.intrinsic.base import GoalContext


@dataclass
class SuggestionStats:
    """Counters of a suggester; `as_dict()` gives the rates to log.

    queries: contexts asked about; returned: goals returned; memo_hits: answered from the in-memory memo;
    llm_calls: batched calls to the model backend; llm_prompts: states handed to it (one
    prompt each, or one yes/no question per candidate goal in the closed form);
    cache_hits: of those, answered by a persistent cache; parse_failures: answers that gave no goal. Quality against the
    oracle (contexts that carry `feasible` only; aliases count as one goal):
    feasible_share = suggested goals that were feasible / suggested goals,
    feasible_coverage = feasible goals that were suggested / feasible goals.
    """

    queries: int = 0
    returned: int = 0
    memo_hits: int = 0
    llm_calls: int = 0
    llm_prompts: int = 0
    cache_hits: int = 0
    parse_failures: int = 0
    suggested: int = 0
    suggested_feasible: int = 0
    feasible: int = 0
    feasible_suggested: int = 0

    def record(self, contexts: Sequence[GoalContext], goals: Sequence[Sequence[str]]) -> None:
        """Count the answered queries and compare their goals with the oracle's (minus those achieved)."""
        self.queries += len(contexts)
        for context, suggested in zip(contexts, goals, strict=True):
            self.returned += len(suggested)
            if context.feasible is None:
                continue
            achieved = {canonical_goal(a) for a in context.achieved}
            feasible = {canonical_goal(g) for g in context.feasible} - achieved
            mine = {canonical_goal(g) for g in suggested}
            self.suggested += len(mine)
            self.suggested_feasible += len(mine & feasible)
            self.feasible += len(feasible)
            self.feasible_suggested += len(feasible & mine)

    def as_dict(self) -> dict[str, float]:
        """Counters and rates (a rate with nothing to count is 0)."""
        return {
            "queries": float(self.queries),
            "llm_calls": float(self.llm_calls),
            "llm_prompts": float(self.llm_prompts),
            "cache_hit_rate": (self.memo_hits + self.cache_hits) / self.queries if self.queries else 0.0,
            "parse_failures": float(self.parse_failures),
            "goals_per_query": self.returned / self.queries if self.queries else 0.0,
            "feasible_share": self.suggested_feasible / self.suggested if self.suggested else 0.0,
            "feasible_coverage": self.feasible_suggested / self.feasible if self.feasible else 0.0,
        }
