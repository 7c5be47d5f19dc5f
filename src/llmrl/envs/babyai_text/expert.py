"""Expert demonstrations in text form, from minigrid's BabyAIBot."""

from collections.abc import Iterator
from dataclasses import dataclass

from minigrid.utils.baby_ai_bot import BabyAIBot

from llmrl.envs.babyai_text.registry import make


@dataclass(frozen=True)
class ExpertStep:
    """One expert decision: what the agent saw, what the bot did, and what followed."""

    episode: int
    step: int
    mission: str
    descriptions: tuple[str, ...]
    action: str
    action_index: int
    reward: float
    done: bool
    success: bool


def expert_trajectories(env_id: str, episodes: int, seed: int = 0, **kwargs) -> Iterator[ExpertStep]:
    """Yield the bot's steps for `episodes` episodes reset with seeds `seed`, `seed + 1`, ...

    `kwargs` go to `make` (room_size, num_dists, variant, ...). An episode ends when
    the env terminates or truncates; if the bot declares the mission done without the
    env agreeing, the episode stops there and its last step is marked done.
    """
    if not isinstance(episodes, int) or episodes < 0:
        raise ValueError(f"episodes must be a non-negative int, got {episodes!r}")
    env = make(env_id, **kwargs)
    done_action = env.level.actions.done
    try:
        for episode in range(episodes):
            obs, _ = env.reset(seed=seed + episode)
            bot = BabyAIBot(env.level)
            step, action, done = 0, bot.replan(), False
            while not done and action != done_action:
                next_obs, reward, terminated, truncated, info = env.step(int(action))
                done = terminated or truncated
                next_action = None if done else bot.replan()
                yield ExpertStep(
                    episode=episode,
                    step=step,
                    mission=obs["mission"],
                    descriptions=obs["descriptions"],
                    action=env.valid_actions[int(action)],
                    action_index=int(action),
                    reward=reward,
                    done=done or next_action == done_action,
                    success=info["success"],
                )
                obs, action, step = next_obs, next_action, step + 1
    finally:
        env.close()
