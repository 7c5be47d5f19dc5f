"""`llmrl train/eval ellm` through typer's CliRunner, with the tiny embedder injected."""

import json

import pytest
from typer.testing import CliRunner

from llmrl.cli import ellm_commands  # noqa: F401  (registers the commands)
from llmrl.cli.app import app
from llmrl.runtime.config import save_config

TINY = ["total_frames=80", "hidden=32", "log_every=40", "checkpoint_every=40", "env.num_envs=2", "env.length=50",
        "dqn.batch_size=8", "dqn.learning_starts=16", "dqn.buffer_size=256", "dqn.epsilon_decay_steps=100"]


@pytest.fixture
def fake_embedder(monkeypatch, embedder):
    monkeypatch.setattr("llmrl.train.ellm.build_embedder", lambda cfg: embedder)
    return embedder


def test_cli_train_resume_eval_and_finetune(tmp_path, fake_embedder, tiny_cfg):
    runner = CliRunner()
    config = save_config(tiny_cfg(), tmp_path / "tiny.yaml")
    result = runner.invoke(app, ["train", "ellm", "--config", str(config), "--intrinsic", "novelty",
                                 "--root", str(tmp_path / "runs"), *TINY])
    assert result.exit_code == 0, result.output
    run = result.output.strip().splitlines()[-1]
    assert "intrinsic: novelty" in (tmp_path / "runs" / "ellm" / run.split("/")[-1] / "config.yaml").read_text()

    result = runner.invoke(app, ["train", "ellm", "--resume", run, "total_frames=120"])
    assert result.exit_code == 0, result.output

    result = runner.invoke(app, ["eval", "ellm", "--run", run, "--episodes", "2", "--epsilon", "0.1"])
    assert result.exit_code == 0, result.output
    assert "achievements/episode" in result.output
    report = json.loads((tmp_path / "runs" / "ellm" / run.split("/")[-1] / "eval" / "step-120.json").read_text())
    assert report["episodes"] == 2 and len(report["success_rates"]) == 22

    result = runner.invoke(app, ["train", "ellm", "--finetune-from", run, "--root", str(tmp_path / "runs"), *TINY])
    assert result.exit_code != 0 and "task=" in result.output
    result = runner.invoke(app, ["train", "ellm", "--finetune-from", run, "--root", str(tmp_path / "runs"),
                                 "--name", "cow", "task=attack_cow", "intrinsic=none", *TINY])
    assert result.exit_code == 0, result.output


def test_cli_rejects_bad_settings(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["train", "ellm", "--intrinsic", "curiosity", "--root", str(tmp_path)])
    assert result.exit_code != 0 and "curiosity" in result.output
    result = runner.invoke(app, ["eval", "ellm", "--run", str(tmp_path / "nowhere")])
    assert result.exit_code != 0 and "run directory" in result.output
    # Rejected before any model is loaded.
    result = runner.invoke(app, ["bench", "ellm", "--train-every", "0"])
    assert result.exit_code != 0 and "--train-every" in result.output
    result = runner.invoke(app, ["bench", "ellm", "--warm-repeats", "0"])
    assert result.exit_code != 0 and "--warm-repeats" in result.output
    result = runner.invoke(app, ["bench", "ellm", "--dueling-hidden", "-1"])
    assert result.exit_code != 0 and "--dueling-hidden" in result.output
    result = runner.invoke(app, ["bench", "ellm", "--intrinsic", "curiosity"])
    assert result.exit_code != 0 and "curiosity" in result.output
