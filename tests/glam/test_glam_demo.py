"""`llmrl demo` end to end with the cpu-demo preset's fast-path settings on a tiny random Llama."""

from typer.testing import CliRunner

from llmrl.cli import glam_commands  # noqa: F401  (registers the commands)
from llmrl.cli.app import app
from llmrl.cli.preset_commands import config_file
from llmrl.runtime.config import load_config
from llmrl.train.glam import GlamConfig


def test_the_demo_preset_uses_the_whole_fast_path():
    cfg = load_config(GlamConfig, config_file("glam/cpu-demo", "glam"))
    assert cfg.model == "smollm2-135m" and cfg.lora and cfg.lora_layers is not None
    assert cfg.trunk_cache and cfg.reuse_prefix and cfg.precision == "auto"
    assert cfg.num_updates >= 4  # several points on the training curve


def test_demo_evaluates_trains_and_compares_on_the_same_episodes(tmp_path):
    result = CliRunner().invoke(app, [
        "demo", "--episodes", "2", "--threads", "1", "model=tiny-llama", "tiny_layers=2", "lora_layers=1",
        "num_envs=2", "num_steps=4", "total_frames=16", "minibatch_size=8", "value_inner=16",
        f"out_dir={tmp_path}", "tensorboard=false"])
    assert result.exit_code == 0, result.output
    assert "pretrained (before)" in result.output and "trained (after)" in result.output
    # Before training and after each of the 2 updates, on the same episodes.
    for frames in (0, 8, 16):
        assert f"{frames:>6} frames: success" in result.output
    run = next((tmp_path / "glam").iterdir())
    assert (run / "metrics.csv").read_text().count("\n") == 3
    assert "| training frames |" in (run / "eval.md").read_text()
    assert [line.split(" | ")[0] for line in (run / "eval.md").read_text().splitlines()[-3:]] == ["| 0", "| 8", "| 16"]
    assert (run / "plots" / "eval_success_vs_frames.png").stat().st_size > 0
