"""The frozen-trunk cache (LoRA on the top layers; updates start from the states the rollout kept)
against a plain recomputation, on tiny random models.

Tolerances: skipping the frozen layers is exact up to float rounding (fp32: scores and values
1e-5, gradients 1e-5 + 1e-4 relative, as for the other reuse paths in test_fast_path.py).
"""

import pytest
import torch

from llmrl.lm import apply_lora, tiny_random_lm
from llmrl.lm.trunk import TrunkCache, trunk_depth

GOAL = ("possible action of the agent : turn left , turn right , go forward . "
        "goal of the agent : go to the red ball . ")
SEEN = ["you see a wall", "you see a key", "you see a red box"]
# Three steps of one episode (each prompt extends the previous one) and a prompt of another episode.
STEPS = [GOAL + " ".join(f"observation {t} : {SEEN[t]} . action {t} :" for t in range(n)) for n in (1, 2, 3)]
STEPS.append("goal of the agent : go to the box . observation 0 : you see a box")
CANDIDATES = [["turn left", "turn right", "go forward"]] * len(STEPS)


def _top_lora_lm(top: int = 2, layers: int = 4):
    lm = tiny_random_lm("llama", seed=5, num_layers=layers)
    return apply_lora(lm, {"r": 4, "lora_alpha": 8, "init_lora_weights": False, "top_layers": top})


def _scores_hidden_grads(lm, **kwargs):
    lm.model.zero_grad()
    scores, hidden = lm.score(STEPS, CANDIDATES, grad=True, return_hidden=True, **kwargs)
    (sum((s * torch.arange(1.0, 4.0)).sum() for s in scores) + hidden.square().sum()).backward()
    grads = [p.grad.clone() for p in lm.parameters() if p.requires_grad]
    return [s.detach() for s in scores], hidden.detach(), grads


def _close(a, b, atol, rtol=0.0):
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x, y, atol=atol, rtol=rtol)


def test_top_layers_puts_adapters_on_the_top_layers_only():
    lm = _top_lora_lm(top=2, layers=5)
    assert trunk_depth(lm._scorer.backbone) == 3
    adapted = {name.split(".layers.")[1].split(".")[0] for name, p in lm.model.named_parameters() if p.requires_grad}
    assert adapted == {"3", "4"}
    with pytest.raises(ValueError, match="top_layers"):
        apply_lora(tiny_random_lm("llama", seed=0, num_layers=2), {"top_layers": 3})


@pytest.mark.parametrize("reuse_prefix", [False, True])
def test_update_from_the_trunk_equals_a_plain_recomputation(reuse_prefix):
    lm = _top_lora_lm()
    plain = _scores_hidden_grads(lm)
    lm.trunk_cache = True
    # A rollout (no grad, episode order) keeps every row's trunk states...
    for i in range(len(STEPS)):
        lm.score(STEPS[i : i + 1], CANDIDATES[:1], reuse_prefix=reuse_prefix)
    assert len(lm._trunk) == len(STEPS)
    calls = []
    handle = lm._trunk.layers[0].register_forward_pre_hook(lambda *args: calls.append(1))
    fast = _scores_hidden_grads(lm, reuse_prefix=reuse_prefix)
    handle.remove()
    assert not calls, "the update ran the frozen layers although their states were kept"
    _close(fast[0], plain[0], 1e-5)
    torch.testing.assert_close(fast[1], plain[1], atol=1e-5, rtol=0)
    _close(fast[2], plain[2], 1e-5, 1e-4)
    # ... and the rollout's own scores are the plain ones.
    lm.trunk_cache = False
    lm.trunk_cache = True
    rollout = [lm.score([p], CANDIDATES[:1], reuse_prefix=reuse_prefix)[0] for p in STEPS]
    _close(rollout, plain[0], 1e-5)


def test_rows_not_kept_are_computed_and_the_result_is_the_same():
    lm = _top_lora_lm()
    plain = _scores_hidden_grads(lm)
    lm.trunk_cache = True
    lm.score(STEPS[:1], CANDIDATES[:1])  # only the first prompt kept
    _close(_scores_hidden_grads(lm)[2], plain[2], 1e-5, 1e-4)
    assert len(lm._trunk) == len(STEPS)


def test_changed_frozen_weights_or_unfrozen_layers_invalidate_the_trunk():
    lm = _top_lora_lm()
    lm.trunk_cache = True
    lm.score(STEPS, CANDIDATES)
    assert len(lm._trunk) == len(STEPS)
    with torch.no_grad():
        lm._scorer.backbone.embed_tokens.weight.mul_(1.5)  # an in-place change bumps the version
    plain_after = _scores_hidden_grads(lm)  # the trunk refills from the new weights
    lm.trunk_cache = False
    _close(plain_after[2], _scores_hidden_grads(lm)[2], 1e-5, 1e-4)
    lm.trunk_cache = True
    lm.score(STEPS, CANDIDATES)
    for p in lm.parameters():
        p.requires_grad_(True)  # nothing frozen any more: the cache steps aside
    full = _scores_hidden_grads(lm)
    lm.trunk_cache = False
    _close(full[2], _scores_hidden_grads(lm)[2], 1e-5, 1e-4)


def test_the_cache_keeps_at_most_its_byte_budget():
    lm = _top_lora_lm()
    trunk = TrunkCache(lm._scorer.backbone, max_bytes=1)
    for i in range(3):
        trunk.put([i], [[1]], torch.zeros(2, 4))
    assert len(trunk) == 1 and trunk.get([2], [[1]]) is not None and trunk.get([0], [[1]]) is None


def test_the_trunk_cache_refuses_models_without_frozen_lower_layers():
    with pytest.raises(ValueError, match="frozen lower layers"):
        tiny_random_lm("llama", seed=0, num_layers=2).trunk_cache = True  # full fine-tuning
    with pytest.raises(ValueError, match="frozen lower layers"):
        apply_lora(tiny_random_lm("llama", seed=0), {"r": 2}).trunk_cache = True  # LoRA on every layer
    with pytest.raises(ValueError, match="causal"):
        tiny_random_lm("t5", seed=0).trunk_cache = True


def test_bf16_update_from_the_trunk_is_close_to_the_bf16_recomputation():
    lm = _top_lora_lm()
    lm.precision = "bf16"
    plain = _scores_hidden_grads(lm)
    lm.trunk_cache = True
    lm.score(STEPS, CANDIDATES)
    fast = _scores_hidden_grads(lm)
    _close(fast[0], plain[0], 0.02)
    torch.testing.assert_close(fast[1], plain[1], atol=0.05, rtol=0)
    scale = max(g.abs().max() for g in plain[2])
    _close(fast[2], plain[2], float(0.1 * scale))
