"""Run directories and the metrics logger: layout, reopening, CSV rows, resume without duplicates."""

import csv
from dataclasses import dataclass

import pytest

from llmrl.runtime.metrics import MetricsLogger
from llmrl.runtime.run_dir import NotARunDirError, RunDir


@dataclass
class Cfg:
    seed: int = 1
    lr: float = 0.1


def rows(run: RunDir) -> list[dict[str, str]]:
    with run.metrics_path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_create_layout_and_reopen(tmp_path):
    run = RunDir.create(root=tmp_path, algo="glam", config=Cfg(seed=3), config_path="configs/glam/cpu-demo.yaml")
    assert run.path.parent == tmp_path / "glam"
    assert run.path.name.startswith("cpu-demo-")
    assert run.checkpoints_dir.is_dir() and run.tb_dir.is_dir()
    assert run.meta["algo"] == "glam"
    # Every measurement names its host: the CPU model is recorded with the run.
    host = run.meta["host"]
    assert host["cpu"] and int(host["cpus"]) >= 1 and host["torch"].split(".")[0].isdigit()
    again = RunDir.open(run.path)
    assert again.load_config(Cfg) == Cfg(seed=3)
    assert again.load_config(Cfg, ["lr=0.5"]).lr == 0.5
    # Two runs in the same second get distinct directories.
    second = RunDir.create(root=tmp_path, algo="glam", name=run.path.name[: -len("-YYYYmmdd-HHMMSS")])
    assert second.path != run.path


def test_open_and_create_errors(tmp_path):
    with pytest.raises(NotARunDirError, match="run directory not found"):
        RunDir.open(tmp_path / "missing")
    with pytest.raises(NotARunDirError, match="is not a run directory"):
        RunDir.open(tmp_path)
    with pytest.raises(ValueError, match="run name 'my run' must be letters"):
        RunDir.create(root=tmp_path, name="my run")


def test_metrics_rows_flushed_header_extended(tmp_path):
    run = RunDir.create(root=tmp_path, algo="t", name="m")
    logger = MetricsLogger(run, tensorboard=False)
    logger.log(10, {"success_rate": 0.5, "fps": 100})
    assert rows(run) == [{"step": "10", "success_rate": "0.5", "fps": "100"}]  # readable before close
    logger.log(20, {"success_rate": 0.75, "kl": 0.01})  # new key extends the header; fps missing
    logger.close()
    assert rows(run) == [
        {"step": "10", "success_rate": "0.5", "fps": "100", "kl": ""},
        {"step": "20", "success_rate": "0.75", "fps": "", "kl": "0.01"},
    ]
    with pytest.raises(FileExistsError, match="resume_step"):
        MetricsLogger(run, tensorboard=False)


def test_resume_drops_rows_after_checkpoint_and_tensorboard(tmp_path):
    run = RunDir.create(root=tmp_path, algo="t", name="r")
    with MetricsLogger(run) as logger:
        for step in (1, 2, 3, 4):
            logger.log(step, {"loss": float(step)})
    assert any(run.tb_dir.iterdir())
    with MetricsLogger(run, resume_step=2) as logger:
        with pytest.raises(ValueError, match="not after the last logged step 2"):
            logger.log(2, {"loss": 0.0})
        logger.log(3, {"loss": 30.0})
    assert [(r["step"], r["loss"]) for r in rows(run)] == [("1", "1.0"), ("2", "2.0"), ("3", "30.0")]


def test_metric_value_errors(tmp_path):
    import torch

    run = RunDir.create(root=tmp_path, algo="t", name="e")
    with MetricsLogger(run, tensorboard=False) as logger:
        logger.log(1, {"loss": torch.tensor(0.25)})  # 0-d tensors are accepted as numbers
        with pytest.raises(TypeError, match="values must be int, float, bool or str"):
            logger.log(2, {"loss": [1, 2]})
        with pytest.raises(ValueError, match="metric name 'step' is not allowed"):
            logger.log(2, {"step": 1})
    assert rows(run)[0]["loss"] == "0.25"
