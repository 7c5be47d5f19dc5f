"""ELLM trainer: short runs produce finite losses and metrics; checkpoints resume exactly; configs are checked."""

import csv
import math

import pytest
import torch

from llmrl.runtime.checkpoint import latest_checkpoint
from llmrl.train import ConfigError, RunDir, load_config
from llmrl.train.ellm import train_ellm
from llmrl.train.ellm_config import EllmConfig

EXPECTED_COLUMNS = {"step", "frames", "episodes", "epsilon", "fps", "loss", "q_mean", "achievements_per_episode",
                    "crafter_score", "intrinsic_reward_mean", "intrinsic/reward_mean"}


def rows_of(run: RunDir) -> list[dict[str, str]]:
    with run.metrics_path.open() as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("intrinsic", ["none", "oracle"])
def test_short_run_logs_finite_losses_and_achievements(tmp_path, embedder, tiny_cfg, intrinsic):
    run = train_ellm(tiny_cfg(intrinsic=intrinsic, out_dir=str(tmp_path)), embedder=embedder)
    rows = rows_of(run)
    assert EXPECTED_COLUMNS <= set(rows[0])
    assert [int(r["frames"]) for r in rows] == [40, 80, 120, 160]
    losses = [float(r["loss"]) for r in rows]
    assert all(math.isfinite(v) for v in losses)
    assert int(rows[-1]["episodes"]) >= 2 and float(rows[-1]["achievements_per_episode"]) >= 0
    assert latest_checkpoint(run.path).name == "step-0000000160"
    if intrinsic == "oracle":
        assert "intrinsic/suggester/feasible_share" in rows[0]


def test_resume_continues_exactly(tmp_path, embedder, tiny_cfg):
    cfg = tiny_cfg(intrinsic="oracle", out_dir=str(tmp_path / "a"))
    straight = train_ellm(cfg, embedder=embedder)
    half = train_ellm(tiny_cfg(intrinsic="oracle", total_frames=80, out_dir=str(tmp_path / "b")), embedder=embedder)
    resumed = train_ellm(cfg, resume=half.path, embedder=embedder)
    assert resumed.path == half.path
    from safetensors.torch import load_file

    for module in ("q", "target"):
        want = load_file(str(latest_checkpoint(straight.path) / f"module.{module}.safetensors"))
        got = load_file(str(latest_checkpoint(resumed.path) / f"module.{module}.safetensors"))
        assert want.keys() == got.keys()
        for key in want:
            torch.testing.assert_close(got[key], want[key], rtol=0, atol=0)
    assert [r["loss"] for r in rows_of(resumed)] == [r["loss"] for r in rows_of(straight)]


def test_finetune_from_pretrained_rewards_only_the_task(tmp_path, embedder, tiny_cfg):
    pretrained = train_ellm(tiny_cfg(total_frames=40, out_dir=str(tmp_path)), embedder=embedder)
    cfg = tiny_cfg(total_frames=40, task="chop_tree", finetune_from=str(pretrained.path), out_dir=str(tmp_path),
                   name="finetune")
    run = train_ellm(cfg, embedder=embedder)
    assert cfg.task_goal == "chop tree" and cfg.task_caption == "chop tree"
    assert all(math.isfinite(float(r["loss"])) for r in rows_of(run))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("intrinsic=curiosity", "not one of ellm"),
        ("task=fly_away", "not a Crafter goal"),
        ("threshold=2", r"\[-1, 1\]"),
        ("env.action_set=all", "action_set"),
        ("suggester.form=magic", "closed-form"),
        ("dqn.lr=-1", "must be > 0"),
        ("env.num_envz=3", "did you mean 'num_envs'"),
        ("dueling_hidden=-2", "dueling_hidden must be >= 0"),
    ],
)
def test_config_errors_name_the_problem(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(EllmConfig, None, [override])


def test_closed_form_with_server_is_rejected():
    with pytest.raises(ConfigError, match="open-ended"):
        load_config(EllmConfig, None, ["suggester.base_url=http://x", "suggester.server_model=m"])
