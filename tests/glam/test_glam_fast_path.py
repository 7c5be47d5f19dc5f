"""GLAM's fast path (bf16 body, reused prompt prefixes, the frozen-trunk cache) on a tiny random Llama and real
GLAM prompts."""

import pytest
import torch

import llmrl.lm.precision as precision
from llmrl.agents.llm_policy import LLMPolicy
from llmrl.train.glam import GlamConfig, build_envs, build_optimizer
from llmrl.train.lm_policies import build_policy


def _episode_prompts(cfg, policy, steps=6):
    """Prompts of `steps` rollout steps of cfg.num_envs envs (actions: turn left, then go forward)."""
    envs = build_envs(cfg, policy)
    prompts = []
    for t in range(steps):
        prompts += list(envs.obs)
        envs.step([0 if t % 2 else 2] * envs.num_envs)
    envs.close()
    return prompts


def _cfg(**kwargs):
    return GlamConfig(seed=0, model="tiny-llama", env_id="BabyAIText-GoTo-v0", room_size=5, num_dists=1, history=2,
                      num_envs=2, num_steps=6, value_inner=32, **kwargs)


@pytest.mark.parametrize("settings", [
    {"lora": False, "reuse_prefix": True},
    {"lora": True, "reuse_prefix": True},
    # LoRA on the top layer only: the update starts from the trunk states the rollout kept.
    {"lora": True, "lora_layers": 1, "trunk_cache": True, "reuse_prefix": True},
    {"lora": True, "lora_layers": 1, "trunk_cache": True},
], ids=["full", "lora", "trunk-and-prefix", "trunk"])
def test_update_log_probs_and_values_equal_a_plain_recomputation(settings):
    fast = build_policy(_cfg(tiny_layers=3, **settings))
    plain = build_policy(_cfg(tiny_layers=3, lora=settings["lora"], lora_layers=settings.get("lora_layers")))
    plain.load_state_dict(fast.state_dict())
    prompts = _episode_prompts(_cfg(), fast)
    actions = torch.arange(len(prompts)) % 6
    # Rollout-style calls (no grad, one step at a time) fill the prompt store, as in a rollout.
    for i in range(0, len(prompts), 2):
        fast.act(prompts[i:i + 2])
    assert len(fast.lm._prompt_kv) > 0 or not fast.reuse_prefix
    assert not fast.lm.trunk_cache or len(fast.lm._trunk) == len(set(prompts))
    got = fast.evaluate(prompts, actions)
    want = plain.evaluate(prompts, actions)
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, atol=1e-5, rtol=0)
    (got[0].sum() + got[2].sum()).backward()
    (want[0].sum() + want[2].sum()).backward()
    for (name, p), q in zip(fast.named_parameters(), plain.parameters(), strict=True):
        if p.requires_grad:
            torch.testing.assert_close(p.grad, q.grad, atol=1e-5, rtol=1e-4, msg=name)


def test_bf16_rollout_and_update_agree_so_the_first_ppo_ratio_is_one():
    policy = build_policy(_cfg(lora=True, reuse_prefix=True, precision="bf16"))
    assert policy.lm.precision == "bf16"
    prompts = _episode_prompts(_cfg(), policy)
    sampled, old_logp, old_values = [], [], []
    generator = torch.Generator().manual_seed(0)
    for i in range(0, len(prompts), 2):
        a, lp, v = policy.act(prompts[i:i + 2], generator)
        sampled.append(a), old_logp.append(lp), old_values.append(v)
    new_logp, _, new_values = policy.evaluate(prompts, torch.cat(sampled))
    # Same weights, same bf16 body: only the batch composition differs (rounding).
    torch.testing.assert_close(new_logp.detach(), torch.cat(old_logp), atol=2e-2, rtol=0)
    torch.testing.assert_close(new_values.detach(), torch.cat(old_values), atol=2e-2, rtol=0)


def test_glams_fused_adam_steps_reach_the_lm_caches():
    # Fused Adam leaves the parameters' version counters alone: build_optimizer has the LM follow it.
    policy = build_policy(_cfg(lora=True, reuse_prefix=True, precision="bf16"))
    prompts = _episode_prompts(_cfg(), policy, steps=2)
    optimizer = build_optimizer(_cfg(lr=0.05), policy)
    assert optimizer.defaults["fused"]
    policy.act(prompts)  # fills the bf16 copies and the prompt store
    policy.evaluate(prompts, torch.zeros(len(prompts), dtype=torch.long))[0].sum().backward()
    optimizer.step()
    after = policy.distribution(prompts)[0]
    policy.lm.clear_prefix_cache()
    policy.lm.precision = "bf16"  # drops the bf16 copies too
    torch.testing.assert_close(after, policy.distribution(prompts)[0], atol=1e-5, rtol=0)


def test_config_precision_auto_follows_the_detector(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
    assert build_policy(_cfg(precision="auto")).lm.precision == "fp32"
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)
    assert build_policy(_cfg(precision="auto")).lm.precision == "bf16"
    assert build_policy(_cfg()).lm.precision == "fp32"  # the default: the paper's fp32


def test_saved_policy_keeps_precision_and_prefix_reuse(tmp_path):
    policy = build_policy(_cfg(precision="bf16", reuse_prefix=True))
    loaded = LLMPolicy.from_pretrained(policy.save_pretrained(tmp_path / "p"))
    assert loaded.lm.precision == "bf16" and loaded.reuse_prefix


def test_lora_layers_and_trunk_cache_are_checked_when_the_lm_is_built():
    with pytest.raises(ValueError, match="set lora: true"):
        build_policy(GlamConfig(model="tiny-llama", lora_layers=1))
    with pytest.raises(ValueError, match="frozen lower layers"):
        build_policy(_cfg(lora=True, trunk_cache=True))  # LoRA on every layer: nothing frozen below
