"""`llmrl train glam` and `llmrl eval glam` through typer's CliRunner on a tiny model."""

import json

from typer.testing import CliRunner

from llmrl.cli import glam_commands  # noqa: F401  (registers the commands)
from llmrl.cli.app import app

RUNNER = CliRunner()
TINY = [
    "model=tiny-llama", "env_id=BabyAIText-GoTo-v0", "room_size=5", "num_dists=1", "history=1",
    "value_inner=16", "num_envs=2", "num_steps=4", "total_frames=8", "epochs=1", "minibatch_size=8",
    "tensorboard=false",
]


def test_train_glam_rejects_an_unknown_key_naming_the_valid_ones(tmp_path):
    preset = tmp_path / "bad.yaml"
    preset.write_text("num_env: 4\n")
    result = RUNNER.invoke(app, ["train", "glam", "--config", str(preset)])
    assert result.exit_code == 1
    assert "unknown key 'num_env'" in result.output and "did you mean 'num_envs'" in result.output


def test_train_then_eval_a_one_update_tiny_run(tmp_path):
    preset = tmp_path / "tiny.yaml"
    preset.write_text("\n".join(line.replace("=", ": ", 1) for line in TINY) + f"\nout_dir: {tmp_path}\n")
    trained = RUNNER.invoke(app, ["train", "glam", "--config", str(preset)])
    assert trained.exit_code == 0, trained.output
    run = next((tmp_path / "glam").iterdir())
    assert (run / "config.yaml").is_file() and (run / "metrics.csv").read_text().count("\n") == 2
    assert (run / "checkpoints" / "latest").is_file()
    evaluated = RUNNER.invoke(app, ["eval", "glam", "--run", str(run), "--episodes", "3"])
    assert evaluated.exit_code == 0, evaluated.output
    result = json.loads(evaluated.output.strip().splitlines()[-1])
    assert result["episodes"] == 3 and 0.0 <= result["ci_low"] <= result["success_rate"] <= result["ci_high"] <= 1.0


def test_eval_glam_needs_exactly_one_policy_source():
    result = RUNNER.invoke(app, ["eval", "glam", "--episodes", "2"])
    assert result.exit_code != 0 and "--run" in result.output
