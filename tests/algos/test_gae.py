"""GAE against hand-computed values, with a termination and a truncation mid-rollout."""

import pytest
import torch

from llmrl.algos.gae import compute_gae

# T=3 steps x N=2 envs. Env 0 terminates at t=1; env 1 is truncated at t=1, and the value of
# its true final observation is 5.0. gamma=0.9, lam=0.8 (gamma*lam = 0.72).
REWARDS = torch.tensor([[1.0, 0.0], [2.0, 1.0], [0.0, 3.0]])
VALUES = torch.tensor([[0.5, 1.0], [1.5, 2.0], [0.2, 0.4]])
TERMINATED = torch.tensor([[False, False], [True, False], [False, False]])
TRUNCATED = torch.tensor([[False, False], [False, True], [False, False]])
FINAL_VALUES = torch.tensor([[0.0, 0.0], [0.0, 5.0], [0.0, 0.0]])
NEXT_VALUE = torch.tensor([0.7, 0.6])


def test_gae_bootstraps_truncation_and_zeroes_termination():
    adv, ret = compute_gae(REWARDS, VALUES, TERMINATED, NEXT_VALUE, gamma=0.9, lam=0.8,
                           truncated=TRUNCATED, final_values=FINAL_VALUES)
    # env 0: d2 = 0 + .9*.7 - .2 = .43; d1 = 2 - 1.5 = .5 (terminal); d0 = 1 + .9*1.5 - .5 = 1.85; A0 = 1.85 + .72*.5
    # env 1: d2 = 3 + .9*.6 - .4 = 3.14; d1 = 1 + .9*5 - 2 = 3.5 (truncated); d0 = .9*2 - 1 = .8; A0 = .8 + .72*3.5
    expected = torch.tensor([[2.21, 3.32], [0.5, 3.5], [0.43, 3.14]])
    torch.testing.assert_close(adv, expected)
    torch.testing.assert_close(ret, expected + VALUES)


def test_gae_without_truncation_info_treats_flags_given_as_terminal():
    # CleanRL's convention: pass terminated | truncated; env 1's step 1 then bootstraps 0.
    adv, _ = compute_gae(REWARDS, VALUES, TERMINATED | TRUNCATED, NEXT_VALUE, gamma=0.9, lam=0.8)
    assert adv[1, 1].item() == pytest.approx(1.0 - 2.0)
    assert adv[0, 1].item() == pytest.approx(0.8 + 0.72 * -1.0)


def test_termination_wins_over_truncation():
    both = torch.tensor([[False, False], [True, True], [False, False]])
    adv, _ = compute_gae(REWARDS, VALUES, both, NEXT_VALUE, gamma=0.9, lam=0.8,
                         truncated=both, final_values=FINAL_VALUES)
    assert adv[1, 1].item() == pytest.approx(1.0 - 2.0)


def test_lambda_one_gives_discounted_monte_carlo_returns():
    rewards = torch.tensor([[1.0], [2.0], [3.0]])
    values = torch.tensor([[0.3], [-1.0], [2.0]])
    _, ret = compute_gae(rewards, values, torch.zeros(3, 1), torch.tensor([4.0]), gamma=0.5, lam=1.0)
    expected = [1 + 0.5 * 2 + 0.25 * 3 + 0.125 * 4, 2 + 0.5 * 3 + 0.25 * 4, 3 + 0.5 * 4]
    torch.testing.assert_close(ret[:, 0], torch.tensor(expected))


def test_gae_rejects_bad_input():
    with pytest.raises(ValueError, match="values must have the shape"):
        compute_gae(REWARDS, VALUES[:2], TERMINATED, NEXT_VALUE, gamma=0.9, lam=0.8)
    with pytest.raises(ValueError, match="next_value must be"):
        compute_gae(REWARDS, VALUES, TERMINATED, NEXT_VALUE[:1], gamma=0.9, lam=0.8)
    with pytest.raises(ValueError, match="together"):
        compute_gae(REWARDS, VALUES, TERMINATED, NEXT_VALUE, gamma=0.9, lam=0.8, truncated=TRUNCATED)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        compute_gae(REWARDS, VALUES, TERMINATED, NEXT_VALUE, gamma=1.5, lam=0.8)
