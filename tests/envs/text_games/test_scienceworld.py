"""ScienceWorld (a JVM per env): a valid gymnasium text env whose candidates are its valid actions."""

import pytest
from gymnasium.utils.env_checker import check_env
from typer.testing import CliRunner

pytest.importorskip("scienceworld")  # a guard only: scienceworld is locked in requirements.lock for CI

from llmrl.envs.text_games.scienceworld_env import ScienceWorldTextEnv  # noqa: E402

TASK = "find-living-thing"  # variation 0: a 10-action gold path


@pytest.fixture(scope="module")
def env():
    env = ScienceWorldTextEnv(TASK, split="dev", max_steps=30)
    yield env
    env.close()


def test_check_env_and_reset_reproduces_from_seed(env):
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=5)
    assert info["task"] == TASK and info["variation"] in env.variations(TASK)
    assert info["goal"].startswith("Your task is to find") and "look around" in info["admissible_commands"]
    assert len(info["admissible_commands"]) > 100 and info["admissible_commands"] == sorted(info["admissible_commands"])
    assert env.reset(seed=5) == (obs, info)


def test_gold_path_solves_the_task_with_rewards_summing_to_one(env):
    options = {"task": TASK, "variation": 0}
    env.reset(options=options)
    gold = env.gold_actions()
    obs, info = env.reset(options=options)
    total, terminated = 0.0, False
    for action in gold:
        obs, reward, terminated, truncated, info = env.step(action)
        total += reward
        if terminated or truncated:
            break
    assert terminated and info["won"] and info["score"] == 100 and total == pytest.approx(1.0)


def test_index_actions_truncation_and_zero_shot_eval(env):
    from llmrl.eval.text_games import evaluate_zero_shot
    from llmrl.lm import tiny_random_lm

    env.max_steps = 2
    try:
        _, info = env.reset(options={"task": TASK, "variation": 0})
        _, _, terminated, truncated, info = env.step(info["admissible_commands"].index("look around"))
        assert not terminated and not truncated
        rows, summary = evaluate_zero_shot(tiny_random_lm("llama"), env, 1, method="kv")
        assert rows[0]["steps"] == 2 and summary["episodes"] == 1 and summary["success_rate"] == 0.0
    finally:
        env.max_steps = 30


def test_play_scienceworld_cli_gold():
    from llmrl.cli import text_game_commands  # noqa: F401  (registers the commands)
    from llmrl.cli.app import app

    result = CliRunner().invoke(app, ["play", "scienceworld", "--task", TASK, "--gold", "--show", "0"])
    assert result.exit_code == 0, result.output
    assert "Episode 0 won: score 100/?." in result.output
