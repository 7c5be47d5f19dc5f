"""Data-parallel PPO over torch.distributed: one model replica and a shard of the envs per rank.

Launched by `torchrun` (or SLURM `srun` + torchrun), every rank runs the same trainer:

    world  = init_distributed(device, timeout_s)          # env:// from torchrun's RANK, WORLD_SIZE, ...
    envs   = SeededVecEnv(..., num_envs = N / W, first_index = rank * N / W)
    policy = DataParallelPolicy(policy, world, ...)       # act/value local, evaluate through DDP
    ppo_loop(policy, envs, ...)                           # rollout and scoring stay local
    metrics = reduce_metrics(metrics, world)              # global success / return / length

Why the update equals a single-process update on the concatenated batch. Every rank draws
its minibatch order from the same generator (`update_generator(seed, update, 1)`, a function
of the seed and the update only) over a local batch of the same size b = T * N / W, and uses
a local minibatch of m = M / W samples (M = the config's global `minibatch_size`). Minibatch
k of rank r is then positions order[k*m:(k+1)*m] of rank r's shard, and the global minibatch
is the union of those W shards (M samples). Each rank's loss is a mean over its m samples;
DDP averages the W gradients:

    (1/W) * sum_r (1/m) * sum_{j in shard r} grad l_j  =  (1/M) * sum_{j in global minibatch} grad l_j

which is the gradient of the mean loss over the global minibatch. Clipping then sees the
same averaged gradient on every rank, so every Adam step, hence every replica, is identical.
One exception: with `normalize_advantages`, advantages are normalized with the statistics of
the local minibatch (as CleanRL's multi-GPU PPO does), not of the global one.

A dead or stuck rank: every collective (DDP's all-reduce too) fails after `timeout_s` instead
of waiting forever, and `rank_errors` turns the failure into a message naming the rank.
"""

from __future__ import annotations

import json
import math
import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from llmrl.agents.actor_critic import ActorCriticPolicy

TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
DEFAULT_TIMEOUT_S = 600.0


class DistributedError(RuntimeError):
    """A distributed run that cannot go on: a bad launch, a bad shard, or a rank that died."""


@dataclass(frozen=True)
class World:
    """Where this process stands in the job (a single process is rank 0 of a world of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1
    device: torch.device = torch.device("cpu")
    timeout_s: float = DEFAULT_TIMEOUT_S

    @property
    def is_main(self) -> bool:
        """Rank 0: the only process that logs and writes checkpoints."""
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1


def launched_distributed(environ: Mapping[str, str] = os.environ) -> bool:
    """True when torchrun (or a launcher setting the same variables) started this process."""
    return "RANK" in environ and "WORLD_SIZE" in environ


def _env_int(environ: Mapping[str, str], name: str, default: int | None = None) -> int:
    value = environ.get(name)
    if value is None:
        if default is None:
            raise DistributedError(f"{name} is not set: launch with torchrun, which sets {', '.join(TORCHRUN_VARS)}")
        return default
    try:
        return int(value)
    except ValueError:
        raise DistributedError(f"{name} must be an integer, got {value!r}") from None


def init_distributed(
    device: str = "auto",
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    threads: int | None = None,
    environ: Mapping[str, str] = os.environ,
) -> World:
    """Join the process group that torchrun described in `environ`; return this rank's `World`.

    The backend is NCCL when the device is CUDA (each rank takes GPU `LOCAL_RANK`), else gloo.
    Collectives time out after `timeout_s` seconds. Torch gets `threads` threads, by default
    `cores / LOCAL_WORLD_SIZE`: more threads than free cores slows CPU matrix products by an
    order of magnitude.
    Without torchrun's variables this is a single process: a world of 1, no process group.
    """
    if not timeout_s > 0:
        raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if not launched_distributed(environ):
        return World(device=torch.device(device), timeout_s=timeout_s)
    rank, world_size = _env_int(environ, "RANK"), _env_int(environ, "WORLD_SIZE")
    local_rank = _env_int(environ, "LOCAL_RANK", rank)
    local_world_size = _env_int(environ, "LOCAL_WORLD_SIZE", world_size)
    if not (0 <= rank < world_size and 0 <= local_rank < local_world_size):
        raise DistributedError(
            f"inconsistent launch: RANK={rank}, WORLD_SIZE={world_size}, LOCAL_RANK={local_rank}, "
            f"LOCAL_WORLD_SIZE={local_world_size}"
        )
    kind = torch.device(device).type
    if kind == "cuda":
        if torch.cuda.device_count() < local_world_size:
            raise DistributedError(
                f"{local_world_size} ranks on this node but {torch.cuda.device_count()} GPUs visible: "
                "use --nproc_per_node <= the number of GPUs, or device=cpu"
            )
        torch.cuda.set_device(local_rank)
        backend, rank_device = "nccl", torch.device("cuda", local_rank)
    elif kind == "cpu":
        backend, rank_device = "gloo", torch.device("cpu")
    else:
        raise DistributedError(f"distributed training runs on cpu or cuda devices, got {device!r}")
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1 (or None: cores / ranks on this node), got {threads}")
    torch.set_num_threads(threads or max(1, (os.cpu_count() or 1) // local_world_size))
    if not dist.is_initialized():
        dist.init_process_group(backend, rank=rank, world_size=world_size, timeout=timedelta(seconds=timeout_s))
    return World(rank, world_size, local_rank, local_world_size, rank_device, timeout_s)


def shutdown(world: World) -> None:
    """Leave the process group together (a no-op for a single process).

    Only for a run that ended normally. The barrier keeps a rank from destroying the group
    while a peer still has gloo work in flight, which made that peer abort ("terminate called
    without an active exception"). After a failure, exit without it (`os._exit`, as the CLI does).
    """
    if world.is_distributed and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


@contextmanager
def rank_errors(world: World) -> Iterator[None]:
    """Re-raise a failure inside a distributed run as a `DistributedError` that names the rank.

    A collective that fails (a peer closed its connection) or times out is almost always a
    symptom: the message says so and points at the other ranks' logs for the cause.
    """
    try:
        yield
    except DistributedError:
        raise
    except RuntimeError as error:
        if not world.is_distributed or not _is_communication_error(error):
            raise
        raise DistributedError(
            f"rank {world.rank}/{world.world_size}: a collective failed or timed out after at most "
            f"{world.timeout_s:g} s; another rank probably died or is stuck (see its log). Cause: {error}"
        ) from error
    except Exception as error:
        if not world.is_distributed:
            raise
        raise DistributedError(f"rank {world.rank}/{world.world_size} failed: {error}") from error


COMMUNICATION_WORDS = ("gloo", "nccl", "connection", "timed out", "timeout", "socket")


def _is_communication_error(error: RuntimeError) -> bool:
    """A failed collective: torch's DistError, or gloo's plain RuntimeError about its transport."""
    return isinstance(error, dist.DistError) or any(w in str(error).lower() for w in COMMUNICATION_WORDS)


def shard_size(total: int, world: World, name: str) -> int:
    """`total / world_size`, or an error saying `name` must divide by the number of ranks."""
    if total % world.world_size:
        raise DistributedError(
            f"{name}={total} is the global count and must divide by the world size {world.world_size}: "
            f"use a multiple of {world.world_size}, or another --nproc_per_node / --nnodes"
        )
    return total // world.world_size


def check_same_on_all_ranks(value: str, world: World, what: str) -> None:
    """Raise on every rank if `value` (e.g. the resolved config) differs between ranks."""
    if not world.is_distributed:
        return
    values = all_gather_json(value, world)
    differing = [r for r, v in enumerate(values) if v != values[0]]
    if differing:
        raise DistributedError(f"ranks {differing} have a different {what} than rank 0: launch every rank alike")


def barrier(world: World) -> None:
    """Wait until every rank gets here (a no-op for a single process)."""
    if world.is_distributed:
        dist.barrier(device_ids=[world.device.index] if world.device.type == "cuda" else None)


def free_loopback_port() -> int:
    """A TCP port free on 127.0.0.1 right now: a rendezvous port for ranks started on this machine."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------- collectives on JSON
def all_gather_json(obj: Any, world: World) -> list[Any]:
    """Every rank's JSON-serializable `obj`, in rank order, on every rank (no pickle)."""
    if not world.is_distributed:
        return [obj]
    payload = torch.frombuffer(bytearray(json.dumps(obj).encode()), dtype=torch.uint8).to(world.device)
    sizes = [torch.zeros(1, dtype=torch.long, device=world.device) for _ in range(world.world_size)]
    dist.all_gather(sizes, torch.tensor([payload.numel()], device=world.device))
    longest = int(max(s.item() for s in sizes))
    padded = torch.zeros(longest, dtype=torch.uint8, device=world.device)
    padded[: payload.numel()] = payload
    gathered = [torch.empty(longest, dtype=torch.uint8, device=world.device) for _ in range(world.world_size)]
    dist.all_gather(gathered, padded)
    return [json.loads(bytes(g[: int(s.item())].cpu().tolist()).decode()) for g, s in zip(gathered, sizes, strict=True)]


# ------------------------------------------------------------------------------- metrics
SUMMED = ("frames", "episodes", "fps")
"""Metrics that add up over ranks (each rank counts its own frames and episodes)."""
PER_EPISODE = ("success_rate", "return", "episode_length")
"""Means over episodes: the global mean weights each rank by its number of episodes."""


def reduce_metrics(metrics: Mapping[str, float], world: World) -> dict[str, float]:
    """Global metrics from every rank's local ones, on every rank (one all-reduce).

    Frames, episodes and frames per second add up; success rate, return and episode length
    are episode-weighted means; everything else (losses, KL, explained variance, scoring
    share) is the mean over the ranks where it is finite; "update" is the same everywhere.
    """
    if not world.is_distributed:
        return dict(metrics)
    keys = sorted(metrics)
    episodes = float(metrics.get("episodes", 0.0))
    columns = []  # per key: (weighted sum, weight)
    for key in keys:
        value = float(metrics[key])
        if key in SUMMED or key == "update":
            columns.append((value, 1.0))
        else:
            weight = episodes if key in PER_EPISODE else 1.0
            finite = math.isfinite(value) and weight > 0
            columns.append((value * weight if finite else 0.0, weight if finite else 0.0))
    sums = torch.tensor(columns, dtype=torch.float64, device=world.device)
    dist.all_reduce(sums)
    reduced = {}
    for key, (total, weight) in zip(keys, sums.cpu().tolist(), strict=True):
        if key in SUMMED:
            reduced[key] = total
        elif key == "update":
            reduced[key] = total / weight
        else:
            reduced[key] = total / weight if weight > 0 else math.nan
    return reduced


# ---------------------------------------------------------------------------- env states
def merge_env_states(states: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One `SeededVecEnv.state()` for all ranks' shards (ranks in order): what a checkpoint stores.

    Because episode seeds depend only on the env's global index, a merged state can be
    re-sharded for any world size that divides the env count (`shard_env_state`).
    """
    seeds = {s["seed"] for s in states}
    if len(seeds) != 1:
        raise DistributedError(
            f"env shards have different seeds {sorted(seeds)}: ranks were launched with different configs"
        )
    merged: dict[str, Any] = {"seed": states[0]["seed"], "indices": [], "episodes": [], "actions": []}
    for state in states:
        for key in ("indices", "episodes", "actions"):
            merged[key].extend(state[key])
    return merged


def shard_env_state(state: Mapping[str, Any], indices: Sequence[int]) -> dict[str, Any]:
    """The part of a (merged) env state for the envs with global `indices` (one rank's shard)."""
    position = {index: p for p, index in enumerate(state["indices"])}
    missing = [i for i in indices if i not in position]
    if missing:
        raise DistributedError(
            f"the checkpoint holds envs {state['indices'][:3]}...{state['indices'][-1]} but this rank steps "
            f"envs {missing[:3]}...: resume with the run's own num_envs"
        )
    rows = [position[i] for i in indices]
    return {"seed": state["seed"], "indices": list(indices),
            "episodes": [state["episodes"][p] for p in rows], "actions": [list(state["actions"][p]) for p in rows]}


# ------------------------------------------------------------------------------- policy
class DataParallelPolicy:
    """A rollout policy whose `evaluate` runs through DistributedDataParallel.

    `act` and `value` (no grad) call the local replica directly: scoring stays local.
    `evaluate` (autograd) runs the policy's `forward` (logits, values) through the DDP wrapper,
    whose backward all-reduces (averages) the gradients. With gradient accumulation, only the
    last micro-batch of each minibatch synchronizes (`no_sync` on the others): the accumulated
    gradient is all-reduced once.
    The micro-batches are recognized by counting samples: `ppo_update` evaluates each
    minibatch of min(minibatch_size, samples left in the epoch) in consecutive chunks.

    Action sampling uses a generator derived from the loop's and the rank, so that ranks
    do not draw the same random numbers (rank 0 keeps the loop's, as a single process).
    """

    def __init__(self, policy: ActorCriticPolicy, world: World, *, batch_size: int, minibatch_size: int,
                 find_unused_parameters: bool = False) -> None:
        if batch_size < 1 or minibatch_size < 1:
            raise ValueError(f"batch_size and minibatch_size must be >= 1, got {batch_size} and {minibatch_size}")
        if not isinstance(policy, ActorCriticPolicy):
            raise TypeError(f"policy must be an llmrl.agents.actor_critic.ActorCriticPolicy (forward(obs) -> "
                            f"(logits, values)), got {type(policy).__name__}")
        self.module = policy
        self.world = world
        self.batch_size, self.minibatch_size = batch_size, minibatch_size
        device_ids = [world.device.index] if world.device.type == "cuda" else None
        # DDP broadcasts rank 0's parameters and buffers here: the replicas start identical.
        self.ddp = DistributedDataParallel(policy, device_ids=device_ids, find_unused_parameters=find_unused_parameters)
        self._offset = 0  # samples of the current epoch already evaluated
        self._left = 0  # samples of the current minibatch still to evaluate
        self._source: torch.Generator | None = None
        self._generator: torch.Generator | None = None

    def _rank_generator(self, generator: torch.Generator) -> torch.Generator:
        if self.world.rank == 0:
            return generator
        if generator is not self._source:
            self._source = generator
            entropy = [generator.initial_seed() % 2**32, self.world.rank]
            seed = int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint32)[0])
            self._generator = torch.Generator().manual_seed(seed)
        assert self._generator is not None
        return self._generator

    def act(self, obs: Sequence[Any], generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
        return self.module.act(obs, self._rank_generator(generator))

    def value(self, obs: Sequence[Any]) -> Tensor:
        return self.module.value(obs)

    def _last_micro_batch(self, size: int) -> bool:
        if self._left == 0:  # a new minibatch starts
            self._left = min(self.minibatch_size, self.batch_size - self._offset)
        if size > self._left:
            raise DistributedError(
                f"evaluate got {size} samples where the minibatch has {self._left} left: DataParallelPolicy "
                f"expects ppo_update's order (batch_size={self.batch_size}, minibatch_size={self.minibatch_size})"
            )
        self._left -= size
        self._offset = (self._offset + size) % self.batch_size
        return self._left == 0

    def evaluate(self, obs: Sequence[Any], actions: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        # forward (logits, values) runs inside DDP, whose backward hooks then average the gradients.
        if self._last_micro_batch(len(obs)):
            return self.module.evaluate_logits(*self.ddp(obs), actions)
        with self.ddp.no_sync():  # accumulate locally; the minibatch's last backward all-reduces
            return self.module.evaluate_logits(*self.ddp(obs), actions)

    def trainable_parameters(self) -> list[nn.Parameter]:
        return self.module.trainable_parameters()

    def train(self, mode: bool = True) -> DataParallelPolicy:
        self.ddp.train(mode)
        return self
