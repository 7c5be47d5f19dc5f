"""load_lm: saved models round-trip (with LoRA adapters), unknown names and bad settings fail clearly."""

import pytest
import torch

from llmrl.lm import LanguageModel, apply_lora, load_lm, tiny_random_lm

PROMPTS = ["go to the red ball Action 2: ", "you see a blue key"]
CANDIDATES = [["go forward", "pick up the red key"], ["turn left", "drop"]]


@pytest.mark.parametrize("family", ["llama", "gpt2", "t5"])
def test_save_load_round_trip(tmp_path, family):
    lm = tiny_random_lm(family, seed=3)
    lm.save_pretrained(tmp_path / "m")
    again = load_lm(str(tmp_path / "m"))
    assert again.name == f"tiny-random-{family}"
    assert again.is_encoder_decoder == (family == "t5")
    for a, b in zip(lm.score(PROMPTS, CANDIDATES), again.score(PROMPTS, CANDIDATES), strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("family", ["llama", "gpt2", "t5"])
def test_lora_adapters_train_and_round_trip(tmp_path, family):
    tiny_random_lm(family, seed=1).save_pretrained(tmp_path / "base")
    lm = load_lm(str(tmp_path / "base"), lora={"r": 4})
    trainable = [n for n, p in lm.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    # Train the adapters a little so that they differ from their zero initialisation.
    optimizer = torch.optim.SGD([p for p in lm.parameters() if p.requires_grad], lr=0.5)
    lm.train()
    for _ in range(3):
        optimizer.zero_grad()
        (-lm.score(PROMPTS, CANDIDATES, grad=True)[0][0]).backward()
        optimizer.step()
    lm.eval()
    lm.save_pretrained(tmp_path / "tuned")
    again = load_lm(str(tmp_path / "tuned"))
    assert again.has_adapters
    base = load_lm(str(tmp_path / "base"))
    tuned_scores, again_scores = lm.score(PROMPTS, CANDIDATES), again.score(PROMPTS, CANDIDATES)
    for a, b in zip(tuned_scores, again_scores, strict=True):
        torch.testing.assert_close(a, b)
    assert not torch.allclose(tuned_scores[0], base.score(PROMPTS, CANDIDATES)[0])
    with pytest.raises(ValueError, match="already holds LoRA adapters"):
        load_lm(str(tmp_path / "tuned"), lora={"r": 4})


def test_unknown_name_lists_what_is_accepted():
    with pytest.raises(ValueError, match="smollm2-135m") as error:
        load_lm("no-such-model-anywhere")
    assert "Hugging Face" in str(error.value)


def test_bad_settings_are_rejected(tmp_path):
    tiny_random_lm("gpt2").save_pretrained(tmp_path / "m")
    with pytest.raises(ValueError, match="dtype must be"):
        load_lm(str(tmp_path / "m"), dtype="float8")
    with pytest.raises(ValueError, match="bad LoRA settings"):
        load_lm(str(tmp_path / "m"), lora={"rank": 4})
    with pytest.raises(TypeError, match="lora must be"):
        load_lm(str(tmp_path / "m"), lora=4)
    with pytest.raises(ValueError, match="unknown tiny model family"):
        tiny_random_lm("bert")


def test_dtype_is_applied(tmp_path):
    tiny_random_lm("llama").save_pretrained(tmp_path / "m")
    lm = load_lm(str(tmp_path / "m"), dtype="bfloat16")
    assert next(lm.parameters()).dtype == torch.bfloat16
    (scores,) = lm.score(PROMPTS[:1], CANDIDATES[:1])
    assert scores.dtype == torch.float32 and torch.isfinite(scores).all()


def test_tiny_tokenizer_is_offline_and_extendable():
    lm = tiny_random_lm("llama", extra_words=["dax", "Xolo"])
    ids = lm.tokenizer("You see a DAX xolo zzz")["input_ids"]
    tokens = lm.tokenizer.convert_ids_to_tokens(ids)
    assert tokens == ["you", "see", "a", "dax", "xolo", "[UNK]"]


def test_apply_lora_wraps_a_language_model_or_a_bare_model():
    lm = tiny_random_lm("llama", seed=0)
    adapted = apply_lora(lm, {"r": 2})
    assert isinstance(adapted, LanguageModel) and adapted.has_adapters and adapted.name == lm.name
    assert {n for n, p in adapted.model.named_parameters() if p.requires_grad} and all(
        "lora_" in n for n, p in adapted.model.named_parameters() if p.requires_grad
    )
    with pytest.raises(ValueError, match="already has LoRA"):
        apply_lora(adapted, {"r": 2})
    assert hasattr(apply_lora(tiny_random_lm("gpt2").model, {"r": 2}), "peft_config")
    with pytest.raises(TypeError, match="LanguageModel or a transformers model"):
        apply_lora("tiny", {"r": 2})
