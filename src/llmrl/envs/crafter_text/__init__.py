"""Text Crafter: Crafter with text states, ground-truth transition captions, goals and metrics.

Importing this module registers `CrafterText-v0` with gymnasium (once).
"""

import gymnasium as gym

from llmrl.envs.crafter_text.actions import PRIMITIVE_ACTIONS, VERB_NOUN_ACTIONS, ActionSet
from llmrl.envs.crafter_text.env import PAPER_LENGTH, STOCK_LENGTH, CrafterTextEnv
from llmrl.envs.crafter_text.goals import ALIASES, GOALS, canonical_goal, feasible_goals
from llmrl.envs.crafter_text.state import CrafterState
from llmrl.envs.crafter_text.stock import StockCrafter

ENV_ID = "CrafterText-v0"

if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point="llmrl.envs.crafter_text.env:CrafterTextEnv")

__all__ = [
    "ALIASES",
    "ENV_ID",
    "GOALS",
    "PAPER_LENGTH",
    "PRIMITIVE_ACTIONS",
    "STOCK_LENGTH",
    "VERB_NOUN_ACTIONS",
    "ActionSet",
    "CrafterState",
    "CrafterTextEnv",
    "StockCrafter",
    "canonical_goal",
    "feasible_goals",
]
