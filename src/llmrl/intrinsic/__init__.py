"""Intrinsic rewards: ELLM's LLM goal suggesters and similarity reward, and exploration baselines.

`make_suggester(kind, backend)` builds a goal suggester, `make_intrinsic(name, num_envs=...,
embedder=..., suggester=...)` the reward a trainer uses; `llmrl.intrinsic.base` documents the
per-step protocol.
"""

from typing import TYPE_CHECKING

from llmrl._lazy import lazy_exports

if TYPE_CHECKING:
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

_SUBMODULE_OF = {
    "AptReward": "apt",
    "ClosedFormSuggester": "closed_form",
    "Embedder": "base",
    "GoalContext": "base",
    "GoalSimilarityReward": "similarity",
    "GoalSuggester": "base",
    "INTRINSIC_NAMES": "base",
    "IntrinsicReward": "base",
    "NoReward": "novelty",
    "NoveltyReward": "novelty",
    "OpenEndedSuggester": "open_ended",
    "OracleSuggester": "oracle",
    "RndReward": "rnd",
    "SUGGESTER_KINDS": "factory",
    "Transition": "base",
    "context_from_info": "base",
    "dedupe_goals": "parsing",
    "make_intrinsic": "factory",
    "make_suggester": "factory",
    "parse_goal_list": "parsing",
}

__all__ = sorted(_SUBMODULE_OF)

__getattr__, __dir__ = lazy_exports(__name__, globals(), _SUBMODULE_OF)
