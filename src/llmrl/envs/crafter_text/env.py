"""`CrafterText-v0`: Crafter as a gymnasium text environment with ground-truth captions."""

import string
from typing import Any

import gymnasium as gym
import numpy as np
from crafter import constants, objects
from gymnasium import spaces

from llmrl.envs.crafter_text import captions
from llmrl.envs.crafter_text.actions import ActionSet
from llmrl.envs.crafter_text.game import RenderFreeCrafter
from llmrl.envs.crafter_text.state import CrafterState, observe

STOCK_LENGTH = 10000  # crafter's default episode length
PAPER_LENGTH = 400  # the ELLM paper's episodes
TEXT_CHARSET = string.ascii_letters + string.digits + " ,._"
TEXT_MAX_LENGTH = 1024
_CREATURE_TYPES = (objects.Zombie, objects.Skeleton, objects.Cow)


class CrafterTextEnv(gym.Env):
    """Crafter with text observations, transition captions and achievements in `info`.

    Observation: {"text": state caption + inventory + status} (+ "image": 64x64x3 uint8 when
    `image=True`). Actions: an index of the action set, or its name. Reward: crafter's (+1 on a
    first unlock in the episode, +-0.1 per health point; no health term with `paper_tweaks`).
    `terminated` when the player dies, `truncated` after `length` steps.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self,
        length: int = STOCK_LENGTH,
        action_set: str = "primitive",
        paper_tweaks: bool = False,
        image: bool = False,
        seed: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        if not isinstance(length, int) or length < 1:
            raise ValueError(
                f"length must be a positive int (crafter: {STOCK_LENGTH}, paper: {PAPER_LENGTH}), got {length!r}"
            )
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        if seed is not None and (not isinstance(seed, int) or seed < 0):
            raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")
        self.actions = ActionSet(action_set)
        self.action_space = spaces.Discrete(len(self.actions))
        observation = {"text": spaces.Text(TEXT_MAX_LENGTH, min_length=1, charset=TEXT_CHARSET)}
        if image:
            observation["image"] = spaces.Box(0, 255, (64, 64, 3), np.uint8)
        self.observation_space = spaces.Dict(observation)
        self.render_mode = render_mode
        self.length = length
        self.paper_tweaks = paper_tweaks
        self._default_seed = seed
        self._seeded = False
        self.game = RenderFreeCrafter(length=length, seed=seed or 0, paper_tweaks=paper_tweaks, image=image)
        self.state: CrafterState | None = None

    @property
    def action_names(self) -> tuple[str, ...]:
        """The text of each action, by index."""
        return self.actions.names

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        """Start an episode. `seed` makes it the first episode of that crafter seed; without it,
        the next episode of the current seed (as crafter.Env.reset does)."""
        super().reset(seed=seed)
        if seed is not None:
            self.game.reseed(seed)
        elif not self._seeded:
            first = self._default_seed if self._default_seed is not None else int(self.np_random.integers(2**31 - 1))
            self.game.reseed(first)
        self._seeded = True
        self.game.reset()
        obs, info = self._observe()
        info.update(transition_caption=None, achievements_unlocked=[])
        return obs, info

    def step(self, action: int | str) -> tuple[dict, float, bool, bool, dict]:
        """Play `action` (index or name); unknown names raise ValueError listing the valid ones."""
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        index = self.actions.index(action)
        player, world = self.game.player, self.game.world
        achievements_before = dict(player.achievements)
        was_sleeping = bool(player.sleeping)
        kept_asleep = was_sleeping and player.inventory["energy"] < constants.items["energy"]["max"]
        _, target = world[player.pos + np.asarray(player.facing)]
        creature = target if isinstance(target, _CREATURE_TYPES) else None
        creature_health = creature.health if creature is not None else 0

        dead, out_of_time = self.game.step(self.actions.crafter_action(index))

        unlocked = captions.gained(achievements_before, player.achievements)
        # The player's hit is the only damage a creature takes in the player's update; it happens
        # only if the action ran as `do` (a sleeping player with energy below max keeps sleeping).
        acted = player.action == "do" and not kept_asleep
        was_hurt = acted and creature is not None and creature.health < creature_health
        hurt = type(creature).__name__.lower() if was_hurt else None
        caption = captions.caption_transition(unlocked, hurt, fell_asleep=not was_sleeping and bool(player.sleeping))
        obs, info = self._observe()
        info.update(transition_caption=caption, achievements_unlocked=unlocked, action_name=self.actions.names[index])
        return obs, float(self.game.last_reward), bool(dead), bool(out_of_time and not dead), info

    def render(self) -> np.ndarray | None:
        """The 64x64x3 frame (render_mode='rgb_array'); does not change the game's course."""
        return self.game.render_image() if self.render_mode == "rgb_array" else None

    def _observe(self) -> tuple[dict, dict]:
        player = self.game.player
        table_wood = 1 if self.paper_tweaks else constants.place["table"]["uses"]["wood"]
        self.state = state = observe(self.game.world, player, table_wood)
        view_text = captions.describe_view(state)
        inventory_text = captions.describe_inventory(state.inventory)
        status_text = captions.describe_status(state.inventory)
        obs = {"text": " ".join(part for part in (view_text, inventory_text, status_text) if part)}
        if self.game.image:
            obs["image"] = self.game.frame
        info = {
            "state_caption": view_text,
            "inventory_caption": inventory_text,
            "status_caption": status_text,
            "inventory": state.inventory,
            "achievements": dict(player.achievements),
            "local_view": state.local_view,
            "player_pos": (int(player.pos[0]), int(player.pos[1])),
            "state": state,
        }
        return obs, info
