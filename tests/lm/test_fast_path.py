"""The fast scoring path (bf16 body, reused prompt prefixes) against the fp32 reference, on tiny random models.

Tolerances: reusing a prefix's keys and values is exact up to float rounding (1e-5 on
scores and values in fp32, gradients 1e-5 + 1e-4 relative). bf16 keeps 8 bits of mantissa in the body's matrix
products: scores within 0.02 of fp32 on these tiny models, gradients within 10% of the
largest gradient entry.
"""

import pytest
import torch

import llmrl.lm.precision as precision
from llmrl.lm import apply_lora, tiny_random_lm
from llmrl.lm.precision import resolve_precision

HEADER = ("possible action of the agent : turn left , turn right , go forward . "
          "goal of the agent : go to the red ball . ")
PROMPTS = [
    HEADER + "observation 0 : you see a wall . action 0 :",
    HEADER + "observation 0 : you see a wall . action 0 : turn left . observation 1 : you see a key . action 1 :",
    "goal of the agent : go to the box . observation 0 : you see a box",
    HEADER + "observation 0 : you see a red box",
]
CANDIDATES = [["turn left", "turn right", "go forward"]] * len(PROMPTS)


def _close(a, b, atol, rtol=0.0):
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x, y, atol=atol, rtol=rtol)


def _scores_hidden_grads(lm, **kwargs):
    lm.model.zero_grad()
    scores, hidden = lm.score(PROMPTS, CANDIDATES, grad=True, return_hidden=True, **kwargs)
    (sum(s.sum() for s in scores) + hidden.sum()).backward()
    grads = [p.grad.clone() for p in lm.parameters() if p.requires_grad]
    return [s.detach() for s in scores], hidden.detach(), grads


@pytest.fixture(params=["full", "lora"])
def lm(request):
    lm = tiny_random_lm("llama", seed=3)
    return apply_lora(lm, {"r": 4, "lora_alpha": 8, "init_lora_weights": False}) if request.param == "lora" else lm


def test_reused_prefixes_equal_a_plain_recomputation_without_grad(lm):
    plain, h_plain = lm.score(PROMPTS, CANDIDATES, return_hidden=True)
    lm.clear_prefix_cache()
    lm.score(PROMPTS[:1], CANDIDATES[:1], reuse_prefix=True)  # the previous step of an episode
    assert len(lm._prompt_kv) == 1
    reused, h_reused = lm.score(PROMPTS, CANDIDATES, reuse_prefix=True, return_hidden=True)
    _close(reused, plain, 1e-5)
    torch.testing.assert_close(h_reused, h_plain, atol=1e-5, rtol=0)
    # Every prompt was kept; the same prompts again read all but their last token from the store.
    assert len(lm._prompt_kv) == len(PROMPTS)
    _close(lm.score(PROMPTS, CANDIDATES, reuse_prefix=True), plain, 1e-5)


def test_update_with_grouped_prefixes_equals_a_plain_recomputation(lm):
    plain = _scores_hidden_grads(lm)
    grouped = _scores_hidden_grads(lm, reuse_prefix=True)
    _close(grouped[0], plain[0], 1e-5)
    torch.testing.assert_close(grouped[1], plain[1], atol=1e-5, rtol=0)
    _close(grouped[2], plain[2], 1e-5, 1e-4)  # gradients: summed over many terms


def test_prefix_groups_are_found_and_computed_once(lm, monkeypatch):
    calls = []
    backbone = lm._scorer.backbone
    forward = backbone.forward

    def spy(*args, **kwargs):
        calls.append(kwargs["input_ids"].shape)
        return forward(*args, **kwargs)

    monkeypatch.setattr(backbone, "forward", spy)
    lm.score(PROMPTS, CANDIDATES, grad=True, reuse_prefix=True)
    # One forward for the group prefix (the 3 prompts starting with HEADER), then the rows.
    assert calls[0][0] == 1 and calls[0][1] >= len(HEADER.split())


def test_weight_updates_invalidate_reused_prompts():
    lm = tiny_random_lm("llama", seed=4)
    lm.score(PROMPTS, CANDIDATES, reuse_prefix=True)
    optimizer = torch.optim.SGD(lm.parameters(), lr=0.5)
    (-sum(s.sum() for s in lm.score(PROMPTS, CANDIDATES, grad=True))).backward()
    optimizer.step()
    _close(lm.score(PROMPTS, CANDIDATES, reuse_prefix=True), lm.score(PROMPTS, CANDIDATES), 1e-5)


def test_bf16_scores_values_and_gradients_are_close_to_fp32(lm):
    reference = _scores_hidden_grads(lm)
    lm.precision = "bf16"
    assert lm.precision == "bf16"
    fast = _scores_hidden_grads(lm, reuse_prefix=True)
    assert all(s.dtype == torch.float32 for s in fast[0]) and fast[1].dtype == torch.float32
    _close(fast[0], reference[0], 0.02)
    torch.testing.assert_close(fast[1], reference[1], atol=0.05, rtol=0.05)
    for got, want in zip(fast[2], reference[2], strict=True):
        assert (got - want).abs().max() <= 0.1 * want.abs().max() + 1e-6
    # Without grad too, with the rollout's prefix store.
    lm.score(PROMPTS[:1], CANDIDATES[:1], reuse_prefix=True)
    _close(lm.score(PROMPTS, CANDIDATES, reuse_prefix=True), reference[0], 0.02)
    # The fp32 weights are untouched: back to fp32, the reference again.
    lm.precision = "fp32"
    _close(_scores_hidden_grads(lm)[0], reference[0], 1e-6)


def test_frozen_weights_are_cast_to_bf16_once(lm):
    lm.precision = "bf16"
    lm.score(PROMPTS, CANDIDATES, grad=True)
    copies = {key: tensor for key, (_, tensor) in lm._bf16.items()}
    frozen = [m for m in lm._linears() if not m.weight.requires_grad]
    assert all(id(m) in copies for m in frozen)
    lm.score(PROMPTS, CANDIDATES, grad=True)
    lm.score(PROMPTS, CANDIDATES)
    assert all(lm._bf16[id(m)][1] is copies[id(m)] for m in frozen)
    # The module's own parameters are back in place, in fp32.
    assert all(p.dtype == torch.float32 for p in lm.parameters())


def test_auto_precision_falls_back_to_fp32_without_bf16_instructions(monkeypatch, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    monkeypatch.setattr(precision, "CPUINFO", cpuinfo)
    for flags, expected in (("fpu sse avx2 avx512f", "fp32"), ("fpu avx512f avx512_bf16", "bf16"),
                            ("fpu amx_tile amx_bf16", "bf16")):
        cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
        precision.cpu_flags.cache_clear()
        assert resolve_precision("auto", "cpu") == expected
    cpuinfo.unlink()  # no /proc/cpuinfo (macOS): fp32
    precision.cpu_flags.cache_clear()
    assert resolve_precision("auto", "cpu") == "fp32"
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
    lm = tiny_random_lm("llama", seed=0)
    lm.precision = "auto"
    assert lm.precision == "fp32"
    # Asked for explicitly, bf16 is honoured (emulated: slower, still correct).
    lm.precision = "bf16"
    assert lm.precision == "bf16"
    precision.cpu_flags.cache_clear()
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision("fp16", "cpu")


def test_encoder_decoders_stay_in_fp32_under_auto(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)
    t5 = tiny_random_lm("t5", seed=0)
    t5.precision = "auto"
    assert t5.precision == "fp32"
    with pytest.raises(ValueError, match="causal models"):
        t5.precision = "bf16"
    with pytest.raises(ValueError, match="reuse_prefix needs a causal model"):
        t5.score(PROMPTS, CANDIDATES, reuse_prefix=True)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_caches_follow_a_fused_optimizer_step(precision):
    # Fused Adam (what GLAM uses) updates weights in place without bumping their version counters.
    lm = apply_lora(tiny_random_lm("llama", seed=3), {"r": 4, "lora_alpha": 8})
    lm.precision = precision
    lm.score(PROMPTS, CANDIDATES, reuse_prefix=True)  # fills the bf16 copies and the prompt store
    optimizer = torch.optim.Adam([p for p in lm.parameters() if p.requires_grad], lr=0.05, fused=True)
    lm.follow_optimizer(optimizer)
    scores = lm.score(PROMPTS, CANDIDATES, grad=True)
    sum(s.sum() for s in scores).backward()
    optimizer.step()
    after = lm.score(PROMPTS, CANDIDATES, reuse_prefix=True)
    lm.clear_prefix_cache()
    lm.precision = precision  # drops the bf16 copies too
    fresh = lm.score(PROMPTS, CANDIDATES)
    assert not torch.allclose(torch.cat(fresh), torch.cat(scores).detach()), "the step changed nothing"
    _close(after, fresh, 1e-5)


def test_another_models_optimizer_step_keeps_the_prompt_store():
    lm = tiny_random_lm("llama", seed=3)
    lm.score(PROMPTS, CANDIDATES, reuse_prefix=True)
    other = torch.nn.Linear(2, 2)
    optimizer = torch.optim.Adam(other.parameters(), fused=True)
    other(torch.ones(2)).sum().backward()
    optimizer.step()
    lm.score(PROMPTS[:1], CANDIDATES[:1], reuse_prefix=True)
    assert len(lm._prompt_kv) == len(PROMPTS)  # kept, not emptied by the unrelated step
