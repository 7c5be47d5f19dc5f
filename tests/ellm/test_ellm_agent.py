"""Goal-conditioned Q-network: shapes, dueling identity, image branch, embedding table."""

import numpy as np
import pytest
import torch

from llmrl.agents.goal_dqn import GOAL_KEY, IMAGE_KEY, STATE_KEY, GoalConditionedQNet, TextEmbeddingTable, goal_text


class FixedEmbedder:
    """Random unit vectors of size `dim`, one per distinct text (deterministic per text)."""

    def __init__(self, dim: int) -> None:
        self.dim, self.calls = dim, 0

    def embed(self, texts: list[str]) -> torch.Tensor:
        self.calls += 1
        rows = [torch.randn(self.dim, generator=torch.Generator().manual_seed(sum(map(ord, t)) + len(t)))
                for t in texts]
        return torch.nn.functional.normalize(torch.stack(rows), dim=-1)


def _obs(table: TextEmbeddingTable, states: list[str], goals: list[str]) -> dict[str, torch.Tensor]:
    return {STATE_KEY: torch.from_numpy(table.ids(states)), GOAL_KEY: torch.from_numpy(table.ids(goals))}


def test_goal_qnet_text_shapes_and_reference_sizes():
    table = TextEmbeddingTable(FixedEmbedder(384))
    net = GoalConditionedQNet(num_actions=17, table=table)
    assert net.state_proj[0].in_features == 384 and net.state_proj[0].out_features == 512
    assert net.goal_proj[0].out_features == 512 and net.fuse[0].in_features == 1024 and net.fuse[0].out_features == 512
    obs = _obs(table, [f"state {i}" for i in range(5)], [goal_text(("chop tree",))] * 5)
    assert net.q_values(obs).shape == (5, 17)
    assert net.obs_spec() == {STATE_KEY: ((), np.int64), GOAL_KEY: ((), np.int64)}
    # The reference's network ends at the fusion: V and A are linear on it unless asked otherwise.
    assert net.head.advantage.in_features == 512 and net.head.advantage.out_features == 17
    deep = GoalConditionedQNet(num_actions=17, table=table, dueling_hidden=512)
    extra = sum(p.numel() for p in deep.parameters()) - sum(p.numel() for p in net.parameters())
    assert extra == 2 * (512 * 512 + 512)  # one 512 -> 512 layer per stream
    assert deep.q_values(obs).shape == (5, 17)


def test_goal_qnet_is_dueling_and_goal_conditioned():
    torch.manual_seed(0)
    table = TextEmbeddingTable(FixedEmbedder(8))
    net = GoalConditionedQNet(num_actions=6, table=table, hidden=16)
    states = ["a", "b", "a"]
    obs = _obs(table, states, ["g1", "g2", "g1"])
    embedded = {key: table.rows(ids) for key, ids in obs.items()}
    features = net.fuse(torch.cat([net.state_proj(embedded[STATE_KEY]), net.goal_proj(embedded[GOAL_KEY])], -1))
    q = net.q_values(obs)
    torch.testing.assert_close(q.mean(-1, keepdim=True), net.head.value(features))
    other_goal = net.q_values(_obs(table, states, ["g3", "g3", "g3"]))
    assert not torch.allclose(q, other_goal)


def test_goal_qnet_image_branch():
    table = TextEmbeddingTable(FixedEmbedder(8))
    net = GoalConditionedQNet(num_actions=4, table=table, hidden=16, image=True)
    obs = {**_obs(table, ["a", "b"], ["g", "g"]), IMAGE_KEY: torch.randint(0, 256, (2, 64, 64, 3), dtype=torch.uint8)}
    assert net.q_values(obs).shape == (2, 4)
    assert net.obs_spec()[IMAGE_KEY] == ((64, 64, 3), np.uint8)
    with pytest.raises(KeyError, match="image"):
        net.q_values({STATE_KEY: obs[STATE_KEY], GOAL_KEY: obs[GOAL_KEY]})


def test_goal_qnet_rejects_bad_sizes_and_inputs():
    table = TextEmbeddingTable(FixedEmbedder(8))
    with pytest.raises(ValueError, match="sizes must be >= 1"):
        GoalConditionedQNet(num_actions=0, table=table)
    with pytest.raises(ValueError, match="dueling_hidden >= 0"):
        GoalConditionedQNet(num_actions=3, table=table, dueling_hidden=-1)
    net = GoalConditionedQNet(num_actions=3, table=table, hidden=4)
    with pytest.raises(TypeError, match="row ids"):
        net.q_values({STATE_KEY: torch.randn(2, 8), GOAL_KEY: torch.randn(2, 8)})
    with pytest.raises(IndexError, match="row ids must lie in"):
        net.q_values({STATE_KEY: torch.tensor([0, 99]), GOAL_KEY: torch.tensor([0, 0])})


def test_embedding_table_encodes_each_text_once_in_one_batch(embedder):
    table = TextEmbeddingTable(embedder, capacity=2)
    first = table.ids(["a b", "c", "a b"])
    assert embedder.calls == 1 and len(table) == 2
    assert first[0] == first[2] and first[0] != first[1]
    np.testing.assert_allclose(table.rows(torch.from_numpy(first))[1].numpy(), embedder.embed(["c"])[0].numpy())
    calls = embedder.calls
    again = table.ids(["c", "a b", "d e", "f"])  # grows past its initial capacity
    assert embedder.calls == calls + 1 and len(table) == 4 and table.dim == 32
    assert again[1] == first[0] and again[0] == first[1]


def test_embedding_table_state_round_trip_keeps_row_ids(embedder):
    table = TextEmbeddingTable(embedder)
    ids = table.ids(["x", "y z", "w"])
    matrix, texts = table.state()
    restored = TextEmbeddingTable(embedder, capacity=1)
    restored.load_state(matrix.copy(), texts)
    calls = embedder.calls
    np.testing.assert_array_equal(restored.ids(["w", "x", "y z"]), ids[[2, 0, 1]])
    assert embedder.calls == calls  # nothing re-encoded
    torch.testing.assert_close(restored.rows(torch.from_numpy(ids)), table.rows(torch.from_numpy(ids)))
    with pytest.raises(ValueError, match="distinct texts"):
        restored.load_state(matrix, ["x", "x", "w"])


def test_goal_text():
    assert goal_text(("chop tree", "drink water")) == "Your goal is: chop tree, drink water."
    assert goal_text(()) == "Your goal is: nothing."
