"""The shared clip / guard / step tail of PPO and DQN updates."""

import math

import pytest
import torch

from llmrl.algos.optim import check_max_grad_norm, clip_and_step


def test_clip_and_step_clips_and_reports_the_pre_clip_norm():
    param = torch.nn.Parameter(torch.zeros(2))
    param.grad = torch.tensor([3.0, 4.0])
    norm, stepped = clip_and_step([param], torch.optim.SGD([param], lr=1.0), 1.0, None)
    assert norm == pytest.approx(5.0) and stepped
    torch.testing.assert_close(param.detach(), torch.tensor([-0.6, -0.8]))


@pytest.mark.parametrize("max_norm", [0.5, 3.0, 100.0])
def test_clip_and_step_matches_torch_clip_grad_norm(max_norm):
    torch.manual_seed(0)
    grads = [torch.randn(3, 4), torch.randn(5)]  # total norm ~4.3: clipped by 0.5 and 3, not by 100
    ours = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    theirs = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, q, g in zip(ours, theirs, grads, strict=True):
        p.grad, q.grad = g.clone(), g.clone()
    norm, _ = clip_and_step(ours, torch.optim.SGD(ours, lr=1.0), max_norm, None)
    expected = float(torch.nn.utils.clip_grad_norm_(theirs, max_norm))
    torch.optim.SGD(theirs, lr=1.0).step()
    assert norm == pytest.approx(expected)
    for p, q in zip(ours, theirs, strict=True):
        torch.testing.assert_close(p.detach(), q.detach())


def test_nan_guard_keeps_weights_finite():
    param = torch.nn.Parameter(torch.ones(2))
    param.grad = torch.tensor([math.nan, 1.0])
    norm, stepped = clip_and_step([param], torch.optim.SGD([param], lr=1.0), None, math.isfinite)
    assert math.isnan(norm) and not stepped
    assert torch.equal(param.detach(), torch.ones(2))


def test_check_max_grad_norm():
    check_max_grad_norm(None)
    check_max_grad_norm(0.5)
    with pytest.raises(ValueError, match="max_grad_norm must be > 0"):
        check_max_grad_norm(0.0)
