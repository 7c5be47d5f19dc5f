"""Zero-shot evaluation of a language model on candidate text games (TextWorld, ScienceWorld, any env
that gives `info["admissible_commands"]`), and of a trained GLAM policy on them.

At each step the prompt (`llmrl.envs.text_games.prompt`: goal, last observations and
actions) is scored against every candidate; the policy is the softmax of the scores, and
the action is its argmax (`greedy`) or a sample. Candidate sets of several hundred
(ScienceWorld lists up to a few thousand valid actions) are scored in chunks of `chunk`
with the shared method, or all at once with KV reuse (`method="kv"`, micro-batched inside).
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass

import gymnasium as gym
import numpy as np
import torch

from llmrl.envs.text_games.candidate_env import TextGameSettings
from llmrl.envs.text_games.common import candidates
from llmrl.envs.text_games.prompt import TextGamePrompter
from llmrl.eval.episodes import ActingPolicy, EvalResult, evaluate
from llmrl.eval.stats import success_rate_ci

METHODS = ("shared", "kv", "naive")


@dataclass(frozen=True)
class EpisodeResult:
    episode: int
    game: str  # "textworld seed 3", "boil variation 11"
    steps: int
    score: float
    max_score: float | None
    won: bool
    episode_return: float


def score_candidates(
    lm, prompt: str, options: list[str], method: str = "shared", normalize: str = "sum", chunk: int = 256
) -> torch.Tensor:
    """Log-likelihood of each candidate after `prompt` (1-D float32), in chunks of `chunk` candidates."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "kv":
        from llmrl.lm.kv_scoring import score_kv_reuse

        return score_kv_reuse(lm, [prompt], [options], normalize=normalize)[0]
    parts = [options[i : i + chunk] for i in range(0, len(options), chunk)]
    return torch.cat([lm.score([prompt], [part], method=method, normalize=normalize)[0] for part in parts])


def evaluate_zero_shot(
    lm,
    env: gym.Env,
    episodes: int,
    *,
    reset_options: Callable[[int], dict] | None = None,
    seed: int = 0,
    greedy: bool = True,
    method: str = "shared",
    normalize: str = "sum",
    chunk: int = 256,
    history: int = 2,
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[list[dict], dict]:
    """Play `episodes` episodes with the LM as policy; rows per episode and a summary.

    Episode i resets with seed `seed + i` and `reset_options(i)` (e.g. which game or task
    variation); sampling (greedy=False) uses its own generator seeded by `seed`.
    """
    rng = np.random.default_rng(seed)
    results: list[EpisodeResult] = []
    for i in range(episodes):
        prompter = TextGamePrompter(history=history)
        obs, info = env.reset(seed=seed + i, options=reset_options(i) if reset_options else None)
        prompt = prompter.reset(obs, info)
        game = _game_name(info)
        steps, total = 0, 0.0
        while True:
            options = candidates(info)
            with torch.no_grad():
                scores = score_candidates(lm, prompt, options, method, normalize, chunk)
            probs = torch.softmax(scores.double(), 0).numpy()
            choice = int(np.argmax(probs)) if greedy else int(rng.choice(len(options), p=probs / probs.sum()))
            progress(f"episode {i} ({game}) step {steps}: {options[choice]!r} of {len(options)}")
            obs, reward, terminated, truncated, info = env.step(options[choice])
            prompt = prompter.step(options[choice], obs)
            steps += 1
            total += reward
            if terminated or truncated:
                break
        results.append(EpisodeResult(i, game, steps, float(info.get("score", total)), info.get("max_score"),
                                     bool(info.get("won", False)), total))
    rate, low, high = success_rate_ci([r.won for r in results])
    summary = {
        "model": lm.name,
        "episodes": episodes,
        "success_rate": rate,
        "success_ci99": [low, high],
        "mean_score": float(np.mean([r.score for r in results])),
        "mean_return": float(np.mean([r.episode_return for r in results])),
        "mean_steps": float(np.mean([r.steps for r in results])),
        "policy": "greedy" if greedy else "sampled",
        "method": method,
        "normalize": normalize,
    }
    return [asdict(r) for r in results], summary


def evaluate_text_game_policy(policy: ActingPolicy, settings: TextGameSettings, *, episodes: int, seed: int = 0,
                              num_envs: int = 8) -> EvalResult:
    """A GLAM policy on `settings`' game: `eval.episodes.evaluate` (seeded episodes, sampled actions).

    Success is the game's win (`info["won"]`, see `CandidatePromptEnv`).
    """
    label = f"{settings.env} ({', '.join(settings.tasks)})" if settings.env == "scienceworld" else settings.env
    return evaluate(policy, settings.make_env, episodes, seed, num_envs=num_envs, env_id=label)


def _game_name(info: dict) -> str:
    if "game_seed" in info:
        return f"textworld seed {info['game_seed']}"
    if "task" in info:
        return f"{info['task']} variation {info.get('variation')}"
    return "episode"
