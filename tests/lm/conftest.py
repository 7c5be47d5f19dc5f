"""Fixtures of the language-model tests: tiny random models (offline, a few hundred kB)."""

import pytest

from llmrl.lm import tiny_random_lm


@pytest.fixture(scope="module", params=["llama", "gpt2", "t5"])
def tiny_lm(request):
    """One tiny random model per family."""
    return tiny_random_lm(request.param, seed=0)
