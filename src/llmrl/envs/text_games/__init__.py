"""Text games with a changing set of candidate actions: TextWorld and ScienceWorld.

Both are optional dependencies (`pip install 'llmrl[textworld]'`, `'llmrl[scienceworld]'`);
this package imports without them and says what to install when an env is made.
Every env here follows the candidate contract of `common.py`: a text observation,
`info["goal"]` and `info["admissible_commands"]`; `CandidatePromptEnv` turns any such env into
a PPO env for GLAM (observations `CandidatePrompt(prompt, candidates)`, integer actions).
Importing the package registers the gymnasium ids `TextWorldText-v0` and `ScienceWorldText-v0`.
"""

import gymnasium as gym

from llmrl.envs.text_games.candidate_env import CandidatePromptEnv, CandidatePromptSpace, TextGameSettings
from llmrl.envs.text_games.common import CandidatePrompt, candidates
from llmrl.envs.text_games.prompt import TextGamePrompter, text_game_prompt
from llmrl.envs.text_games.scienceworld_env import ScienceWorldTextEnv
from llmrl.envs.text_games.textworld_env import CHALLENGES, TextWorldEnv, TextWorldGame, game_file, generate_game

IDS = {
    "TextWorldText-v0": "llmrl.envs.text_games.textworld_env:TextWorldEnv",
    "ScienceWorldText-v0": "llmrl.envs.text_games.scienceworld_env:ScienceWorldTextEnv",
}


def register_envs() -> None:
    """Register the gymnasium ids (idempotent)."""
    for env_id, entry_point in IDS.items():
        if env_id not in gym.registry:
            gym.register(env_id, entry_point=entry_point)


register_envs()

__all__ = [
    "CHALLENGES",
    "IDS",
    "CandidatePrompt",
    "CandidatePromptEnv",
    "CandidatePromptSpace",
    "ScienceWorldTextEnv",
    "TextGamePrompter",
    "TextGameSettings",
    "TextWorldEnv",
    "TextWorldGame",
    "candidates",
    "game_file",
    "generate_game",
    "register_envs",
    "text_game_prompt",
]
