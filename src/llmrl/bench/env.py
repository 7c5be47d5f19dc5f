"""Environment speed: steps/s of a raw env and of its text version, same seeds and actions.

BabyAI ids (`BabyAIText-*`, `BabyAI-*`): raw = the bare minigrid level, text = its
`BabyAITextEnv`. `CrafterText*` ids: raw = stock crafter with rendering
(`llmrl.envs.crafter_text.StockCrafter`), text = `gymnasium.make(id)`; crafter is
imported only for those ids.
"""

import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np


def time_steps(env: gym.Env, actions: np.ndarray, seed: int) -> float:
    """Seconds spent in `env.step` over `actions` (resets on episode end, not timed)."""
    env.reset(seed=seed)
    episode, spent = 0, 0.0
    for action in actions.tolist():
        start = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(action)
        spent += time.perf_counter() - start
        if terminated or truncated:
            episode += 1
            env.reset(seed=seed + episode)
    return spent


def env_pair(env_id: str, seed: int) -> tuple[gym.Env, gym.Env]:
    """(raw, text) environments for an id."""
    if env_id.startswith("CrafterText"):
        import llmrl.envs.crafter_text as crafter_text

        return crafter_text.StockCrafter(seed=seed), gym.make(env_id)
    from llmrl.envs.babyai_text import make, make_level

    return make_level(env_id), make(env_id)


def bench_env(
    env_id: str, steps: int, seed: int, repeats: int = 3, progress: Callable[[str], None] = lambda _: None
) -> tuple[list[dict], dict]:
    """Rows (one per env) and a summary with raw/text steps per second and their time ratio.

    Raw and text runs alternate `repeats` times and the fastest run of each counts, so
    load from other processes on the machine skews the ratio less.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    raw, text = env_pair(env_id, seed)
    # Same random actions for both: the text env then replays the raw env's episodes.
    num_actions = min(raw.action_space.n, text.action_space.n)
    actions = np.random.default_rng(seed).integers(0, num_actions, size=steps)
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive int, got {repeats!r}")
    best = {"raw": float("inf"), "text": float("inf")}
    for repeat in range(repeats):
        for name, env in (("raw", raw), ("text", text)):
            progress(f"timing {name} {env_id}: {steps} steps, run {repeat + 1}/{repeats}")
            best[name] = min(best[name], time_steps(env, actions, seed))
    raw.close()
    text.close()
    rows = [
        {"env": name, "env_id": env_id, "steps": steps, "seconds": spent, "steps_per_s": steps / spent}
        for name, spent in best.items()
    ]
    raw_rate, text_rate = rows[0]["steps_per_s"], rows[1]["steps_per_s"]
    summary = {
        "env_id": env_id,
        "raw_steps_per_s": raw_rate,
        "text_steps_per_s": text_rate,
        "step_time_ratio": raw_rate / text_rate,
    }
    return rows, summary
