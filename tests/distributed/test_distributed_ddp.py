"""Two gloo ranks on 127.0.0.1: a DDP PPO update equals a single-process update on the concatenated batch."""

from __future__ import annotations

import json

import pytest
import torch
from distributed_launch import launch, worker
from distributed_worker import EPOCHS, GLOBAL_BATCH, GLOBAL_MINIBATCH, ORDER_SEED, SETTINGS, TinyPolicy, global_batch
from safetensors.torch import load_file

from llmrl.algos.ppo import PPOBatch, ppo_update

WORLD = 2


def reference_update() -> dict[str, torch.Tensor]:
    """One process, all samples: minibatch k is the union of every rank's k-th local minibatch.

    Each rank shuffles its b = B / W positions with the same generator, so the global
    minibatch k holds the samples at positions order[k*m:(k+1)*m] of every shard.
    """
    policy = TinyPolicy(seed=0)
    obs, actions, batch = global_batch()
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-2)
    b, m = GLOBAL_BATCH // WORLD, GLOBAL_MINIBATCH // WORLD
    order_generator = torch.Generator().manual_seed(ORDER_SEED)
    for _ in range(EPOCHS):
        order = torch.randperm(b, generator=order_generator)
        for start in range(0, b, m):
            rows = torch.cat([r * b + order[start:start + m] for r in range(WORLD)])
            sub = PPOBatch(*(getattr(batch, f)[rows] for f in ("old_logp", "old_values", "advantages", "returns")))
            # One ppo_update call per global minibatch: a single step on exactly those samples.
            ppo_update(lambda idx, rows=rows: policy.evaluate(obs[rows[idx]], actions[rows[idx]]), sub, optimizer,
                       list(policy.parameters()), epochs=1, minibatch_size=len(rows),
                       generator=torch.Generator().manual_seed(0), **SETTINGS)
    return {k: v.detach() for k, v in policy.state_dict().items()}


def test_ddp_update_is_identical_on_ranks_and_equals_the_single_process_update(tmp_path):
    results = launch(worker("update", str(tmp_path)), WORLD)
    for rank, result in enumerate(results):
        assert result.returncode == 0, f"rank {rank} failed:\n{result.stderr[-3000:]}"
    ranks = [load_file(str(tmp_path / f"rank{r}.safetensors")) for r in range(WORLD)]
    # The minibatch order generator draws the same permutation on every rank.
    assert torch.equal(ranks[0].pop("first_order"), ranks[1].pop("first_order"))
    for name in ranks[0]:
        assert torch.equal(ranks[0][name], ranks[1][name]), f"{name} differs between ranks"
    for rank in range(WORLD):
        collectives = json.loads((tmp_path / f"collectives{rank}.json").read_text())
        assert collectives["gathered"] == [{"rank": 0, "text": "é"}, {"rank": 1, "text": "éé"}]
        assert collectives["metrics"] == {"update": 3.0, "frames": 16.0, "fps": 4.0, "episodes": 2.0,
                                          "success_rate": 1.0, "return": 0.5, "policy_loss": 0.5}
    reference = reference_update()
    initial = TinyPolicy(seed=0).state_dict()
    for name, value in reference.items():
        assert not torch.allclose(value, initial[name]), f"{name} did not move: the test would prove nothing"
        torch.testing.assert_close(ranks[0][name], value, atol=1e-5, rtol=0)


@pytest.mark.parametrize("mode", ["die", "stuck"])
def test_a_lost_rank_stops_the_job_with_a_clear_message(tmp_path, mode):
    # "die": the peer's connection closes; "stuck": it stays silent and the 3 s timeout fires.
    survivor, lost = launch(worker(mode, str(tmp_path)), WORLD)
    assert lost.returncode == 3
    assert survivor.returncode == 1, survivor.stderr[-3000:]
    message = (tmp_path / "error.txt").read_text()
    assert message.startswith("DistributedError: rank 0/2: a collective failed or timed out")
    assert "another rank probably died or is stuck" in message
