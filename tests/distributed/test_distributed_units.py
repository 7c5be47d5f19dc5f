"""Single-process pieces of llmrl.runtime.distributed: launch parsing, sharding, env states, the no_sync schedule."""

from __future__ import annotations

import pytest
import torch

from llmrl.runtime.distributed import (
    DistributedError,
    World,
    init_distributed,
    launched_distributed,
    merge_env_states,
    rank_errors,
    reduce_metrics,
    shard_env_state,
    shard_size,
)
from llmrl.runtime.vec_env import SeededVecEnv


def test_without_torchrun_variables_the_run_is_a_world_of_one():
    world = init_distributed("cpu", environ={})
    assert (world.rank, world.world_size, world.is_main, world.is_distributed) == (0, 1, True, False)
    assert not launched_distributed({"RANK": "0"})
    assert reduce_metrics({"fps": 3.0}, world) == {"fps": 3.0}


@pytest.mark.parametrize("environ, message", [
    ({"RANK": "2", "WORLD_SIZE": "2"}, "inconsistent launch"),
    ({"RANK": "x", "WORLD_SIZE": "2"}, "RANK must be an integer"),
])
def test_a_bad_launch_is_rejected_before_joining(environ, message):
    with pytest.raises(DistributedError, match=message):
        init_distributed("cpu", environ=environ)
    with pytest.raises(ValueError, match="timeout_s must be > 0"):
        init_distributed("cpu", timeout_s=0, environ={})


def test_global_counts_must_divide_by_the_world_size():
    world = World(rank=1, world_size=4)
    assert shard_size(32, world, "num_envs") == 8
    with pytest.raises(DistributedError, match="num_envs=30 is the global count.*multiple of 4"):
        shard_size(30, world, "num_envs")


def test_errors_name_the_rank_only_in_a_distributed_run():
    with pytest.raises(DistributedError, match=r"rank 1/2 failed: boom"), rank_errors(World(rank=1, world_size=2)):
        raise ValueError("boom")
    with pytest.raises(ValueError, match="boom"), rank_errors(World()):
        raise ValueError("boom")


class _CountingEnv:
    """Just enough of a gym env for SeededVecEnv: obs is (reset seed, steps)."""

    def reset(self, seed):
        self.seed, self.t = seed, 0
        return (seed, 0)

    def step(self, action):
        self.t += 1
        return (self.seed, self.t), 0.0, False, self.t >= 3, {}

    def close(self):
        pass


def test_env_shards_merge_into_one_state_that_reshards_for_another_world_size():
    shards = [SeededVecEnv(lambda _: _CountingEnv(), 2, seed=5, first_index=2 * r) for r in range(2)]
    for step in range(4):
        for shard in shards:
            shard.step([step] * 2)
    merged = merge_env_states([s.state() for s in shards])
    assert merged["indices"] == [0, 1, 2, 3]
    # One process of 4 envs restores the merged state exactly where the two shards were.
    single = SeededVecEnv(lambda _: _CountingEnv(), 4, seed=5)
    single.restore(shard_env_state(merged, single.indices))
    assert single.obs == shards[0].obs + shards[1].obs
    assert shard_env_state(merged, [2, 3]) == shards[1].state()
    with pytest.raises(DistributedError, match="resume with the run's own num_envs"):
        shard_env_state(merged, [4, 5])
    with pytest.raises(DistributedError, match="different seeds"):
        merge_env_states([shards[0].state(), {**shards[1].state(), "seed": 6}])


def test_a_rank_samples_actions_with_its_own_generator():
    from llmrl.runtime.distributed import DataParallelPolicy

    seen = []

    class Recorder(torch.nn.Linear):
        def act(self, obs, generator):
            seen.append(torch.rand(1, generator=generator).item())
            return torch.zeros(1), torch.zeros(1), torch.zeros(1)

        evaluate = value = act

        def trainable_parameters(self):
            return list(self.parameters())

    policies = [object.__new__(DataParallelPolicy) for _ in range(2)]
    for rank, dp in enumerate(policies):  # the sampling path only, without a process group
        dp.module, dp.world, dp._source, dp._generator = Recorder(1, 1), World(rank, 2), None, None
        dp.act([0], torch.Generator().manual_seed(9))
    assert seen[0] == torch.rand(1, generator=torch.Generator().manual_seed(9)).item()
    assert seen[0] != seen[1]
