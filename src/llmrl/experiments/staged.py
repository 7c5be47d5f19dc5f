"""Staged, resumable experiments: many (method, seed) training runs brought to a frame budget together.

An experiment is a list of `Job`s, one `llmrl train` run each. `run_staged` trains them in
subprocesses (`jobs` at a time, one torch thread each), resuming a run from its latest
checkpoint and skipping runs that already reached the budget. With stages, every run first
reaches the first stage's frames, then all reach the next: an experiment stopped early (they
take CPU-days) leaves every method at one budget, and running it again continues it.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from llmrl.runtime.checkpoint import latest_checkpoint


@dataclass(frozen=True)
class Job:
    """One training run of an experiment.

    `algo`: the trainer (`llmrl train <algo>`, also the run directory's folder); `name`: the
    run's name (unique within the experiment); `new_run`: the arguments after `llmrl train
    <algo>` that start it (config, overrides) — a started run resumes from its own config.
    """

    algo: str
    name: str
    new_run: tuple[str, ...]


def run_dir_of(root: Path, algo: str, name: str) -> Path | None:
    """The newest run directory `<root>/<algo>/<name>-<time>` of a job, if one was started."""
    found = sorted(p for p in (root / algo).glob(f"{name}-*") if p.name[len(name) + 1:][:1].isdigit())
    return found[-1] if found else None


def last_row(run: Path, at_most: int | None = None) -> dict[str, str]:
    """The last metrics row of a run, or its last row at `at_most` frames or fewer ({}: none yet)."""
    path = run / "metrics.csv"
    if not path.is_file():
        return {}
    with path.open() as f:
        rows = [r for r in csv.DictReader(f) if at_most is None or int(r["frames"]) <= at_most]
    return rows[-1] if rows else {}


def frames_reached(root: Path, job: Job) -> int:
    """The frames of a job's last logged metrics row (0: not started or nothing logged)."""
    started = run_dir_of(root, job.algo, job.name)
    return int(last_row(started).get("frames") or 0) if started is not None else 0


def command(job: Job, frames: int, root: Path, settings: Sequence[str] = ()) -> list[str]:
    """The `llmrl train` command line that brings `job` to `frames`, resuming a started run."""
    base = [sys.executable, "-m", "llmrl", "train", job.algo]
    budget = [f"total_frames={frames}", *settings]
    started = run_dir_of(root, job.algo, job.name)
    if started is not None and latest_checkpoint(started) is not None:
        return [*base, "--resume", str(started), *budget]
    return [*base, *job.new_run, f"out_dir={root}", f"name={job.name}", *budget]


def stages(frames: int, stage_frames: int | None) -> list[int]:
    """The budgets every run reaches in turn: multiples of `stage_frames`, then `frames`."""
    if stage_frames is None or stage_frames >= frames:
        return [frames]
    return list(range(stage_frames, frames, stage_frames)) + [frames]


def run_all(jobs: Sequence[Job], frames: int, root: Path, *, processes: int = 1,
            settings: Sequence[str] = ()) -> None:
    """Bring every job below `frames` to it, `processes` at a time; each appends to <root>/logs/<name>.log.

    Every subprocess gets one torch thread (OMP_NUM_THREADS=1): `processes` runs share the cores.
    """
    (root / "logs").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    running: list[subprocess.Popen] = []
    for job in [j for j in jobs if frames_reached(root, j) < frames]:
        while len(running) >= processes:  # wait for any run to end, not the oldest
            time.sleep(1.0)
            running = [p for p in running if p.poll() is None]
        log = (root / "logs" / f"{job.name}.log").open("a")
        running.append(subprocess.Popen(command(job, frames, root, settings), stdout=log, stderr=log, env=env))
    for process in running:
        process.wait()


def run_staged(jobs: Sequence[Job], frames: int, root: Path, *, stage_frames: int | None = None,
               processes: int = 1, settings: Sequence[str] = ()) -> None:
    """`run_all` at each stage budget in turn (see `stages`), so that all jobs advance together."""
    names = [job.name for job in jobs]
    if len(set(names)) < len(names):
        raise ValueError(f"job names must be unique within an experiment, got {names}")
    for budget in stages(frames, stage_frames):
        run_all(jobs, budget, root, processes=processes, settings=settings)
