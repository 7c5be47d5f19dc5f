"""Goal-conditioned Q-network: shapes, dueling identity, image branch, embedding table."""

import numpy as np
import pytest
import torch

from llmrl.agents.goal_dqn import GOAL_KEY, IMAGE_KEY, STATE_KEY, GoalConditionedQNet, TextEmbeddingTable, goal_text


def test_goal_qnet_text_shapes_and_reference_sizes():
    net = GoalConditionedQNet(num_actions=17)
    assert net.state_proj[0].in_features == 384 and net.state_proj[0].out_features == 512
    assert net.goal_proj[0].out_features == 512 and net.fuse[0].in_features == 1024 and net.fuse[0].out_features == 512
    obs = {STATE_KEY: torch.randn(5, 384), GOAL_KEY: torch.randn(5, 384)}
    assert net.q_values(obs).shape == (5, 17)
    assert set(net.obs_spec()) == {STATE_KEY, GOAL_KEY}


def test_goal_qnet_is_dueling_and_goal_conditioned():
    torch.manual_seed(0)
    net = GoalConditionedQNet(num_actions=6, embed_dim=8, hidden=16)
    state = torch.randn(3, 8)
    obs = {STATE_KEY: state, GOAL_KEY: torch.randn(3, 8)}
    features = net.fuse(torch.cat([net.state_proj(obs[STATE_KEY]), net.goal_proj(obs[GOAL_KEY])], -1))
    q = net.q_values(obs)
    torch.testing.assert_close(q.mean(-1, keepdim=True), net.head.value(features))
    other_goal = net.q_values({STATE_KEY: state, GOAL_KEY: torch.randn(3, 8)})
    assert not torch.allclose(q, other_goal)


def test_goal_qnet_image_branch():
    net = GoalConditionedQNet(num_actions=4, embed_dim=8, hidden=16, image=True)
    obs = {STATE_KEY: torch.randn(2, 8), GOAL_KEY: torch.randn(2, 8),
           IMAGE_KEY: torch.randint(0, 256, (2, 64, 64, 3), dtype=torch.uint8)}
    assert net.q_values(obs).shape == (2, 4)
    assert net.obs_spec()[IMAGE_KEY] == ((64, 64, 3), np.uint8)
    with pytest.raises(KeyError, match="image"):
        net.q_values({STATE_KEY: obs[STATE_KEY], GOAL_KEY: obs[GOAL_KEY]})


def test_goal_qnet_rejects_bad_sizes():
    with pytest.raises(ValueError, match="sizes must be >= 1"):
        GoalConditionedQNet(num_actions=0)


def test_embedding_table_encodes_each_text_once_in_one_batch(embedder):
    table = TextEmbeddingTable(embedder, capacity=2)
    first = table.lookup(["a b", "c", "a b"])
    assert embedder.calls == 1 and len(table) == 2
    np.testing.assert_array_equal(first[0], first[2])
    np.testing.assert_allclose(first[1], embedder.embed(["c"])[0].numpy())
    calls = embedder.calls
    again = table.lookup(["c", "a b", "d e", "f"])  # grows past its initial capacity
    assert embedder.calls == calls + 1 and len(table) == 4 and table.dim == 32
    np.testing.assert_array_equal(again[1], first[0])


def test_goal_text():
    assert goal_text(("chop tree", "drink water")) == "Your goal is: chop tree, drink water."
    assert goal_text(()) == "Your goal is: nothing."
