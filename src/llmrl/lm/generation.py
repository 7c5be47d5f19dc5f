"""Batched text generation with a local `LanguageModel` (left padding for causal models)."""

from typing import TYPE_CHECKING

import torch

from llmrl.lm.sampling import SamplingParams, cut_at_stop

if TYPE_CHECKING:
    from llmrl.lm.model import LanguageModel

GENERATION_BATCH = 16


def generate_local(lm: "LanguageModel", prompts: list[str], params: SamplingParams) -> list[list[str]]:
    """`params.n` completions per prompt, in batches. See `LanguageModel.generate`."""
    out: list[list[str]] = []
    # fork_rng: a seeded request must not reseed (or consume) the caller's RNG stream.
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        if params.seed is not None:
            torch.manual_seed(params.seed)
        for start in range(0, len(prompts), GENERATION_BATCH):
            out += _generate_batch(lm, prompts[start : start + GENERATION_BATCH], params)
    return out


def _generate_batch(lm: "LanguageModel", prompts: list[str], params: SamplingParams) -> list[list[str]]:
    rows = [lm.boundary.encode_for_generation(p) for p in prompts]
    width = max(len(r) for r in rows)
    pad = lm.tokenizer.pad_token_id
    # Causal models continue from the last column, so prompts are padded on the left;
    # an encoder reads the whole row under its mask, so right padding is fine there.
    if lm.is_encoder_decoder:
        ids = [r + [pad] * (width - len(r)) for r in rows]
        mask = [[1] * len(r) + [0] * (width - len(r)) for r in rows]
    else:
        ids = [[pad] * (width - len(r)) + r for r in rows]
        mask = [[0] * (width - len(r)) + [1] * len(r) for r in rows]
    sampling = {"do_sample": False} if params.greedy else {"do_sample": True, "temperature": params.temperature}
    output = lm.model.generate(
        input_ids=torch.tensor(ids, device=lm.device),
        attention_mask=torch.tensor(mask, device=lm.device),
        max_new_tokens=params.max_new_tokens,
        num_return_sequences=params.n,
        pad_token_id=pad,
        top_k=None,
        top_p=None,
        **sampling,
    )
    new_tokens = output if lm.is_encoder_decoder else output[:, width:]
    texts = lm.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
    texts = [cut_at_stop(t, params.stop) for t in texts]
    return [texts[i * params.n : (i + 1) * params.n] for i in range(len(prompts))]
