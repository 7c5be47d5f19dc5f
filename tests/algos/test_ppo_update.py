"""The model-agnostic PPO minibatch loop: learning, determinism, gradient accumulation, guards."""

import math
from functools import partial

import pytest
import torch

from llmrl.algos.ppo import PPOBatch, categorical_logp_entropy, ppo_update

KWARGS = dict(epochs=4, minibatch_size=16, clip_coef=0.2, value_clip_coef=0.2, ent_coef=0.01, vf_coef=0.5,
              max_grad_norm=0.5, normalize_advantages=True)


class Bandit(torch.nn.Module):
    """Three-armed bandit policy: state-free logits and a scalar value."""

    def __init__(self):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.zeros(3))
        self.value = torch.nn.Parameter(torch.zeros(()))


def evaluate_bandit(policy: Bandit, actions: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """(log-probs, entropy, values) of the sampled `actions[idx]` under the current policy."""
    logp, entropy = categorical_logp_entropy(policy.logits.expand(len(idx), 3), actions[idx])
    return logp, entropy, policy.value.expand(len(idx))


def train_bandit(seed: int, iterations: int) -> tuple[Bandit, dict]:
    torch.manual_seed(seed)
    policy = Bandit()
    optimizer = torch.optim.Adam(policy.parameters(), lr=0.05)
    generator = torch.Generator().manual_seed(seed)
    stats = {}
    for _ in range(iterations):
        with torch.no_grad():
            actions = torch.multinomial(policy.logits.softmax(-1), 64, replacement=True, generator=generator)
            old_logp, _ = categorical_logp_entropy(policy.logits.expand(64, 3), actions)
            rewards = (actions == 2).float()  # only arm 2 pays
            old_values = policy.value.expand(64).clone()
        batch = PPOBatch(old_logp=old_logp, old_values=old_values, advantages=rewards - old_values, returns=rewards)
        evaluate = partial(evaluate_bandit, policy, actions)
        stats = ppo_update(evaluate, batch, optimizer, policy.parameters(), generator=generator, **KWARGS)
    return policy, stats


def test_ppo_update_learns_a_bandit():
    policy, stats = train_bandit(seed=0, iterations=6)
    assert policy.logits.softmax(-1)[2].item() > 0.8
    assert set(stats) == {
        "policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction", "grad_norm", "skipped_steps",
    }
    assert 0.0 <= stats["clip_fraction"] <= 1.0 and stats["approx_kl"] >= 0.0


def test_ppo_update_is_deterministic_given_the_generator():
    first, stats_a = train_bandit(seed=3, iterations=2)
    second, stats_b = train_bandit(seed=3, iterations=2)
    assert torch.equal(first.logits, second.logits) and torch.equal(first.value, second.value)
    assert stats_a == stats_b


def linear_problem(size=24, features=5):
    """A per-sample policy/value (linear in features) so that micro-batches differ from each other."""
    torch.manual_seed(1)
    x = torch.randn(size, features)
    actions = torch.randint(0, 4, (size,))
    net = torch.nn.Linear(features, 5)  # 4 logits + 1 value
    with torch.no_grad():
        out = net(x)
        old_logp, _ = categorical_logp_entropy(out[:, :4] + 0.3 * torch.randn(size, 4), actions)
    batch = PPOBatch(old_logp=old_logp, old_values=out[:, 4] + 0.1 * torch.randn(size),
                     advantages=torch.randn(size), returns=torch.randn(size))

    def evaluate(idx):
        out = net(x[idx])
        logp, entropy = categorical_logp_entropy(out[:, :4], actions[idx])
        return logp, entropy, out[:, 4]

    return net, batch, evaluate


def minibatch_gradient(grad_accum_steps: int) -> tuple[list[torch.Tensor], dict]:
    net, batch, evaluate = linear_problem()
    grads = []

    def capture(norm):
        grads.extend(p.grad.clone() for p in net.parameters())
        return False  # skip the step: only the gradient is compared

    kwargs = {**KWARGS, "epochs": 1, "minibatch_size": batch.size, "max_grad_norm": None}
    stats = ppo_update(evaluate, batch, torch.optim.SGD(net.parameters(), lr=1.0), net.parameters(),
                       generator=torch.Generator().manual_seed(0), grad_accum_steps=grad_accum_steps,
                       before_step=capture, **kwargs)
    return grads, stats


def test_grad_accumulation_matches_one_minibatch():
    full, stats_full = minibatch_gradient(1)
    accumulated, stats_accum = minibatch_gradient(5)  # 24 samples -> chunks of 5,5,5,5,4
    assert any(g.abs().sum() > 0 for g in full)
    for a, b in zip(full, accumulated, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
    for key in ("policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction", "grad_norm"):
        assert stats_full[key] == pytest.approx(stats_accum[key], abs=1e-6)
    assert stats_full["skipped_steps"] == 1.0


def test_vetoed_step_leaves_parameters_unchanged_and_ragged_minibatch_is_used():
    net, batch, evaluate = linear_problem()
    before = [p.clone() for p in net.parameters()]
    calls = []
    stats = ppo_update(evaluate, batch, torch.optim.SGD(net.parameters(), lr=1.0), net.parameters(),
                       generator=torch.Generator().manual_seed(0), before_step=lambda n: calls.append(n) or False,
                       **{**KWARGS, "epochs": 2, "minibatch_size": 10})
    assert stats["skipped_steps"] == 6.0
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))
    assert len(calls) == 2 * 3  # 24 samples in minibatches of 10, 10, 4
    # A last minibatch (4) shorter than grad_accum_steps (6) gets no empty micro-batch.
    stats = ppo_update(evaluate, batch, torch.optim.SGD(net.parameters(), lr=1.0), net.parameters(),
                       generator=torch.Generator().manual_seed(0), grad_accum_steps=6,
                       **{**KWARGS, "epochs": 1, "minibatch_size": 10})
    assert math.isfinite(stats["policy_loss"]) and math.isfinite(stats["grad_norm"])


def test_ppo_update_rejects_bad_input():
    net, batch, evaluate = linear_problem()
    opt = torch.optim.SGD(net.parameters(), lr=1.0)
    gen = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="grad_accum_steps"):
        ppo_update(evaluate, batch, opt, net.parameters(), generator=gen, grad_accum_steps=17, **KWARGS)
    with pytest.raises(ValueError, match="params_for_clip is empty"):
        ppo_update(evaluate, batch, opt, [], generator=gen, **KWARGS)
    with pytest.raises(ValueError, match="evaluate returned new_values"):
        ppo_update(lambda idx: (*evaluate(idx)[:2], torch.zeros(len(idx), 1)), batch, opt, net.parameters(),
                   generator=gen, **KWARGS)
    with pytest.raises(ValueError, match="non-empty 1-D"):
        PPOBatch(old_logp=torch.zeros(3), old_values=torch.zeros(3), advantages=torch.zeros(2), returns=torch.zeros(3))
    with pytest.raises(ValueError, match="max_grad_norm"):
        ppo_update(evaluate, batch, opt, net.parameters(), generator=gen, **{**KWARGS, "max_grad_norm": 0.0})
    assert math.isfinite(ppo_update(evaluate, batch, opt, net.parameters(), generator=gen, **KWARGS)["policy_loss"])
