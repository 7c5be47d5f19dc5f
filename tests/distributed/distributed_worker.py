"""One rank of the distributed tests, started by `distributed_launch.launch` with torchrun's variables.

    python distributed_worker.py update OUT   # one PPO update of a small policy through DDP
    python distributed_worker.py die OUT      # rank 1 exits at once; rank 0 must fail, not hang
    python distributed_worker.py stuck OUT    # rank 1 stays alive but silent; rank 0 must time out
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import Tensor, nn

from llmrl.agents.actor_critic import ActorCriticPolicy
from llmrl.algos.ppo import PPOBatch, ppo_update
from llmrl.runtime.distributed import (
    DataParallelPolicy,
    all_gather_json,
    init_distributed,
    rank_errors,
    reduce_metrics,
    shard_size,
    shutdown,
)

GLOBAL_BATCH = 24
OBS_DIM, ACTIONS = 5, 3
SETTINGS = {"clip_coef": 0.2, "value_clip_coef": 0.2, "ent_coef": 0.01, "vf_coef": 0.5,
            "max_grad_norm": 0.05, "normalize_advantages": False}  # a small norm: clipping is active
EPOCHS, GLOBAL_MINIBATCH, ORDER_SEED = 2, 12, 1234


class TinyPolicy(ActorCriticPolicy):
    """Categorical policy + value on vector observations: DDP runs its `forward`, as for LLMPolicy."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.body = nn.Sequential(nn.Linear(OBS_DIM, 16), nn.Tanh())
        self.logits = nn.Linear(16, ACTIONS)
        self.critic = nn.Linear(16, 1)

    def forward(self, obs: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
        hidden = self.body(torch.stack(list(obs)))
        return self.logits(hidden), self.critic(hidden).squeeze(-1)


def global_batch() -> tuple[Tensor, Tensor, PPOBatch]:
    """The concatenated batch of all ranks: observations, actions and PPO targets."""
    g = torch.Generator().manual_seed(7)
    obs = torch.randn(GLOBAL_BATCH, OBS_DIM, generator=g)
    actions = torch.randint(0, ACTIONS, (GLOBAL_BATCH,), generator=g)
    with torch.no_grad():
        old_logp, _, old_values = TinyPolicy(0).evaluate(obs, actions)
    advantages = torch.randn(GLOBAL_BATCH, generator=g)
    return obs, actions, PPOBatch(old_logp, old_values, advantages, old_values + advantages)


def update(out: Path) -> None:
    world = init_distributed("cpu", timeout_s=30)
    with rank_errors(world):
        # Different initial weights per rank: DDP must broadcast rank 0's before the first step.
        policy = TinyPolicy(seed=world.rank)
        obs, actions, batch = global_batch()
        b = shard_size(GLOBAL_BATCH, world, "batch")
        m = shard_size(GLOBAL_MINIBATCH, world, "minibatch_size")
        rows = slice(world.rank * b, (world.rank + 1) * b)
        obs, actions = obs[rows], actions[rows]
        local = PPOBatch(*(getattr(batch, f)[rows] for f in ("old_logp", "old_values", "advantages", "returns")))
        dp = DataParallelPolicy(policy, world, batch_size=b, minibatch_size=m)
        optimizer = torch.optim.Adam(dp.trainable_parameters(), lr=1e-2)
        first_order = torch.randperm(b, generator=torch.Generator().manual_seed(ORDER_SEED))
        ppo_update(lambda idx: dp.evaluate([obs[j] for j in idx.tolist()], actions[idx]), local, optimizer,
                   dp.trainable_parameters(), epochs=EPOCHS, minibatch_size=m, grad_accum_steps=2,
                   generator=torch.Generator().manual_seed(ORDER_SEED), **SETTINGS)
        tensors = {k: v.detach().contiguous() for k, v in policy.state_dict().items()}
        save_file({**tensors, "first_order": first_order}, str(out / f"rank{world.rank}.safetensors"))
        # Rank 0 ends no episode (NaN means): the global means must come from rank 1 alone.
        local = {"update": 3.0, "frames": 8.0, "fps": 2.0, "episodes": float(2 * world.rank),
                 "success_rate": 1.0 if world.rank else math.nan, "return": 0.5 if world.rank else math.nan,
                 "policy_loss": float(world.rank)}
        shards = all_gather_json({"rank": world.rank, "text": "é" * (world.rank + 1)}, world)
        (out / f"collectives{world.rank}.json").write_text(
            json.dumps({"metrics": reduce_metrics(local, world), "gathered": shards}))
    shutdown(world)


def lost_peer(out: Path, stuck: bool) -> None:
    """Rank 1 exits (or, if `stuck`, idles until rank 0 gave up); rank 0 all-reduces and reports."""
    world = init_distributed("cpu", timeout_s=3)
    if world.rank == 1:
        deadline = time.monotonic() + 60
        while stuck and not (out / "error.txt").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        sys.exit(3)
    try:
        with rank_errors(world):
            total = torch.ones(1)
            torch.distributed.all_reduce(total)
    except Exception as error:  # report the message the user would see, then fail
        (out / "error.txt").write_text(f"{type(error).__name__}: {error}")
        os._exit(1)  # as the CLI does: skip the teardown of a process group whose peer is gone


if __name__ == "__main__":
    mode, out_dir = sys.argv[1], Path(sys.argv[2])
    if mode == "update":
        update(out_dir)
    else:
        lost_peer(out_dir, stuck=mode == "stuck")
