"""End to end: `python -m llmrl train glam` as 2 gloo ranks (torchrun's variables), then resumed as 2 ranks."""

from __future__ import annotations

import csv
import json
import shutil
import sys

import pytest
from distributed_launch import launch
from safetensors.torch import load_file

from llmrl.presets import resolve_config

CONFIG = resolve_config("glam/cpu-tiny")
# Global counts: 4 envs and minibatches of 8 -> each rank steps 2 envs, minibatches of 4.
OVERRIDES = ["num_envs=4", "num_steps=4", "total_frames=32", "epochs=1", "minibatch_size=8", "grad_accum_steps=2",
             "checkpoint_every=1", "keep_checkpoints=0", "tensorboard=false", "name=ddp"]


def _train(*args: str) -> list:
    results = launch([sys.executable, "-m", "llmrl", "train", "glam", *args], world_size=2)
    for rank, result in enumerate(results):
        assert result.returncode == 0, f"rank {rank} failed:\n{result.stderr[-3000:]}"
    return results


def test_two_ranks_train_log_once_checkpoint_all_envs_and_resume_exactly(tmp_path):
    rank0, rank1 = _train("--config", str(CONFIG), *OVERRIDES, f"out_dir={tmp_path}")
    assert "run directory:" in rank0.stdout and "run directory:" not in rank1.stdout
    (run,) = (tmp_path / "glam").iterdir()  # rank 0 alone created a run directory
    with (run / "metrics.csv").open() as f:
        frames = [float(row["frames"]) for row in csv.DictReader(f)]
    assert frames == [16.0, 32.0]  # global frames: 2 ranks x 2 envs x 4 steps per update
    last = run / "checkpoints" / "step-0000000002"
    envs = json.loads((last / "extra.json").read_text())["envs"]
    assert envs["indices"] == [0, 1, 2, 3]  # both ranks' shards, gathered into one state

    # Resume a copy from the update-1 checkpoint: it must end with the same weights.
    resumed = tmp_path / "resumed"
    shutil.copytree(run, resumed)
    shutil.rmtree(resumed / "checkpoints" / last.name)
    (resumed / "checkpoints" / "latest").write_text("step-0000000001\n")
    _train("--resume", str(resumed))
    expected = load_file(str(last / "module.policy.safetensors"))
    got = load_file(str(resumed / "checkpoints" / last.name / "module.policy.safetensors"))
    assert expected.keys() == got.keys()
    for name, tensor in expected.items():
        assert (got[name] == tensor).all(), f"{name} differs after resume"


def test_the_scaling_benchmark_needs_the_single_rank_baseline():
    from llmrl.bench.glam import bench_glam_scaling

    with pytest.raises(ValueError, match="including 1"):
        bench_glam_scaling([2, 4])


def test_global_counts_that_do_not_divide_by_the_ranks_are_rejected():
    from llmrl.runtime.distributed import DistributedError, World
    from llmrl.train.glam import GlamConfig, shard_config

    local = shard_config(GlamConfig(num_envs=8, minibatch_size=16), World(rank=1, world_size=2))
    assert (local.num_envs, local.minibatch_size) == (4, 8)
    with pytest.raises(DistributedError, match="minibatch_size=6 is the global count"):
        shard_config(GlamConfig(num_envs=8, minibatch_size=6), World(rank=0, world_size=4))
