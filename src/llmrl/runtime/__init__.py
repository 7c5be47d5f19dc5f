"""Run infrastructure every trainer shares: configs (`config`), run directories (`run_dir`), atomic
checkpoints (`checkpoint`), metrics (`metrics`), the progress bar (`progress`), the NaN guard
(`guard`), the device (`device`), seeds (`seeding`), seeded vectorized envs (`vec_env`), heap
trimming (`heap`) and data-parallel runs (`distributed`).

Below `llmrl.eval` and `llmrl.train`: nothing here knows a method (docs/architecture.md)."""

from llmrl.runtime.checkpoint import (
    CheckpointError,
    checkpoint_step,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from llmrl.runtime.config import ConfigError, config_from_dict, config_to_dict, load_config, save_config
from llmrl.runtime.guard import TrainingDiverged, check_finite
from llmrl.runtime.metrics import MetricsLogger
from llmrl.runtime.progress import TrainingProgress
from llmrl.runtime.run_dir import NotARunDirError, RunDir

__all__ = [
    "CheckpointError",
    "ConfigError",
    "MetricsLogger",
    "NotARunDirError",
    "RunDir",
    "TrainingDiverged",
    "TrainingProgress",
    "check_finite",
    "checkpoint_step",
    "config_from_dict",
    "config_to_dict",
    "latest_checkpoint",
    "load_checkpoint",
    "load_config",
    "save_checkpoint",
    "save_config",
]
