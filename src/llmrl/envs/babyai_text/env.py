"""`BabyAITextEnv`: any minigrid BabyAI level as a text environment.

Observation (a `spaces.Dict`, passes gymnasium's `check_env`):
    {"mission": str, "descriptions": tuple[str, ...]}
`mission` is a `spaces.Text`; `descriptions` a `spaces.Sequence` of `spaces.Text`
(non-stacked sequences are tuples). Both use `CHARSET`, which covers every variant.

Info (every reset and step): "mission" (str), "descriptions" (list[str]), "success"
(bool), "task_type" (str; the level class name for plain BabyAI levels),
"valid_actions" (list[str], the variant's command names in index order).

Actions: an index in `Discrete(6)` or one of `valid_actions` as text
(`env.step("go forward")`); anything else raises ValueError listing the valid ones.
Reward: minigrid's `1 - 0.9 * step_count / max_steps` on success, 0 otherwise.
"""

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from minigrid.envs.babyai.core.roomgrid_level import RoomGridLevel

from llmrl.envs.babyai_text.describe import describe
from llmrl.envs.babyai_text.lexicon import CHARSET, ENGLISH, get_lexicon

MAX_TEXT_LENGTH = 512


class BabyAITextEnv(gym.Env):
    """Text view of a BabyAI level: mission + description sentences, six text actions."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, level: RoomGridLevel, variant: str | None = None):
        if not isinstance(level, RoomGridLevel):
            raise TypeError(f"level must be a minigrid BabyAI RoomGridLevel, got {type(level).__name__}")
        self.level = level
        self.variant = variant
        self.lexicon = get_lexicon(variant)
        self.render_mode = level.render_mode
        self.action_space = spaces.Discrete(len(self.lexicon.actions))
        text = spaces.Text(MAX_TEXT_LENGTH, min_length=0, charset=CHARSET)
        self.observation_space = spaces.Dict({"mission": text, "descriptions": spaces.Sequence(text, stack=False)})
        self._action_index = {name: i for i, name in enumerate(self.lexicon.actions)}
        self._mission = ""
        # Seed used by the first reset() that gets none (make_vec seeds sub-envs this way).
        self.first_reset_seed: int | None = None

    @property
    def valid_actions(self) -> list[str]:
        """Text commands accepted by `step`, in action-index order."""
        return list(self.lexicon.actions)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is None and self.first_reset_seed is not None:
            seed = self.first_reset_seed
        self.first_reset_seed = None
        super().reset(seed=seed)
        obs, _ = self.level.reset(seed=seed, options=options)
        # The reference English mission is minigrid's own; variants re-render the instruction tree.
        self._mission = self.level.mission if self.lexicon is ENGLISH else self.lexicon.mission(self.level.instrs)
        return self._observe(obs["image"], success=False)

    def step(self, action: int | np.integer | str):
        obs, reward, terminated, truncated, _ = self.level.step(self._to_index(action))
        observation, info = self._observe(obs["image"], success=bool(terminated and reward > 0))
        return observation, float(reward), bool(terminated), bool(truncated), info

    def render(self) -> np.ndarray | None:
        return self.level.render()

    def close(self) -> None:
        self.level.close()

    def _to_index(self, action: int | np.integer | str) -> int:
        if isinstance(action, str):
            index = self._action_index.get(action.strip())
            if index is None:
                raise ValueError(f"unknown action {action!r}; valid actions: {', '.join(self.lexicon.actions)}")
            return index
        is_int = isinstance(action, (int, np.integer)) and not isinstance(action, bool)
        if is_int and 0 <= action < len(self._action_index):
            return int(action)
        raise ValueError(
            f"action must be an index in [0, {len(self._action_index)}) or one of: {', '.join(self.lexicon.actions)}; "
            f"got {action!r}"
        )

    def _observe(self, image: np.ndarray, success: bool) -> tuple[dict, dict]:
        descriptions = describe(image, self.level.carrying, self.lexicon)
        observation = {"mission": self._mission, "descriptions": tuple(descriptions)}
        info = {
            "mission": self._mission,
            "descriptions": descriptions,
            "success": success,
            "task_type": getattr(self.level, "task_type", type(self.level).__name__),
            "valid_actions": self.valid_actions,
        }
        return observation, info
