"""BabyAI as a text environment, as in GLAM (Carta et al., 2023), seeded and reproducible.

Importing this package registers the ids `BabyAIText-{GoTo, PickUp, PutNext, Open,
PickUpThenGoTo, GoToAfterPickUp, MixedTrainLocal, MixedTestLocal}-v0`.
See `env.py` for the observation, info and action API, `lexicon.py` for variants.
"""

from llmrl.envs.babyai_text.describe import describe
from llmrl.envs.babyai_text.env import BabyAITextEnv
from llmrl.envs.babyai_text.expert import ExpertStep, expert_trajectories
from llmrl.envs.babyai_text.levels import HELD_OUT_PAIRS, TASKS, GlamLevel
from llmrl.envs.babyai_text.lexicon import (
    ACTIONS,
    VARIANTS,
    Lexicon,
    get_lexicon,
    variant_action_names,
    variant_prompt_headers,
)
from llmrl.envs.babyai_text.registry import GLAM_IDS, make, make_level, make_vec, register_envs

register_envs()

__all__ = [
    "ACTIONS",
    "GLAM_IDS",
    "HELD_OUT_PAIRS",
    "TASKS",
    "VARIANTS",
    "BabyAITextEnv",
    "ExpertStep",
    "GlamLevel",
    "Lexicon",
    "describe",
    "expert_trajectories",
    "get_lexicon",
    "make",
    "make_level",
    "make_vec",
    "variant_action_names",
    "variant_prompt_headers",
]
