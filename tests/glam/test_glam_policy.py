"""LLMPolicy: a proper categorical policy, value head shape, persistence, LoRA's trainable set."""

import pytest
import torch

from llmrl.agents.llm_policy import LLMPolicy
from llmrl.envs.babyai_text import ACTIONS
from llmrl.lm import tiny_random_lm
from llmrl.train.glam import GlamConfig
from llmrl.train.lm_policies import build_policy

PROMPTS = [
    "Possible action of the agent: turn left, turn right \n Goal of the agent: go to the red ball \n "
    "Observation 0: You see a red ball 1 step left, \n Action 0: ",
    "Possible action of the agent: go forward \n Goal of the agent: go to the box \n Observation 0: \n Action 0: ",
]


def small_policy(**kwargs) -> LLMPolicy:
    return LLMPolicy(tiny_random_lm("llama", seed=1), value_inner=16, **kwargs)


def test_policy_is_a_distribution_over_the_actions_with_one_value_per_prompt():
    policy = small_policy()
    logits, values = policy.distribution(PROMPTS)
    assert logits.shape == (2, len(ACTIONS)) and values.shape == (2,)
    assert torch.allclose(torch.softmax(logits, -1).sum(-1), torch.ones(2))
    actions, logp, act_values = policy.act(PROMPTS, torch.Generator().manual_seed(0))
    new_logp, entropy, new_values = policy.evaluate(PROMPTS, actions)
    assert torch.allclose(new_logp.detach(), logp, atol=1e-5) and torch.allclose(new_values.detach(), act_values)
    assert new_logp.requires_grad and (entropy > 0).all()


def test_mean_normalization_divides_scores_by_token_count():
    policy = small_policy(normalize="mean")
    summed = small_policy().distribution(PROMPTS[:1])[0]
    lengths = torch.tensor([len(policy.lm.tokenizer(a)["input_ids"]) for a in ACTIONS], dtype=torch.float32)
    assert torch.allclose(policy.distribution(PROMPTS[:1])[0], summed / lengths, atol=1e-5)


def test_save_and_load_round_trip_keeps_weights_head_and_settings(tmp_path):
    policy = small_policy(normalize="mean")
    with torch.no_grad():
        policy.value_head.net[0].bias.add_(1.0)
    policy.save_pretrained(tmp_path / "policy")
    loaded = LLMPolicy.from_pretrained(tmp_path / "policy")
    assert loaded.normalize == "mean" and loaded.action_names == ACTIONS
    for (name, a), b in zip(policy.state_dict().items(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert torch.allclose(loaded.distribution(PROMPTS)[0], policy.distribution(PROMPTS)[0], atol=1e-5)


def test_lora_trains_only_adapters_and_value_head(tmp_path):
    policy = build_policy(GlamConfig(model="tiny-llama", lora=True, lora_r=4, value_inner=16))
    trainable = {name for name, p in policy.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or n.startswith("value_head.") for n in trainable)
    assert any(n.startswith("value_head.") for n in trainable) and any("lora_" in n for n in trainable)
    assert set(policy.checkpoint_state()) == trainable
    policy.save_pretrained(tmp_path / "lora")
    loaded = LLMPolicy.from_pretrained(tmp_path / "lora")
    assert {n for n, p in loaded.named_parameters() if p.requires_grad} == trainable
    assert torch.allclose(loaded.distribution(PROMPTS)[0], policy.distribution(PROMPTS)[0], atol=1e-5)


def test_action_names_are_checked_by_both_text_policies():
    from llmrl.agents.action_names import check_action_names

    assert check_action_names(["turn left", "turn right"]) == ("turn left", "turn right")
    for bad in (["only one"], ["ok", ""], ["ok", 3]):
        with pytest.raises(ValueError, match="at least two non-empty strings"):
            check_action_names(bad)
