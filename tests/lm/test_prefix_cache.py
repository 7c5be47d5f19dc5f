"""Prefix-cached shared scoring equals shared and naive scoring; the cache is reused, bounded and kept fresh."""

import random

import pytest
import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

from llmrl.lm import LanguageModel, tiny_random_lm
from llmrl.lm.model import PREFIX_CACHE_SIZE
from llmrl.lm.tiny import BASE_WORDS, build_word_tokenizer

PREFIX = "you see a red ball , a green key and a wall . go to the red ball . "
# Prompts of 26-31 tokens after the prefix: different lengths, but with their candidate trees
# (2, 6, 1 and 7 fed tokens) rows close enough in length to share one micro-batch.
_WORDS = random.Random(0).choices(BASE_WORDS, k=31)
PROMPTS = [PREFIX + " ".join(_WORDS[:n]) + end for n, end in ((31, ""), (24, " Action 2: "), (30, " :"), (26, ""))]
# Candidates sharing prefixes ("turn", "pick up the"), a repeat, and one-token candidates.
CANDIDATES = [
    ["turn left", "turn right", "go forward", "turn left"],
    ["pick up the red key", "pick up the box", "drop", "go forward now"],
    ["left", "right", "turn left"],
    ["toggle", "go", "go forward", "put the box next to the door"],
]

def assert_same(a, b, atol=1e-5):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x, y, atol=atol, rtol=0)


@pytest.fixture(scope="module", params=["llama", "gpt2"])
def causal_lm(request):
    return tiny_random_lm(request.param, seed=1)


class SharedSpy:
    """Records each shared-scoring call: how many rows, and whether they read a cached prefix."""

    def __init__(self, lm, monkeypatch):
        self.calls: list[tuple[int, int]] = []  # (rows, prefix length; 0 without)
        self.computed: list[int] = []  # lengths of the prefixes computed
        shared, prefix_kv = lm._scorer.shared, lm._scorer.prefix_kv

        def spy_shared(pairs, device, prefix=None):
            self.calls.append((len(pairs), prefix.length if prefix is not None else 0))
            return shared(pairs, device, prefix)

        def spy_prefix_kv(ids, device):
            self.computed.append(len(ids))
            return prefix_kv(ids, device)

        monkeypatch.setattr(lm._scorer, "shared", spy_shared)
        monkeypatch.setattr(lm._scorer, "prefix_kv", spy_prefix_kv)


@pytest.mark.parametrize("normalize", ["sum", "mean"])
def test_prefix_cached_equals_shared_and_naive(causal_lm, normalize, monkeypatch):
    naive, h_naive = causal_lm.score(PROMPTS, CANDIDATES, method="naive", normalize=normalize, return_hidden=True)
    shared = causal_lm.score(PROMPTS, CANDIDATES, normalize=normalize)
    spy = SharedSpy(causal_lm, monkeypatch)
    cached, h_cached = causal_lm.score(PROMPTS, CANDIDATES, normalize=normalize, prefix=PREFIX, return_hidden=True)
    assert_same(cached, shared)
    assert_same(cached, naive)
    torch.testing.assert_close(h_cached, h_naive, atol=1e-5, rtol=0)
    # Prompts of different lengths went in one micro-batch, all reading the prefix.
    assert [rows for rows, _ in spy.calls] == [len(PROMPTS)] and all(length > 10 for _, length in spy.calls)


def test_repeated_calls_reuse_the_prefix_and_leave_it_unchanged(causal_lm, monkeypatch):
    causal_lm.clear_prefix_cache()
    spy = SharedSpy(causal_lm, monkeypatch)
    first = causal_lm.score(PROMPTS[:2], CANDIDATES[:2], prefix=PREFIX)
    second = causal_lm.score(PROMPTS[2:], CANDIDATES[2:], prefix=PREFIX)
    again = causal_lm.score(PROMPTS[:2], CANDIDATES[:2], prefix=PREFIX)
    assert len(spy.computed) == 1  # computed once, read by three calls
    assert_same(first, again, atol=0)
    assert_same(first + second, causal_lm.score(PROMPTS, CANDIDATES, method="naive"))
    # The cached keys/values are still one row of the prefix: the calls expanded them, never grew them.
    (kv,) = causal_lm._prefixes.values()
    assert all(layer.keys.shape[0] == 1 and layer.keys.shape[-2] == kv.length for layer in kv.cache.layers)


def test_small_token_budget_splits_rows_that_all_read_the_prefix(causal_lm, monkeypatch):
    spy = SharedSpy(causal_lm, monkeypatch)
    cached = causal_lm.score(PROMPTS, CANDIDATES, prefix=PREFIX, token_budget=16)
    assert len(spy.calls) == len(PROMPTS) and all(length > 0 for _, length in spy.calls)
    assert_same(cached, causal_lm.score(PROMPTS, CANDIDATES, method="naive"))


def test_least_recently_used_prefix_is_dropped(causal_lm, monkeypatch):
    causal_lm.clear_prefix_cache()
    spy = SharedSpy(causal_lm, monkeypatch)
    # Prefixes of 1, 2, ... words of the same prompts: each has its own keys and values.
    words = PREFIX.split()
    prefixes = [" ".join(words[: n + 1]) for n in range(PREFIX_CACHE_SIZE + 1)]
    naive = causal_lm.score(PROMPTS, CANDIDATES, method="naive")
    for prefix in prefixes:
        assert_same(causal_lm.score(PROMPTS, CANDIDATES, prefix=prefix), naive)
    assert len(spy.computed) == PREFIX_CACHE_SIZE + 1 and len(causal_lm._prefixes) == PREFIX_CACHE_SIZE
    causal_lm.score(PROMPTS, CANDIDATES, prefix=prefixes[-1])  # a hit
    causal_lm.score(PROMPTS, CANDIDATES, prefix=prefixes[0])  # dropped: computed again
    assert spy.computed == [*range(1, PREFIX_CACHE_SIZE + 2), 1]  # tokens of each prefix computed


def test_prompts_whose_tokens_do_not_start_with_the_prefix_are_scored_without_it(causal_lm, monkeypatch):
    # Word-level tokens: "go to the re" ends in the unknown word "re", which "red" does not start with,
    # as a BPE merge across the boundary would; a prompt equal to the prefix has no token of its own.
    prefix = "go to the re"
    prompts = ["go to the re ball", "go to the red ball", "go to the re", "go to the re key Action 2: "]
    candidates = [["go forward", "turn left"], ["pick up", "drop"], ["ball", "key"], ["toggle"]]
    spy = SharedSpy(causal_lm, monkeypatch)
    cached = causal_lm.score(prompts, candidates, prefix=prefix)
    assert_same(cached, causal_lm.score(prompts, candidates, method="naive"))
    rows_by_prefix = {length: sum(r for r, n in spy.calls if n == length) for _, length in spy.calls}
    assert rows_by_prefix == {4: 2, 0: 2}  # the 4 words cached for two prompts, the others whole


def test_weight_updates_invalidate_cached_prefixes():
    lm = tiny_random_lm("llama", seed=2)
    before = lm.score(PROMPTS, CANDIDATES, prefix=PREFIX)
    # An optimizer step changes the weights in place (it bumps their version counters).
    optimizer = torch.optim.Adam(lm.parameters(), lr=0.05)
    loss = -sum(s.sum() for s in lm.score(PROMPTS, CANDIDATES, grad=True))
    loss.backward()
    optimizer.step()
    after = lm.score(PROMPTS, CANDIDATES, prefix=PREFIX)
    assert not torch.allclose(before[0], after[0], atol=1e-3)
    assert_same(after, lm.score(PROMPTS, CANDIDATES, method="naive"))
    # Changes through .data are invisible to autograd's version counter: clear_prefix_cache is the remedy.
    with torch.no_grad():
        for p in lm.parameters():
            p.data.mul_(1.1)
    lm.clear_prefix_cache()
    assert_same(lm.score(PROMPTS, CANDIDATES, prefix=PREFIX), lm.score(PROMPTS, CANDIDATES, method="naive"))


def test_prefix_errors_are_clear(causal_lm):
    with pytest.raises(ValueError, match=r"prompt 1 .* does not start with the prefix"):
        causal_lm.score([PROMPTS[0], "you see a wall"], CANDIDATES[:2], prefix=PREFIX)
    with pytest.raises(ValueError, match="non-empty str"):
        causal_lm.score(PROMPTS, CANDIDATES, prefix="")
    with pytest.raises(ValueError, match="method='shared' only"):
        causal_lm.score(PROMPTS, CANDIDATES, method="naive", prefix=PREFIX)
    with pytest.raises(ValueError, match="without gradients"):
        causal_lm.score(PROMPTS, CANDIDATES, grad=True, prefix=PREFIX)


def test_encoder_decoder_and_sliding_window_reject_a_prefix():
    lm = tiny_random_lm("t5")
    with pytest.raises(ValueError, match="needs a causal model"):
        lm.score(PROMPTS, CANDIDATES, prefix=PREFIX)
    tokenizer = build_word_tokenizer()
    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, use_sliding_window=True, sliding_window=4, max_window_layers=0,
    )
    sliding = LanguageModel(Qwen2ForCausalLM(config), tokenizer, name="tiny-sliding-qwen2")
    with pytest.raises(ValueError, match="sliding window"):
        sliding.score(PROMPTS, CANDIDATES, prefix=PREFIX)


@pytest.mark.integration
def test_smollm2_reads_the_cached_yes_no_preamble(monkeypatch):
    # SmolLM2's byte-level BPE keeps the preamble's closing newline a token of its own: every state
    # prompt's ids start with the preamble's, so the closed-form suggester computes it once.
    from llmrl.intrinsic.prompts import yes_no_preamble, yes_no_question, yes_no_state_prompt
    from llmrl.lm import load_lm

    lm = load_lm("smollm2-135m")
    states = ["You see grass, and tree. You are targeting tree.", "\nYou see water.\nYou feel thirsty."]
    prompts = [yes_no_state_prompt(state) for state in states]
    questions = [yes_no_question(goal) + answer for goal in ("chop tree", "drink water") for answer in (" yes", " no")]
    spy = SharedSpy(lm, monkeypatch)
    cached = lm.score(prompts, [questions] * 2, prefix=yes_no_preamble())
    assert spy.computed and all(length == spy.computed[0] > 100 for _, length in spy.calls)
    assert_same(cached, lm.score(prompts, [questions] * 2), atol=1e-4)
