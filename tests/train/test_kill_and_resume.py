"""Crash safety: every trainer, SIGKILLed anywhere after its first checkpoint, resumes to the same weights.

For each of the six trainers a tiny run is first played uninterrupted in this process while a
probe numbers its persistence events (each `os.replace` and `os.fsync` called from llmrl code,
and each metrics row). Between two such events nothing reaches the disk, so the events number
every distinct state a crash can leave behind. A seeded draw picks one event after the first
complete checkpoint; a forked copy of this process plays the same run and sends itself SIGKILL
just before that event (no cleanup, no flush, no atexit). The run is then resumed here from what
the dead process left, and must end with bit-identical weights (and the same metrics rows,
without duplicates) as the uninterrupted run: the trainers restore every RNG and derive every
sample from (seed, step), and run on one thread, so nothing but the crash differs.

`LLMRL_KILL_POINTS=all` tries every event after the first checkpoint instead of one (minutes,
for a deliberate search of crash windows); `LLMRL_KILL_POINTS=N` tries N seeded ones.
"""

from __future__ import annotations

import csv
import os
import random
import signal
import sys
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from llmrl.runtime.metrics import MetricsLogger
from llmrl.train import RunDir, latest_checkpoint

TINY_BABYAI = {"env_id": "BabyAIText-GoTo-v0", "room_size": 5, "num_dists": 1, "tensorboard": False}
TINY_LM = {"model": "tiny-llama", "tiny_hidden_size": 16, "tiny_layers": 1, "value_inner": 16, "history": 1}
# Columns that measure time: they differ between any two runs, crashed or not.
TIMED = {"fps", "scoring_share", "step_seconds", "update_seconds"}


class HashEmbedder:
    """A deterministic stand-in sentence encoder: one fixed random unit vector per text."""

    dim = 16

    def embed(self, texts: list[str]) -> torch.Tensor:
        vectors = [torch.randn(self.dim, generator=torch.Generator().manual_seed(zlib.crc32(t.encode())))
                   for t in texts]
        return torch.nn.functional.normalize(torch.stack(vectors), dim=1)


def _config(algo: str, root: Path):
    """(config, train(cfg, resume) -> RunDir) of a run of a few seconds with several checkpoints."""
    run = {"out_dir": str(root), "name": algo}
    if algo == "glam":
        from llmrl.train.glam import GlamConfig, train_glam

        cfg = GlamConfig(**TINY_BABYAI, **TINY_LM, **run, num_envs=2, num_steps=4, epochs=1, minibatch_size=4,
                         lr=1e-3, total_frames=32, checkpoint_every=1)
        return cfg, lambda c, resume: train_glam(c, resume=resume)
    if algo == "npae":
        from llmrl.train.npae import NPAEConfig, train_npae

        cfg = NPAEConfig(**TINY_BABYAI, **TINY_LM, **run, head_inner=16, num_envs=2, num_steps=4, epochs=1,
                         minibatch_size=4, lr=1e-3, total_frames=32, checkpoint_every=1)
        return cfg, lambda c, resume: train_npae(c, resume=resume)
    if algo == "symbolic-ppo":
        from llmrl.train.symbolic_ppo import SymbolicPPOConfig, train_symbolic_ppo

        cfg = SymbolicPPOConfig(**TINY_BABYAI, **run, num_envs=2, num_steps=8, minibatch_size=8, epochs=1,
                                channels=4, mission_hidden=8, total_frames=64, checkpoint_every=1)
        return cfg, lambda c, resume: train_symbolic_ppo(c, resume=resume)
    if algo == "drrn":
        from llmrl.train.drrn import DRRNConfig, train_drrn

        cfg = DRRNConfig(**TINY_BABYAI, **run, history=1, num_envs=2, hidden=8, max_words=32, batch_size=4,
                         learning_starts=4, train_every=2, target_update_every=4, log_every=8, checkpoint_every=1,
                         total_frames=48, buffer_size=64)
        return cfg, lambda c, resume: train_drrn(c, resume=resume)
    if algo == "bc":
        from llmrl.train.bc import BCConfig, train_bc

        cfg = BCConfig(**TINY_BABYAI, **TINY_LM, **run, demo_episodes=2, epochs=4, batch_size=8, lr=1e-3,
                       eval_episodes=1, keep_checkpoints=0)
        return cfg, lambda c, resume: train_bc(c, resume=resume)
    if algo == "ellm":
        from llmrl.algos.dqn import DQNConfig
        from llmrl.train.ellm import train_ellm
        from llmrl.train.ellm_config import CrafterEnvConfig, EllmConfig

        dqn = DQNConfig(batch_size=8, learning_starts=16, buffer_size=256, target_update_every=32,
                        epsilon_decay_steps=100, train_every=2)
        cfg = EllmConfig(**run, total_frames=120, hidden=16, log_every=20, checkpoint_every=40, metrics_window=5,
                         env=CrafterEnvConfig(num_envs=2, length=30), dqn=dqn, intrinsic="none")
        embedder = HashEmbedder()
        return cfg, lambda c, resume: train_ellm(c, resume=resume, embedder=embedder)
    raise ValueError(algo)


ALGOS = ("glam", "npae", "symbolic-ppo", "drrn", "bc", "ellm")


@contextmanager
def _probe(on_event: Callable[[str], None]) -> Iterator[None]:
    """Call `on_event(label)` before each persistence event of llmrl code (module doc)."""
    real = {"replace": os.replace, "fsync": os.fsync}
    real_log = MetricsLogger.log

    def wrap(name: str):
        def probed(*args, **kwargs):
            if sys._getframe(1).f_globals.get("__name__", "").startswith("llmrl."):
                # A replace is labelled with the name it writes: `latest` completes a checkpoint.
                on_event(f"replace:{Path(args[1]).name}" if name == "replace" else name)
            return real[name](*args, **kwargs)

        return probed

    def log(self, step, metrics):
        on_event("metrics")
        return real_log(self, step, metrics)

    os.replace, os.fsync = wrap("replace"), wrap("fsync")
    MetricsLogger.log = log
    try:
        yield
    finally:
        os.replace, os.fsync = real["replace"], real["fsync"]
        MetricsLogger.log = real_log


def _run_dir(root: Path) -> Path:
    (found,) = [p.parent for p in root.rglob("run.json")]
    return found


def _weights(run: Path) -> dict[str, torch.Tensor]:
    checkpoint = latest_checkpoint(run)
    assert checkpoint is not None, f"{run} has no checkpoint"
    return {f"{f.name}:{k}": v for f in sorted(checkpoint.glob("module.*.safetensors"))
            for k, v in load_file(str(f)).items()}


def _rows(run: Path) -> list[dict[str, str]]:
    with (run / "metrics.csv").open(newline="") as f:
        return [{k: v for k, v in row.items() if k not in TIMED} for row in csv.DictReader(f)]


def _killed_at(event: int, train: Callable[[], object]) -> None:
    """Play `train()` in a forked child that SIGKILLs itself just before persistence event `event`."""
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        try:
            count = 0

            def on_event(_: str) -> None:
                nonlocal count
                count += 1
                if count == event:
                    os.kill(os.getpid(), signal.SIGKILL)

            with _probe(on_event):
                train()
        finally:
            os._exit(3)  # reached only if the run ended (or raised) before the kill
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, f"child exited with {status}"


def _kill_points(algo: str, events: list[str]) -> list[int]:
    """1-based event numbers to kill at: after the first complete checkpoint (its `latest` pointer)."""
    # A checkpoint is complete once its `latest` pointer is renamed into place.
    first_done = events.index("replace:latest") + 1
    candidates = list(range(first_done + 1, len(events) + 1))
    wanted = os.environ.get("LLMRL_KILL_POINTS", "1")
    if wanted == "all":
        return candidates
    return sorted(random.Random(f"kill-{algo}").sample(candidates, min(int(wanted), len(candidates))))


@pytest.mark.parametrize("algo", ALGOS)
def test_killed_run_resumes_to_the_uninterrupted_weights(algo, tmp_path):
    cfg, train = _config(algo, tmp_path / "full")
    events: list[str] = []
    with _probe(events.append):
        train(cfg, None)
    full = _run_dir(tmp_path / "full")
    want_weights, want_rows = _weights(full), _rows(full)
    assert len(want_rows) >= 3

    for n, event in enumerate(_kill_points(algo, events)):
        root = tmp_path / f"killed-{n}"
        cfg, train = _config(algo, root)
        _killed_at(event, lambda: train(cfg, None))  # noqa: B023  (called at once)
        run = _run_dir(root)
        assert latest_checkpoint(run) is not None, f"killed at event {event} ({events[event - 1]}) before a checkpoint"
        resumed = train(RunDir.open(run).load_config(type(cfg)), run)
        assert resumed.path == run
        got = _weights(run)
        assert got.keys() == want_weights.keys()
        for key, value in want_weights.items():
            assert torch.equal(got[key], value), f"{algo} killed at event {event} ({events[event - 1]}): {key} differs"
        assert _rows(run) == want_rows, f"{algo} killed at event {event}: metrics rows differ"
