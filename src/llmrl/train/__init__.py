"""Training infrastructure shared by every trainer: configs, run directories, metrics,
checkpoints, the NaN guard and the progress bar. The trainers themselves live beside it."""

from llmrl.train.checkpoint import (
    CheckpointError,
    checkpoint_step,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from llmrl.train.config import ConfigError, config_from_dict, config_to_dict, load_config, save_config
from llmrl.train.guard import TrainingDiverged, check_finite
from llmrl.train.metrics import MetricsLogger
from llmrl.train.progress import TrainingProgress
from llmrl.train.run_dir import NotARunDirError, RunDir

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
