"""Value, action-logit and dueling heads: shapes, sizes and the dueling identity."""

import pytest
import torch

from llmrl.agents.heads import ActionLogitsHead, DuelingHead, ValueHead


def test_value_head_matches_reference_sizes_and_accepts_bf16_hidden_states():
    head = ValueHead(hidden_size=16)
    assert [m.out_features for m in head.net if isinstance(m, torch.nn.Linear)] == [1024, 1024, 1]
    assert sum(isinstance(m, torch.nn.Sigmoid) for m in head.net) == 2
    values = head(torch.randn(4, 3, 16, dtype=torch.bfloat16))
    assert values.shape == (4, 3) and values.dtype == torch.float32


def test_action_logits_head_gives_one_logit_per_action():
    logits = ActionLogitsHead(hidden_size=8, num_actions=6, inner=32)(torch.randn(5, 8))
    assert logits.shape == (5, 6)


@pytest.mark.parametrize("hidden", [0, 32])
def test_dueling_head_identity(hidden):
    torch.manual_seed(0)
    head = DuelingHead(in_features=10, num_actions=4, hidden=hidden)
    features = torch.randn(7, 10)
    q = head(features)
    value, advantage = head.value(features), head.advantage(features)
    assert q.shape == (7, 4)
    # Q = V + A - mean(A): the mean Q is V, and Q's deviations are A's.
    torch.testing.assert_close(q.mean(-1, keepdim=True), value)
    torch.testing.assert_close(q - q.mean(-1, keepdim=True), advantage - advantage.mean(-1, keepdim=True))


def test_dueling_streams_are_linear_by_default_and_get_a_hidden_layer_on_request():
    linear = DuelingHead(in_features=10, num_actions=4)
    assert isinstance(linear.value, torch.nn.Linear) and linear.advantage.out_features == 4
    deep = DuelingHead(in_features=10, num_actions=4, hidden=32)
    assert [m.out_features for m in deep.advantage if isinstance(m, torch.nn.Linear)] == [32, 4]
    assert [m.out_features for m in deep.value if isinstance(m, torch.nn.Linear)] == [32, 1]


def test_heads_reject_bad_sizes():
    with pytest.raises(ValueError, match="sizes must be >= 1"):
        DuelingHead(10, 0)
    with pytest.raises(ValueError, match="hidden >= 0"):
        DuelingHead(10, 4, hidden=-1)
    with pytest.raises(ValueError, match="layer sizes"):
        ValueHead(0)
