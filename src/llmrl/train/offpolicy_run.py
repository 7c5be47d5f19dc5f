"""One off-policy run, as DRRN and ELLM drive it: step a loop, log a row, checkpoint, repeat.

    run_off_policy(run, loop, "drrn", total_frames=..., log_every=..., checkpoint_every=..., save=...)

`loop` owns the envs, networks, replay and counters and advances every env once per
`step()`; `pop_interval()` gives the metrics row of the frames since the last one. The driver
logs a row every `log_every` frames and at the end, saves a checkpoint (`save()`, one atomic
directory) right after a row that crosses a multiple of `checkpoint_every` frames (0: none) and
at the end, and tells the
loop where its last good checkpoint is (`loop.last_checkpoint`, named by the NaN guard). As a
checkpoint always follows a row, a resumed run starts a fresh interval, and the rows logged
after the checkpoint it resumes from are dropped (`resume_step`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console

from llmrl.runtime.metrics import MetricsLogger
from llmrl.runtime.progress import TrainingProgress
from llmrl.runtime.run_dir import RunDir
from llmrl.train.settings import checkpoint_due


class OffPolicyLoop(Protocol):
    """What the driver needs of a loop (`DRRNLoop`, `EllmLoop`)."""

    frames: int
    last_checkpoint: str | None

    def step(self) -> None: ...

    def pop_interval(self) -> dict[str, Any]: ...


def run_off_policy(
    run: RunDir,
    loop: OffPolicyLoop,
    description: str,
    *,
    total_frames: int,
    log_every: int,
    checkpoint_every: int,
    save: Callable[[], Path],
    resume_step: int | None,
    progress_fields: Callable[[Mapping[str, Any]], dict[str, Any]],
    on_step: Callable[[], None] | None = None,
    tensorboard: bool = True,
    console: Console | None = None,
) -> None:
    """Step `loop` until `total_frames` frames, logging and checkpointing as the module doc says."""
    with MetricsLogger(run, resume_step=resume_step, tensorboard=tensorboard) as logger, TrainingProgress(
        total_frames, description, initial_frames=min(loop.frames, total_frames), console=console
    ) as progress:
        next_log = _next_multiple(loop.frames, log_every)
        last_row = loop.frames
        while loop.frames < total_frames:
            loop.step()
            if on_step is not None:
                on_step()
            done = loop.frames >= total_frames
            if loop.frames < next_log and not done:
                continue
            row = loop.pop_interval()
            logger.log(loop.frames, row)
            progress.update(min(loop.frames, total_frames), **progress_fields(row))
            next_log = _next_multiple(loop.frames, log_every)
            if checkpoint_due(checkpoint_every, last_row, loop.frames) or done:
                loop.last_checkpoint = str(save())
            last_row = loop.frames


def _next_multiple(frames: int, every: int) -> int:
    return (frames // every + 1) * every
