"""KV-cache-reuse scoring gives the naive log-probs (values, hidden states, gradients) on tiny random models."""

import random

import pytest
import torch

from llmrl.lm import tiny_random_lm
from llmrl.lm.kv_scoring import score_kv_reuse
from llmrl.lm.tiny import BASE_WORDS


def batch(seed: int, num_prompts: int = 4, max_candidates: int = 30):
    rng = random.Random(seed)
    prompts, candidates = [], []
    for _ in range(num_prompts):
        prompts.append(" ".join(rng.choices(BASE_WORDS, k=rng.randint(2, 40))) + rng.choice(["", " Action: "]))
        # One-word candidates (no row), repeats, shared starts and long ones, ragged counts.
        pool = [" ".join(rng.choices(BASE_WORDS, k=rng.randint(1, 6))) for _ in range(max_candidates)]
        candidates.append(rng.sample(pool, rng.randint(1, max_candidates)) + [pool[0]])
    return prompts, candidates


@pytest.mark.parametrize("family", ["llama", "gpt2"])
@pytest.mark.parametrize("normalize", ["sum", "mean"])
def test_kv_reuse_equals_naive(family, normalize):
    lm = tiny_random_lm(family, seed=1)
    prompts, candidates = batch(0)
    naive, h_naive = lm.score(prompts, candidates, method="naive", normalize=normalize, return_hidden=True)
    # A budget of 64 keys forces many micro-batches of a few rows.
    for budget in (64, 100_000):
        kv, h_kv = score_kv_reuse(lm, prompts, candidates, normalize=normalize, return_hidden=True, token_budget=budget)
        assert [len(s) for s in kv] == [len(c) for c in candidates]
        for a, b in zip(naive, kv, strict=True):
            torch.testing.assert_close(a, b, atol=1e-4, rtol=0)
        torch.testing.assert_close(h_naive, h_kv, atol=1e-4, rtol=0)


def test_kv_reuse_gradients_equal_naive():
    lm = tiny_random_lm("llama", seed=2)
    prompts, candidates = batch(1, num_prompts=2, max_candidates=8)

    def grads(fn):
        lm.model.zero_grad()
        scores, hidden = fn()
        loss = sum(torch.log_softmax(s, 0)[0] + s.sum() for s in scores) + hidden.tanh().sum()
        loss.backward()
        return {n: p.grad.clone() for n, p in lm.model.named_parameters() if p.grad is not None}

    naive = grads(lambda: lm.score(prompts, candidates, method="naive", grad=True, return_hidden=True))
    kv = grads(lambda: score_kv_reuse(lm, prompts, candidates, grad=True, return_hidden=True, token_budget=64))
    assert naive.keys() == kv.keys() and len(naive) > 5
    for name in naive:
        torch.testing.assert_close(naive[name], kv[name], atol=1e-4, rtol=1e-3, msg=name)


def test_kv_reuse_refuses_encoder_decoders():
    with pytest.raises(ValueError, match="causal"):
        score_kv_reuse(tiny_random_lm("t5"), ["go"], [["left"]])
