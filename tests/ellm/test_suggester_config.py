"""The suggester's model dtype: validated in the config and passed to the loader."""

import pytest

from llmrl.train.ellm_components import build_suggester
from llmrl.train.ellm_config import SuggesterConfig


def test_dtype_is_validated():
    assert SuggesterConfig(dtype="bfloat16").dtype == "bfloat16"
    with pytest.raises(ValueError, match="dtype must be one of"):
        SuggesterConfig(dtype="bf16")


def test_dtype_reaches_the_local_model(monkeypatch, tmp_path):
    seen = {}

    def fake_load_lm(name, *, device, dtype):
        seen.update(name=name, device=device, dtype=dtype)
        from llmrl.lm import tiny_random_lm

        return tiny_random_lm()

    monkeypatch.setattr("llmrl.lm.load_lm", fake_load_lm)
    build_suggester(SuggesterConfig(dtype="bfloat16", top_k=3, cache_path=str(tmp_path / "goals.sqlite")))
    assert seen == {"name": "smollm2-135m", "device": "cpu", "dtype": "bfloat16"}
