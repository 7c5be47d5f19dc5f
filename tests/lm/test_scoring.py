"""Shared-prefix scoring equals naive scoring, in values and gradients; errors are clear."""

import random

import pytest
import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

from llmrl.lm import LanguageModel, tiny_random_lm
from llmrl.lm.tiny import BASE_WORDS, build_word_tokenizer

ACTIONS = ["turn left", "turn right", "go forward", "pick up", "drop", "toggle"]


def random_batch(seed: int, num_prompts: int = 5):
    """Ragged prompts (3..40 words, some with GLAM's trailing space) and ragged candidate sets."""
    rng = random.Random(seed)
    prompts, candidates = [], []
    for _ in range(num_prompts):
        words = rng.choices(BASE_WORDS, k=rng.randint(3, 40))
        prompts.append(" ".join(words) + rng.choice(["", " Action 2: ", " :"]))
        pool = ACTIONS + [" ".join(rng.choices(BASE_WORDS, k=rng.randint(1, 5))) for _ in range(4)]
        candidates.append(rng.sample(pool, rng.randint(1, 7)))
    return prompts, candidates


def assert_close_lists(a, b, tol=1e-4):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.shape == y.shape
        torch.testing.assert_close(x, y, atol=tol, rtol=0)


@pytest.mark.parametrize("normalize", ["sum", "mean"])
def test_shared_equals_naive_values(tiny_lm, normalize):
    prompts, candidates = random_batch(1)
    naive, h_naive = tiny_lm.score(prompts, candidates, method="naive", normalize=normalize, return_hidden=True)
    shared, h_shared = tiny_lm.score(prompts, candidates, method="shared", normalize=normalize, return_hidden=True)
    assert_close_lists(naive, shared)
    torch.testing.assert_close(h_naive, h_shared, atol=1e-4, rtol=0)
    assert h_shared.shape == (len(prompts), tiny_lm.hidden_size)
    assert [len(s) for s in shared] == [len(c) for c in candidates]
    assert all(bool((s < 0).all()) for s in shared)  # log-probabilities of multi-token/vocab outcomes


def test_shared_equals_naive_gradients(tiny_lm):
    prompts, candidates = random_batch(2, num_prompts=4)
    probe = torch.Generator().manual_seed(0)
    weights = torch.randn(tiny_lm.hidden_size, generator=probe)

    def grads(method):
        tiny_lm.model.zero_grad()
        scores, hidden = tiny_lm.score(prompts, candidates, method=method, grad=True, return_hidden=True)
        # A PPO-like scalar: log-softmax policy terms plus a value read from the hidden state.
        loss = sum(torch.log_softmax(s, 0)[0] + s.sum() for s in scores) + (hidden @ weights).tanh().sum()
        loss.backward()
        return {n: p.grad.clone() for n, p in tiny_lm.model.named_parameters() if p.grad is not None}

    naive, shared = grads("naive"), grads("shared")
    assert naive.keys() == shared.keys() and len(naive) > 5
    for name in naive:
        torch.testing.assert_close(naive[name], shared[name], atol=1e-4, rtol=1e-4, msg=name)


def test_micro_batches_do_not_change_scores(tiny_lm):
    prompts, candidates = random_batch(3, num_prompts=6)
    whole = tiny_lm.score(prompts, candidates)
    for method in ("shared", "naive"):
        assert_close_lists(whole, tiny_lm.score(prompts, candidates, method=method, token_budget=16))


def test_no_grad_by_default_and_graph_with_grad(tiny_lm):
    prompts, candidates = random_batch(4, num_prompts=2)
    assert not tiny_lm.score(prompts, candidates)[0].requires_grad
    assert tiny_lm.score(prompts, candidates, grad=True)[0].requires_grad


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
@pytest.mark.parametrize("family", ["llama", "gpt2", "qwen2"])
def test_block_mask_honoured_by_attention_implementations(family, attn):
    if family == "qwen2":
        tokenizer = build_word_tokenizer()
        config = Qwen2Config(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
        )
        config._attn_implementation = attn
        torch.manual_seed(0)
        lm = LanguageModel(Qwen2ForCausalLM(config), tokenizer, name="tiny-qwen2")
    else:
        lm = tiny_random_lm(family, attn_implementation=attn, hidden_size=32)
    assert lm.base_model.config._attn_implementation == attn
    prompts = ["go to the red ball Action 2: ", "you see a wall"]
    candidates = [["go forward", "pick up the red key", "turn left now"], ["turn right", "drop the box"]]
    assert_close_lists(lm.score(prompts, candidates, method="naive"), lm.score(prompts, candidates))


def test_score_is_log_likelihood_of_tokens():
    lm = tiny_random_lm("gpt2")
    prompt, candidate = "go to the red ball", "pick up"
    ids = lm.tokenizer(prompt + " " + candidate)["input_ids"]
    with torch.no_grad():
        logp = torch.log_softmax(lm.model(torch.tensor([ids])).logits[0].float(), -1)
    expected = logp[-3, ids[-2]] + logp[-2, ids[-1]]
    (score,) = lm.score([prompt], [[candidate]])
    torch.testing.assert_close(score[0], expected, atol=1e-5, rtol=0)
    (mean,) = lm.score([prompt], [[candidate]], normalize="mean")
    torch.testing.assert_close(mean[0], expected / 2, atol=1e-5, rtol=0)


def test_errors_are_clear():
    lm = tiny_random_lm("llama", max_positions=16)
    with pytest.raises(ValueError, match="empty candidate list"):
        lm.score(["go"], [[]])
    with pytest.raises(ValueError, match="has no tokens"):
        lm.score(["go"], [["turn left", ""]])
    with pytest.raises(ValueError, match="2 prompts but 1 candidate"):
        lm.score(["go", "drop"], [["x"]])
    with pytest.raises(ValueError, match="method must be"):
        lm.score(["go"], [["x"]], method="fast")
    with pytest.raises(ValueError, match="normalize must be"):
        lm.score(["go"], [["x"]], normalize="max")
    with pytest.raises(TypeError, match="not a str"):
        lm.score(["go"], ["turn left"])
    long_prompt = " ".join(["red"] * 20)
    with pytest.raises(ValueError, match="exceeds the model's context of 16 tokens"):
        lm.score([long_prompt], [["go forward"]])
    (truncated,) = lm.score([long_prompt], [["go forward"]], truncate="left")
    (short,) = lm.score([" ".join(["red"] * 14)], [["go forward"]])
    torch.testing.assert_close(truncated, short)


def test_candidate_tree_feeds_shared_prefixes_once():
    from llmrl.lm.scoring import CandidateTree

    # Token ids stand for words: 1 "turn", 2 "left", 3 "right", 4 "pick", 5 "up", 6 "drop".
    tree = CandidateTree([[1, 2], [1, 3], [4, 5, 6], [4, 5], [6], [1, 2]])
    # Last tokens are never fed: "turn" once for both turns, "pick" and "pick up" once for the pick pair.
    assert tree.tokens == [1, 4, 5]
    assert tree.parents == [-1, -1, 1] and tree.depths == [0, 0, 1]
    assert tree.paths == [[0], [0], [1, 2], [1], [], [0]]
    assert tree.ancestry().tolist() == [[True, False, False], [False, True, False], [False, True, True]]


def test_shared_equals_naive_with_shared_prefixes_and_repeats(tiny_lm):
    prompts = ["go to the red ball Action 2: ", "you see a wall", "pick"]
    candidates = [
        ["turn left", "turn right", "turn left", "pick up the red key", "pick up the red ball", "pick"],
        ["go", "go forward", "go forward now", "drop"],
        ["up", "up"],
    ]
    naive = tiny_lm.score(prompts, candidates, method="naive")
    shared = tiny_lm.score(prompts, candidates)
    assert_close_lists(naive, shared)
    torch.testing.assert_close(shared[0][0], shared[0][2])  # a repeated candidate gets the same score


def test_micro_batches_cap_padding():
    from llmrl.lm.scoring import micro_batches

    # Within the token budget, but 150 vs 250 would pad 40% of the short row: it gets its own group.
    assert micro_batches([250, 150, 240], token_budget=4096) == [[0, 2], [1]]
    assert micro_batches([250, 150, 240], token_budget=4096, max_padding=0.5) == [[0, 2, 1]]
    assert micro_batches([100, 100, 100], token_budget=200) == [[0, 1], [2]]
