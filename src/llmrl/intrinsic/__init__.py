"""Intrinsic rewards: ELLM's LLM goal suggesters and similarity reward, and exploration baselines.

`make_suggester(kind, backend)` builds a goal suggester, `make_intrinsic(name, num_envs=...,
embedder=..., suggester=...)` the reward a trainer uses; `llmrl.intrinsic.base` documents the
per-step protocol.
"""

from typing import TYPE_CHECKING

from llmrl._lazy import lazy_exports

# Seen by type checkers and linters only; `name as name` marks an explicit re-export (PEP 484),
# since they cannot evaluate the computed `__all__` below.
if TYPE_CHECKING:
    from llmrl.intrinsic.apt import AptReward as AptReward
    from llmrl.intrinsic.base import INTRINSIC_NAMES as INTRINSIC_NAMES
    from llmrl.intrinsic.base import Embedder as Embedder
    from llmrl.intrinsic.base import GoalContext as GoalContext
    from llmrl.intrinsic.base import GoalSuggester as GoalSuggester
    from llmrl.intrinsic.base import IntrinsicReward as IntrinsicReward
    from llmrl.intrinsic.base import Transition as Transition
    from llmrl.intrinsic.base import context_from_info as context_from_info
    from llmrl.intrinsic.closed_form import ClosedFormSuggester as ClosedFormSuggester
    from llmrl.intrinsic.factory import SUGGESTER_KINDS as SUGGESTER_KINDS
    from llmrl.intrinsic.factory import make_intrinsic as make_intrinsic
    from llmrl.intrinsic.factory import make_suggester as make_suggester
    from llmrl.intrinsic.novelty import NoReward as NoReward
    from llmrl.intrinsic.novelty import NoveltyReward as NoveltyReward
    from llmrl.intrinsic.open_ended import OpenEndedSuggester as OpenEndedSuggester
    from llmrl.intrinsic.oracle import OracleSuggester as OracleSuggester
    from llmrl.intrinsic.parsing import dedupe_goals as dedupe_goals
    from llmrl.intrinsic.parsing import parse_goal_list as parse_goal_list
    from llmrl.intrinsic.rnd import RndReward as RndReward
    from llmrl.intrinsic.similarity import GoalSimilarityReward as GoalSimilarityReward

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
