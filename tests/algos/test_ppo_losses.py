"""PPO loss terms against hand-computed values, and where their gradients vanish."""

import math

import pytest
import torch

from llmrl.algos.ppo import (
    approx_kl,
    categorical_logp_entropy,
    clip_fraction,
    explained_variance,
    policy_loss,
    value_loss,
)


def logps_for(ratios):
    """(new_logp, old_logp) whose ratio exp(new - old) equals ``ratios``."""
    ratios = torch.tensor(ratios, dtype=torch.float64)
    return ratios.log(), torch.zeros_like(ratios)


def test_policy_loss_hand_computed():
    new, old = logps_for([0.5, 1.0, 1.5])
    adv = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    # min(.5*1, .8*1) = .5; min(-2, -2) = -2; min(1.5*3, 1.2*3) = 3.6
    assert policy_loss(new, old, adv, 0.2).item() == pytest.approx(-(0.5 - 2.0 + 3.6) / 3)


@pytest.mark.parametrize(
    ("ratio", "adv", "zero_grad"),
    [
        (1.5, 1.0, True),    # A > 0, r > 1 + eps: clipped side
        (0.5, -1.0, True),   # A < 0, r < 1 - eps: clipped side
        (0.5, 1.0, False),   # A > 0, r < 1 - eps: unclipped side, still pushed up
        (1.5, -1.0, False),  # A < 0, r > 1 + eps: unclipped side, still pushed down
        (1.1, 1.0, False),   # inside the range
        (0.9, -1.0, False),
    ],
)
def test_policy_loss_gradient_vanishes_only_on_clipped_side(ratio, adv, zero_grad):
    new, old = logps_for([ratio])
    new.requires_grad_(True)
    policy_loss(new, old, torch.tensor([adv], dtype=torch.float64), 0.2).backward()
    if zero_grad:
        assert new.grad.item() == 0.0
    else:
        # d/dlogp of -(r A) = -r A
        assert new.grad.item() == pytest.approx(-ratio * adv)


def test_value_loss_hand_computed():
    new = torch.tensor([1.0, 0.0])
    old = torch.tensor([0.5, 0.5])
    ret = torch.tensor([2.0, 0.0])
    # clipped values .7 and .3: max(1, 1.69) and max(0, .09)
    assert value_loss(new, old, ret, 0.2).item() == pytest.approx(0.5 * (1.69 + 0.09) / 2)
    assert value_loss(new, old, ret, None).item() == pytest.approx(0.5 * (1.0 + 0.0) / 2)


def test_value_clipping_gradient():
    ret, old = torch.tensor([1.0]), torch.tensor([0.0])
    # Moved past the clip range towards the target: the clipped error (.64) dominates, no gradient.
    new = torch.tensor([0.9], requires_grad=True)
    value_loss(new, old, ret, 0.2).backward()
    assert new.grad.item() == 0.0
    # Inside the range: the ordinary gradient 0.5 * 2 * (v - R).
    new = torch.tensor([0.1], requires_grad=True)
    value_loss(new, old, ret, 0.2).backward()
    assert new.grad.item() == pytest.approx(0.1 - 1.0)
    # Past the range away from the target: unclipped error is larger, gradient kept.
    new = torch.tensor([-0.5], requires_grad=True)
    value_loss(new, old, ret, 0.2).backward()
    assert new.grad.item() == pytest.approx(-0.5 - 1.0)


def test_approx_kl_and_clip_fraction():
    new, old = logps_for([2.0, 1.0])
    assert approx_kl(new, old).item() == pytest.approx((2.0 - 1.0 - math.log(2.0)) / 2)
    new, old = logps_for([0.5, 1.0, 1.5, 1.1])
    assert clip_fraction(new, old, 0.2).item() == pytest.approx(0.5)


def test_explained_variance():
    returns = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert explained_variance(returns, returns) == pytest.approx(1.0)
    assert explained_variance(torch.full((4,), 2.5), returns) == pytest.approx(0.0)
    # Residuals [1, -1, 1, -1] have variance 1; returns have variance 1.25.
    assert explained_variance(returns + torch.tensor([-1.0, 1.0, -1.0, 1.0]), returns) == pytest.approx(1 - 1 / 1.25)
    assert math.isnan(explained_variance(returns, torch.ones(4)))
    with pytest.raises(ValueError, match="same shape"):
        explained_variance(returns, returns[:2])


def test_categorical_logp_entropy_handles_masked_actions():
    logits = torch.tensor([[0.0, 0.0, -math.inf], [1.0, 1.0, 1.0]], requires_grad=True)
    logp, entropy = categorical_logp_entropy(logits, torch.tensor([1, 2]))
    torch.testing.assert_close(logp, torch.tensor([math.log(0.5), math.log(1 / 3)]))
    torch.testing.assert_close(entropy, torch.tensor([math.log(2.0), math.log(3.0)]))
    (logp.sum() + entropy.sum()).backward()
    assert torch.isfinite(logits.grad).all()
    with pytest.raises(ValueError, match=r"\[B, A\]"):
        categorical_logp_entropy(logits, torch.tensor([1]))
