"""Gymnasium ids of BabyAI-Text and the constructors behind them.

`BabyAIText-<Task>-v0` ids take `room_size`, `num_dists`, `split`, `variant` and
`render_mode` keyword arguments; any minigrid `BabyAI-*` id works through `make`.
"""

from collections.abc import Callable

import gymnasium as gym
from gymnasium.vector import SyncVectorEnv
from minigrid.envs.babyai.core.roomgrid_level import RoomGridLevel

from llmrl.envs.babyai_text.env import BabyAITextEnv
from llmrl.envs.babyai_text.levels import TASKS, GlamLevel

# id suffix -> (tasks, split)
GLAM_TASKS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "GoTo": (("goto",), None),
    "PickUp": (("pickup",), None),
    "PutNext": (("putnext",), None),
    "Open": (("open",), None),
    "PickUpThenGoTo": (("pickup_then_goto",), None),
    "GoToAfterPickUp": (("goto_after_pickup",), None),
    "MixedTrainLocal": (TASKS, "train"),
    "MixedTestLocal": (TASKS, "test"),
}
GLAM_IDS = tuple(f"BabyAIText-{name}-v0" for name in GLAM_TASKS)
_ENTRY_POINT = "llmrl.envs.babyai_text.registry:make_glam_env"


def register_envs() -> None:
    """Register every GLAM id with gymnasium (idempotent)."""
    import minigrid  # noqa: F401  (registers the BabyAI-* ids `make` accepts)

    for name, (tasks, split) in GLAM_TASKS.items():
        env_id = f"BabyAIText-{name}-v0"
        if env_id not in gym.registry:
            gym.register(env_id, entry_point=_ENTRY_POINT, kwargs={"tasks": tasks, "split": split})


def make_glam_env(variant: str | None = None, render_mode: str | None = None, **level_kwargs) -> BabyAITextEnv:
    """Entry point of the BabyAIText ids: a `GlamLevel` seen through `BabyAITextEnv`."""
    return BabyAITextEnv(GlamLevel(render_mode=render_mode, **level_kwargs), variant=variant)


def make_level(env_id: str, **kwargs) -> RoomGridLevel:
    """The bare minigrid level behind a BabyAIText or BabyAI id (no text, no wrappers)."""
    register_envs()
    if env_id in GLAM_IDS:
        tasks, split = GLAM_TASKS[env_id.split("-")[1]]
        return GlamLevel(**{"tasks": tasks, "split": split, **kwargs})
    if not env_id.startswith("BabyAI-") or env_id not in gym.registry:
        known = ", ".join(GLAM_IDS)
        raise ValueError(f"unknown env id {env_id!r}: expected one of {known}, or a minigrid 'BabyAI-*' id")
    level = gym.make(env_id, **kwargs).unwrapped
    if not isinstance(level, RoomGridLevel):
        raise ValueError(f"{env_id!r} is not a BabyAI level (RoomGridLevel): {type(level).__name__}")
    return level


def make(env_id: str, variant: str | None = None, **kwargs) -> BabyAITextEnv:
    """A text env for a BabyAIText id or any minigrid `BabyAI-*` id, e.g. make("BabyAI-GoToRedBall-v0")."""
    return BabyAITextEnv(make_level(env_id, **kwargs), variant=variant)


def make_vec(env_id: str, num_envs: int, seed: int | None = None, **kwargs) -> SyncVectorEnv:
    """`num_envs` text envs stepped together (gymnasium SyncVectorEnv, next-step autoreset).

    Sub-env i starts from seed `seed + i` on its first reset, even a plain `reset()`
    (as `reset(seed=seed)` would do), and its action space is seeded the same way. Observations come out as
    {"mission": tuple[str, ...], "descriptions": tuple[tuple[str, ...], ...]} (one
    entry per env); infos as gymnasium batches them: info[key] is an array of length
    num_envs (dtype object for strings and lists) with a boolean mask info["_" + key].
    """
    if not isinstance(num_envs, int) or num_envs < 1:
        raise ValueError(f"num_envs must be a positive int, got {num_envs!r}")

    def thunk(index: int) -> Callable[[], BabyAITextEnv]:
        def build() -> BabyAITextEnv:
            env = make(env_id, **kwargs)
            if seed is not None:
                env.first_reset_seed = seed + index
                env.action_space.seed(seed + index)
            return env

        return build

    return SyncVectorEnv([thunk(i) for i in range(num_envs)])
