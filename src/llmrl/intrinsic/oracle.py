"""The oracle suggester: the ground-truth feasible goals of each state (ELLM's upper baseline)."""

from collections.abc import Sequence

from llmrl.intrinsic.base import GoalContext
from llmrl.intrinsic.parsing import dedupe_goals
from llmrl.intrinsic.suggestion_stats import SuggestionStats


class OracleSuggester:
    """Returns `context.feasible` minus the achieved goals; contexts must carry `feasible`."""

    def __init__(self):
        self.counters = SuggestionStats()

    def suggest(self, contexts: Sequence[GoalContext]) -> list[list[str]]:
        """The feasible goals of each context (aliases kept once, achieved ones removed)."""
        missing = [i for i, c in enumerate(contexts) if c.feasible is None]
        if missing:
            raise ValueError(
                f"the oracle needs GoalContext.feasible, missing for contexts {missing}; "
                "build contexts with llmrl.intrinsic.context_from_info(info, oracle=True)"
            )
        goals = [dedupe_goals(c.feasible, c.achieved) for c in contexts]
        self.counters.record(contexts, goals)
        return goals

    def stats(self) -> dict[str, float]:
        """See `SuggestionStats` (quality is 1 by construction)."""
        return self.counters.as_dict()
