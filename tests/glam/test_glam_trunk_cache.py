"""GLAM with LoRA on the top layers and the frozen-trunk cache, on a tiny random Llama and real GLAM prompts."""

import pytest
import torch

from llmrl.train.glam import GlamConfig, build_envs, build_policy


def _cfg(**kwargs):
    return GlamConfig(seed=0, model="tiny-llama", tiny_layers=3, env_id="BabyAIText-GoTo-v0", room_size=5,
                      num_dists=1, history=2, num_envs=2, num_steps=6, value_inner=32, lora=True, **kwargs)


def _rollout_prompts(cfg, policy, steps=6):
    envs = build_envs(cfg, policy)
    prompts = []
    for t in range(steps):
        prompts += list(envs.obs)
        envs.step([0 if t % 2 else 2] * envs.num_envs)
    envs.close()
    return prompts


@pytest.mark.parametrize("reuse_prefix", [False, True])
def test_update_from_the_trunk_equals_a_plain_recomputation(reuse_prefix):
    fast = build_policy(_cfg(lora_layers=1, trunk_cache=True, reuse_prefix=reuse_prefix))
    plain = build_policy(_cfg(lora_layers=1))
    plain.load_state_dict(fast.state_dict())
    assert fast.lm.trunk_cache and not plain.lm.trunk_cache
    prompts = _rollout_prompts(_cfg(), fast)
    for i in range(0, len(prompts), 2):  # a rollout: two envs per step, no grad
        fast.act(prompts[i:i + 2])
    assert len(fast.lm._trunk) == len(set(prompts))
    actions = torch.arange(len(prompts)) % 6
    got, want = fast.evaluate(prompts, actions), plain.evaluate(prompts, actions)
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, atol=1e-5, rtol=0)
    (got[0].sum() + got[2].sum()).backward()
    (want[0].sum() + want[2].sum()).backward()
    for (name, p), q in zip(fast.named_parameters(), plain.parameters(), strict=True):
        if p.requires_grad:
            torch.testing.assert_close(p.grad, q.grad, atol=1e-5, rtol=1e-4, msg=name)


def test_lora_layers_and_trunk_cache_are_checked_when_the_lm_is_built():
    with pytest.raises(ValueError, match="set lora: true"):
        build_policy(GlamConfig(model="tiny-llama", lora_layers=1))
    with pytest.raises(ValueError, match="frozen lower layers"):
        build_policy(_cfg(trunk_cache=True))  # LoRA on every layer: nothing frozen below
