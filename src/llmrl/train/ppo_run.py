"""One PPO run, as every PPO trainer (GLAM, NPAE, symbolic PPO) drives it.

    run = run_ppo("npae", cfg, build, config_path=..., resume=...)

1. open the run directory of `resume`, or create `<out_dir>/<algo>/<name>-<time>/` (rank 0);
2. seed python, numpy and torch from cfg.seed; `build()` -> (policy, its `SeededVecEnv`);
3. Adam over the policy's trainable parameters (or `make_optimizer(policy)`);
4. on resume, restore the latest checkpoint: weights, optimizer, RNG states, the envs (each
   running episode replayed from its seed) and the update counter, and drop the metrics rows
   logged after it;
5. `ppo_loop` from there, with the NaN guard (a non-finite gradient norm or loss stops the
   run before the weights change, naming the last good checkpoint), one metrics row per
   update, the progress bar, and one atomic checkpoint after each update that crosses a
   multiple of cfg.checkpoint_every frames, and at the end.

Under torchrun (`world` from `llmrl.runtime.distributed.init_distributed`) every rank runs
this with its share of the envs: metrics are reduced over the ranks, the envs' states are
gathered for the checkpoint, and rank 0 alone writes. A single process is a world of one.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Protocol

import torch
from rich.console import Console

from llmrl.runtime.checkpoint import LoadFn, StateDictFn, latest_checkpoint, load_checkpoint, save_checkpoint
from llmrl.runtime.distributed import World, all_gather_json, merge_env_states, reduce_metrics, shard_env_state
from llmrl.runtime.guard import check_finite
from llmrl.runtime.metrics import MetricsLogger
from llmrl.runtime.progress import TrainingProgress
from llmrl.runtime.run_dir import RunDir
from llmrl.runtime.seeding import seed_everything
from llmrl.runtime.vec_env import SeededVecEnv
from llmrl.train.ppo_loop import PPOHyperparameters, RolloutPolicy, ppo_loop
from llmrl.train.settings import checkpoint_due

LOSSES = ("policy_loss", "value_loss", "entropy")


class PPORunSettings(Protocol):
    """The settings `run_ppo` reads (a config composed of `RunSettings` and `PPOSettings` has them)."""

    seed: int
    out_dir: str
    name: str | None
    checkpoint_every: int
    keep_checkpoints: int
    tensorboard: bool
    lr: float
    adam_betas: tuple[float, float]
    adam_eps: float

    @property
    def num_updates(self) -> int: ...

    @property
    def frames_per_update(self) -> int: ...

    def hyperparameters(self) -> PPOHyperparameters: ...


def run_ppo(
    algo: str,
    cfg: PPORunSettings,
    build: Callable[[], tuple[Any, SeededVecEnv]],
    *,
    config_path: str | Path | None = None,
    resume: str | Path | None = None,
    console: Console | None = None,
    log_every_s: float = 30.0,
    world: World | None = None,
    hyperparameters: PPOHyperparameters | None = None,
    make_optimizer: Callable[[Any], torch.optim.Optimizer] | None = None,
    wrap: Callable[[Any], RolloutPolicy] | None = None,
    state_dict_fn: StateDictFn | None = None,
    load_fn: LoadFn | None = None,
) -> RunDir | None:
    """Train the policy `build()` returns by PPO in a run directory of `algo` (module doc); return the run.

    `hyperparameters`: the loop's settings (default cfg.hyperparameters(); a distributed run
    passes its rank's share). `wrap(policy)`: what the loop drives, made after the checkpoint is
    loaded (a DDP wrapper). `state_dict_fn` / `load_fn`: what a checkpoint holds of the policy
    (e.g. only LoRA adapters and the value head). Rank 0 returns the run, the other ranks None.
    """
    world = world or World()
    main = world.is_main
    run = None
    if main:
        run = RunDir.open(resume) if resume is not None else RunDir.create(cfg.out_dir, algo, cfg.name, cfg,
                                                                           config_path)
    seed_everything(cfg.seed)
    policy, envs = build()
    if make_optimizer is not None:
        optimizer = make_optimizer(policy)
    else:
        optimizer = torch.optim.Adam(policy.trainable_parameters(), lr=cfg.lr, betas=cfg.adam_betas,
                                     eps=cfg.adam_eps)
    start_update, start_frames = 0, 0
    # Every rank loads the same checkpoint (on a filesystem all nodes see) and takes its envs' part.
    checkpoint = latest_checkpoint(resume) if resume is not None else None
    if checkpoint is not None:
        extra = load_checkpoint(checkpoint, modules={"policy": policy}, optimizers={"adam": optimizer}, rng=True,
                                load_fn=load_fn)
        envs.restore(shard_env_state(extra["envs"], envs.indices))
        start_update, start_frames = extra["update"], extra["frames"]
    loop_policy = wrap(policy) if wrap is not None else policy  # after loading: DDP broadcasts rank 0's weights
    logger = None
    if main:
        logger = MetricsLogger(run, resume_step=start_frames if resume is not None else None,
                               tensorboard=cfg.tensorboard)
    total = cfg.num_updates * cfg.frames_per_update

    def guard(grad_norm: float) -> bool:
        # Raise before the step: the weights never see a NaN and the last checkpoint stays good.
        # In a distributed run the norm is of the all-reduced gradient: every rank raises together.
        check_finite("gradient norm", grad_norm, checkpoint=checkpoint)
        return True

    progress_bar = TrainingProgress(total, algo, initial_frames=start_frames, console=console,
                                    log_every_s=log_every_s) if main else nullcontext()
    with logger or nullcontext(), progress_bar as progress:

        def on_update(update: int, metrics: dict[str, float]) -> None:
            nonlocal checkpoint
            # Runs on every rank: the reduction and the env-state gather are collectives.
            metrics = reduce_metrics(metrics, world)
            check_finite("losses", {k: metrics[k] for k in LOSSES}, step=update + 1, checkpoint=checkpoint)
            frames = int(metrics["frames"])
            if main:
                logger.log(frames, metrics)
                progress.update(frames, success=metrics["success_rate"], ret=metrics["return"])
            trained = (update + 1) * cfg.frames_per_update
            last = update + 1 == cfg.num_updates
            if checkpoint_due(cfg.checkpoint_every, trained - cfg.frames_per_update, trained) or last:
                env_states = all_gather_json(envs.state(), world)
                if main:
                    checkpoint = save_checkpoint(
                        run, update + 1, modules={"policy": policy}, optimizers={"adam": optimizer},
                        extra={"update": update + 1, "frames": frames, "envs": merge_env_states(env_states)},
                        keep_last=cfg.keep_checkpoints, state_dict_fn=state_dict_fn,
                    )

        ppo_loop(loop_policy, envs, optimizer, hyperparameters or cfg.hyperparameters(), seed=cfg.seed,
                 num_updates=cfg.num_updates, start_update=start_update, on_update=on_update, before_step=guard,
                 on_phase=progress.phase if main else None)
    envs.close()
    return run
