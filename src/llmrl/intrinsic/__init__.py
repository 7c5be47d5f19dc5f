"""Intrinsic rewards: ELLM's LLM goal suggesters and similarity reward, and exploration baselines.

`make_suggester(kind, backend)` builds a goal suggester, `make_intrinsic(name, num_envs=...,
embedder=..., suggester=...)` the reward a trainer uses; `llmrl.intrinsic.base` documents the
per-step protocol.
"""

from llmrl.intrinsic.apt import AptReward
from llmrl.intrinsic.base import (
    INTRINSIC_NAMES,
    Embedder,
    GoalContext,
    GoalSuggester,
    IntrinsicReward,
    Transition,
    context_from_info,
)
from llmrl.intrinsic.closed_form import ClosedFormSuggester
from llmrl.intrinsic.factory import SUGGESTER_KINDS, make_intrinsic, make_suggester
from llmrl.intrinsic.novelty import NoReward, NoveltyReward
from llmrl.intrinsic.open_ended import OpenEndedSuggester
from llmrl.intrinsic.oracle import OracleSuggester
from llmrl.intrinsic.parsing import dedupe_goals, parse_goal_list
from llmrl.intrinsic.rnd import RndReward
from llmrl.intrinsic.similarity import GoalSimilarityReward

__all__ = [
    "INTRINSIC_NAMES",
    "SUGGESTER_KINDS",
    "AptReward",
    "ClosedFormSuggester",
    "Embedder",
    "GoalContext",
    "GoalSimilarityReward",
    "GoalSuggester",
    "IntrinsicReward",
    "NoReward",
    "NoveltyReward",
    "OpenEndedSuggester",
    "OracleSuggester",
    "RndReward",
    "Transition",
    "context_from_info",
    "dedupe_goals",
    "make_intrinsic",
    "make_suggester",
    "parse_goal_list",
]
