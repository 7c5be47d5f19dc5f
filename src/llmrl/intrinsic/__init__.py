"""Intrinsic rewards: ELLM's LLM goal suggesters and similarity reward, and exploration baselines."""

from llmrl.intrinsic.base import (
    INTRINSIC_NAMES,
    Embedder,
    GoalContext,
    GoalSuggester,
    IntrinsicReward,
    Transition,
    context_from_info,
)

__all__ = [
    "INTRINSIC_NAMES",
    "Embedder",
    "GoalContext",
    "GoalSuggester",
    "IntrinsicReward",
    "Transition",
    "context_from_info",
]
