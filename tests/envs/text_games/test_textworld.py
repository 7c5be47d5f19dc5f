"""TextWorld games generated locally: reproducible from their seed, a valid gymnasium text env, playable."""

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env
from typer.testing import CliRunner

pytest.importorskip("textworld")  # a guard only: textworld is locked in requirements.lock for CI

from llmrl.envs.text_games import TextWorldEnv, TextWorldGame, game_file, generate_game  # noqa: E402

SEED = 3  # its game: go east, take the latchkey, unlock the box (3 commands, 1 point)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One cache for the module: each game is compiled once (~4 s)."""
    root = tmp_path_factory.mktemp("tw-cache")
    game_file(TextWorldGame(), SEED, root)
    return root


def test_same_seed_same_game_other_seed_other_game(cache, tmp_path):
    spec = TextWorldGame()
    assert generate_game(spec, SEED).serialize() == generate_game(spec, SEED).serialize()
    assert generate_game(spec, SEED + 1).serialize() != generate_game(spec, SEED).serialize()
    # Compiled afresh elsewhere: the very same bytes as the cached copy.
    assert game_file(spec, SEED, tmp_path).read_bytes() == game_file(spec, SEED, cache).read_bytes()


def test_env_passes_check_env(cache):
    env = TextWorldEnv(game_seeds=[SEED], cache_dir=cache)
    check_env(env, skip_render_check=True)
    env.close()


def test_walkthrough_wins_with_score_rewards_and_info(cache):
    env = gym.make("TextWorldText-v0", game_seeds=[SEED], cache_dir=cache)
    obs, info = env.reset(seed=0)
    assert isinstance(obs, str) and "$$" not in obs and info["game_seed"] == SEED
    assert {"goal", "admissible_commands", "description", "inventory", "walkthrough"} <= info.keys()
    assert "east" in info["goal"] and "go east" in info["admissible_commands"]
    total, terminated = 0.0, False
    for command in info["walkthrough"]:
        assert command in info["admissible_commands"]
        obs, reward, terminated, truncated, info = env.step(command)
        total += reward
    assert terminated and not truncated and info["won"] and total == info["max_score"] == 1
    env.close()


def test_reset_seed_reproduces_episode_and_index_actions_and_truncation(cache):
    env = TextWorldEnv(game_seeds=[SEED], cache_dir=cache, max_steps=2)
    first = env.reset(seed=1)
    obs, reward, terminated, truncated, info = env.step(first[1]["admissible_commands"].index("look"))
    assert (reward, terminated, truncated) == (0.0, False, False) and obs.startswith("-= ")
    obs, reward, terminated, truncated, info = env.step("look")
    assert truncated and not terminated
    assert env.reset(seed=1) == first
    with pytest.raises(ValueError):
        env.step(99)
    env.close()


def test_play_textworld_cli_script_and_walkthrough(cache, monkeypatch):
    from llmrl.cli import text_game_commands  # noqa: F401  (registers the commands)
    from llmrl.cli.app import app

    # The CLI's default cache is $LLMRL_CACHE_DIR/textworld: point it at the module's games.
    monkeypatch.setenv("LLMRL_CACHE_DIR", str(cache.parent))
    (cache.parent / "textworld").mkdir(exist_ok=True)
    for item in cache.iterdir():
        target = cache.parent / "textworld" / item.name
        if not target.exists():
            target.symlink_to(item)
    runner = CliRunner()
    result = runner.invoke(app, ["play", "textworld", "--seed", str(SEED), "--commands", "go east;8;look;q"])
    assert result.exit_code == 0, result.output
    assert "game seed 3" in result.output and "> go east" in result.output and "> take type X latchkey" in result.output
    assert "Bye: 3 commands, 0 episodes finished." in result.output
    result = runner.invoke(app, ["play", "textworld", "--seed", str(SEED), "--walkthrough", "--show", "0"])
    assert result.exit_code == 0, result.output
    assert "Episode 0 won: score 1/1." in result.output
    assert runner.invoke(app, ["play", "textworld", "--challenge", "nope"]).exit_code != 0


def test_zero_shot_eval_cli_on_textworld(cache, tmp_path, monkeypatch):
    import json

    from llmrl.cli import text_game_commands  # noqa: F401  (registers the commands)
    from llmrl.cli.app import app
    from llmrl.lm import tiny_random_lm

    monkeypatch.setenv("LLMRL_CACHE_DIR", str(cache.parent))
    model_dir = tiny_random_lm("llama").save_pretrained(tmp_path / "tiny")
    result = CliRunner().invoke(app, [
        "eval", "text-game", "--env", "textworld", "--model", str(model_dir), "--episodes", "1", "--max-steps", "3",
        "--seed", str(SEED), "--chunk", "4", "--threads", "1", "--json",
    ])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output.strip().splitlines()[-1])
    assert out["env"] == "textworld" and out["episodes"] == 1 and out["rows"][0]["game"] == "textworld seed 3"
    assert 1 <= out["rows"][0]["steps"] <= 3


def test_challenge_settings_default_and_missing_ones_are_clear():
    from llmrl.envs.text_games.textworld_env import challenge_settings

    cooking = challenge_settings("tw-cooking", {"recipe": 2})
    assert cooking["recipe"] == 2 and cooking["go"] == 1 and cooking["split"] is None
    with pytest.raises(ValueError, match="'level'"):
        generate_game(TextWorldGame("tw-coin_collector"), 0)
    with pytest.raises(ValueError, match="unknown TextWorld challenge"):
        TextWorldGame("tw-nope")
