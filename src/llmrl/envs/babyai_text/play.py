"""Play a BabyAI-Text env in a terminal: read commands, show text and rewards."""

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from llmrl.envs.babyai_text.env import BabyAITextEnv


def play(
    env: BabyAITextEnv,
    seed: int,
    read_line: Callable[[], str],
    write: Callable[[str], None],
    frames_dir: Path | None = None,
) -> int:
    """Run episodes (seeds seed, seed+1, ...) until 'q' or end of input; returns the steps taken.

    A command is an action index or its text; frames (rgb_array renders) go to
    `frames_dir/frame_00000.png`, ... when given (the env must render rgb_array).
    """
    if frames_dir is not None:
        frames_dir.mkdir(parents=True, exist_ok=True)
    frame, steps, episode = 0, 0, 0

    def save_frame() -> None:
        nonlocal frame
        if frames_dir is not None:
            Image.fromarray(np.asarray(env.render())).save(frames_dir / f"frame_{frame:05d}.png")
            frame += 1

    menu = ", ".join(f"{i}: {name}" for i, name in enumerate(env.valid_actions))
    obs, _ = env.reset(seed=seed)
    save_frame()
    write(f"Episode {episode} (seed {seed}). Actions: {menu}; q quits.")
    while True:
        write(f"Mission: {obs['mission']}")
        for sentence in obs["descriptions"]:
            write(f"  {sentence}")
        command = read_line()
        if command == "" or command.strip() == "q":  # "" is end of input
            write("Bye.")
            return steps
        command = command.strip()
        action: int | str = int(command) if command.isdigit() else command
        try:
            obs, reward, terminated, truncated, info = env.step(action)
        except ValueError as error:
            write(str(error))
            continue
        steps += 1
        save_frame()
        write(f"reward: {reward:.3f}")
        if terminated or truncated:
            write(f"Episode {episode} {'solved' if info['success'] else 'ended'}, reward {reward:.3f}.")
            episode += 1
            obs, _ = env.reset(seed=seed + episode)
            save_frame()
            write(f"Episode {episode} (seed {seed + episode}).")
