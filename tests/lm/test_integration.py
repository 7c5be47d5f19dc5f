"""The embedded models, offline: SmolLM2 scores sensibly, shared == naive on a GLAM prompt, MiniLM embeds."""

import os
import random

import pytest
import torch

from llmrl.bench.scoring import ACTIONS, glam_prompt

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def smollm2():
    from llmrl.lm import load_lm

    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    return load_lm("smollm2-135m")


def test_plausible_continuation_outscores_absurd_one(smollm2):
    (scores,) = smollm2.score(["The capital of France is"], [[" Paris", " banana"]])
    assert scores[0] > scores[1] + 5


def test_shared_equals_naive_on_a_glam_prompt(smollm2):
    prompts = [glam_prompt(random.Random(seed), 3) for seed in range(2)]
    candidates = [ACTIONS, ACTIONS[2:4]]  # ragged: 6 and 2 candidates
    naive, h_naive = smollm2.score(prompts, candidates, method="naive", return_hidden=True)
    shared, h_shared = smollm2.score(prompts, candidates, method="shared", return_hidden=True)
    for a, b in zip(naive, shared, strict=True):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=0)
    torch.testing.assert_close(h_naive, h_shared, atol=1e-4, rtol=1e-4)


def test_minilm_paraphrase_is_closer_than_unrelated():
    from llmrl.lm import load_embedder

    vectors = load_embedder("minilm").embed(
        ["You chop down a tree and collect wood", "The agent cuts a tree to get wood", "Stock prices fell sharply"]
    )
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3
