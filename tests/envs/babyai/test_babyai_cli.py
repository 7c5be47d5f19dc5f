"""`llmrl play babyai-text` with scripted input, and `llmrl bench env`."""

import json

from typer.testing import CliRunner

from llmrl.bench.env import bench_env
from llmrl.cli import babyai_commands  # noqa: F401  (registers the commands)
from llmrl.cli.app import app


def test_play_shows_text_accepts_commands_and_numbers_and_saves_frames(tmp_path):
    frames = tmp_path / "frames"
    result = CliRunner().invoke(
        app,
        ["play", "babyai-text", "--env", "BabyAIText-GoTo-v0", "--seed", "1", "--save-frames", str(frames)],
        input="go forward\n1\njump\nq\n",
    )
    assert result.exit_code == 0, result.output
    assert "Mission: go to " in result.output and "You see a wall" in result.output
    assert result.output.count("reward: ") == 2
    assert "unknown action 'jump'; valid actions: turn left" in result.output
    assert sorted(p.name for p in frames.iterdir()) == ["frame_00000.png", "frame_00001.png", "frame_00002.png"]


def test_play_variant_and_bad_env():
    runner = CliRunner()
    args = ["play", "babyai-text", "--env", "BabyAIText-Open-v0", "--variant", "french"]
    result = runner.invoke(app, args, input="avancer\n")
    assert result.exit_code == 0 and "Mission: ouvre la porte" in result.output
    assert runner.invoke(app, ["play", "babyai-text", "--env", "Nope-v0"]).exit_code != 0


def test_bench_env_json_last_line():
    result = CliRunner().invoke(app, ["bench", "env", "--env", "BabyAIText-GoTo-v0", "--steps", "200", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["raw_steps_per_s"] > 0 and summary["text_steps_per_s"] > 0
    assert summary["step_time_ratio"] == summary["raw_steps_per_s"] / summary["text_steps_per_s"]


def test_bench_env_rows_for_a_minigrid_id():
    rows, summary = bench_env("BabyAI-GoToRedBall-v0", steps=50, seed=0)
    assert [r["env"] for r in rows] == ["raw", "text"] and all(r["steps"] == 50 for r in rows)
