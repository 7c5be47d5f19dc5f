"""Double-DQN target, epsilon schedule, target copies and the update step."""

import numpy as np
import pytest
import torch

from llmrl.algos.dqn import DQNConfig, copy_params, double_dqn_target, dqn_update, linear_epsilon
from llmrl.algos.replay import NStepReplayBuffer


def add_one_step_episodes(replay: NStepReplayBuffer, count: int = 32) -> None:
    """`count` steps of 2 envs in one state, each a one-step episode: action 0 pays 1, action 1 pays 0."""
    state = {"x": np.ones((2, 3), np.float32)}
    terminated, truncated = np.array([True, True]), np.array([False, False])
    for _ in range(count):
        replay.add(state, np.array([0, 1]), np.array([1.0, 0.0]), state, terminated, truncated)


def test_double_dqn_target_selects_online_evaluates_target():
    online = torch.tensor([[1.0, 3.0], [2.0, 0.0]])
    target = torch.tensor([[10.0, 20.0], [30.0, 40.0]])
    y = double_dqn_target(online, target, torch.tensor([1.0, 2.0]), torch.tensor([0.9, 0.81]), torch.tensor([0.0, 1.0]))
    # argmax online -> actions [1, 0]; target values [20, 30]; the second transition terminated.
    torch.testing.assert_close(y, torch.tensor([1.0 + 0.9 * 20.0, 2.0]))
    # Not vanilla DQN: max of target would give 40 for the second row if it continued.
    y = double_dqn_target(online, target, torch.tensor([0.0, 0.0]), 0.5, torch.tensor([0.0, 0.0]))
    torch.testing.assert_close(y, torch.tensor([10.0, 15.0]))
    with pytest.raises(ValueError, match=r"\[B, A\]"):
        double_dqn_target(online, target[:, :1], torch.zeros(2), 0.9, torch.zeros(2))


def test_linear_epsilon():
    assert linear_epsilon(0) == 1.0
    assert linear_epsilon(500_000) == pytest.approx(0.505)
    assert linear_epsilon(1_000_000) == pytest.approx(0.01)
    assert linear_epsilon(5_000_000) == pytest.approx(0.01)
    assert linear_epsilon(5, start=0.5, end=0.1, duration=10) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="duration"):
        linear_epsilon(0, duration=0)


def test_config_defaults_follow_the_reference_and_validate():
    cfg = DQNConfig()
    assert (cfg.lr, cfg.batch_size, cfg.gamma, cfg.n_step, cfg.train_every, cfg.target_update_every) == (
        6.25e-5, 64, 0.99, 3, 4, 8000)
    exploration = (cfg.epsilon_start, cfg.epsilon_end, cfg.epsilon_decay_steps, cfg.learning_starts)
    assert exploration == (1.0, 0.01, 1_000_000, 5000)
    with pytest.raises(ValueError, match="batch_size=0"):
        DQNConfig(batch_size=0)
    with pytest.raises(ValueError, match="gamma"):
        DQNConfig(gamma=1.5)


class TinyQ(torch.nn.Module):
    def __init__(self, features=3, actions=2):
        super().__init__()
        self.linear = torch.nn.Linear(features, actions)

    def q_values(self, obs):
        return self.linear(obs["x"])


def test_copy_params_makes_an_exact_copy():
    torch.manual_seed(0)
    online, target = TinyQ(), TinyQ()
    assert not torch.equal(online.linear.weight, target.linear.weight)
    copy_params(target, online)
    pairs = zip(online.state_dict().values(), target.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)


def test_dqn_update_fits_a_one_step_problem_and_leaves_target_alone():
    torch.manual_seed(0)
    online, target = TinyQ(), TinyQ()
    copy_params(target, online)
    target_before = [p.clone() for p in target.parameters()]
    replay = NStepReplayBuffer(64, {"x": ((3,), np.float32)}, n_step=3, gamma=0.99, num_envs=2)
    add_one_step_episodes(replay)
    optimizer = torch.optim.Adam(online.parameters(), lr=0.05)
    rng = np.random.default_rng(0)
    for _ in range(150):
        stats = dqn_update(online, target, replay, optimizer, rng, batch_size=16, max_grad_norm=10.0)
    q = online.q_values({"x": torch.ones(1, 3)})[0]
    torch.testing.assert_close(q, torch.tensor([1.0, 0.0]), atol=0.05, rtol=0)
    assert all(torch.equal(a, b) for a, b in zip(target_before, target.parameters(), strict=True))
    assert set(stats) == {"loss", "q_mean", "td_abs", "grad_norm", "skipped"} and stats["loss"] < 0.01


def test_dqn_update_veto_skips_the_step():
    online, target = TinyQ(), TinyQ()
    replay = NStepReplayBuffer(8, {"x": ((3,), np.float32)}, n_step=1, gamma=0.99, num_envs=1)
    replay.add({"x": np.ones((1, 3), np.float32)}, np.array([0]), np.array([1.0]), {"x": np.ones((1, 3), np.float32)},
               np.array([False]), np.array([False]))
    before = [p.clone() for p in online.parameters()]
    stats = dqn_update(online, target, replay, torch.optim.SGD(online.parameters(), lr=1.0), np.random.default_rng(0),
                       batch_size=4, max_grad_norm=None, before_step=lambda norm: False)
    assert stats["skipped"] == 1.0 and stats["grad_norm"] > 0
    assert all(torch.equal(a, b) for a, b in zip(before, online.parameters(), strict=True))


def test_bf16_precision_fits_like_fp32_and_is_validated():
    # bf16 autocast only changes the matmul operands: the one-step problem is fitted as in fp32.
    torch.manual_seed(0)
    online, target = TinyQ(), TinyQ()
    copy_params(target, online)
    replay = NStepReplayBuffer(64, {"x": ((3,), np.float32)}, n_step=1, gamma=0.99, num_envs=2)
    add_one_step_episodes(replay)
    optimizer = torch.optim.Adam(online.parameters(), lr=0.05)
    rng = np.random.default_rng(0)
    dtype = DQNConfig(precision="bf16").compute_dtype
    assert dtype == torch.bfloat16 and DQNConfig().compute_dtype is None
    for _ in range(150):
        stats = dqn_update(
            online, target, replay, optimizer, rng, batch_size=16, max_grad_norm=10.0, compute_dtype=dtype
        )
    assert online.linear.weight.dtype == torch.float32  # master weights stay fp32
    q = online.q_values({"x": torch.ones(1, 3)})[0]
    torch.testing.assert_close(q, torch.tensor([1.0, 0.0]), atol=0.05, rtol=0)
    assert stats["loss"] < 0.01
    with pytest.raises(ValueError, match="precision"):
        DQNConfig(precision="fp16")
