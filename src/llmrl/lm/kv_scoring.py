"""KV-cache-reuse candidate scoring (Lamorel's approach): the prompt once, then its candidates in a padded batch.

For each prompt:

1. one pass over the prompt keeps every layer's keys and values (its KV cache) and the
   last prompt position's logits, which score every candidate's first token;
2. the candidates' remaining fed tokens (`cand[:-1]`) form right-padded rows, at positions
   len(prompt) + t, that attend to the whole cached prompt and causally to their own
   tokens; each row's position t predicts `cand[t + 1]`.

Numbers equal the "naive" and "shared" methods of `llmrl.lm.scoring` (same tokenization,
same float32 log-softmax). Unlike "shared", candidates that start alike do not share their
common tokens, and every row reads its own copy of the prompt's keys and values (the
transformers attention API concatenates them per row): that copy is what this method pays
for its simplicity. Rows are cut into micro-batches of about `token_budget` keys
(rows x (prompt + longest row)), which bounds memory for hundreds of candidates.

Causal (decoder-only) models only; the autograd graph is kept when asked (`grad=True`).
"""

from collections.abc import Sequence
from contextlib import nullcontext

import torch
from torch import nn
from transformers.cache_utils import Cache, DynamicLayer

from llmrl.lm.scoring import NORMALIZE, ScoreOutput, micro_batches
from llmrl.lm.tokenization import EncodedPair

DEFAULT_KV_TOKEN_BUDGET = 32768


class _ReadOnlyLayer(DynamicLayer):
    """One layer of a prompt's cache [1, kv heads, P, head dim]: expanded to the rows of each call, never grown."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor):
        super().__init__()
        self.keys, self.values = keys, values
        self.dtype, self.device = keys.dtype, keys.device
        self.is_initialized = True

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        rows = key_states.shape[0]
        return (
            torch.cat([self.keys.expand(rows, -1, -1, -1), key_states], dim=-2),
            torch.cat([self.values.expand(rows, -1, -1, -1), value_states], dim=-2),
        )


class KVReuseScorer:
    """Scores candidates of a causal model: each prompt computed once, its KV cache reused by padded rows."""

    def __init__(self, model: nn.Module, pad_id: int, token_budget: int = DEFAULT_KV_TOKEN_BUDGET):
        if getattr(model.config, "is_encoder_decoder", False):
            raise ValueError("KV-reuse scoring needs a causal model; encoder-decoders already share the encoder "
                             "with method='shared'")
        if token_budget < 1:
            raise ValueError(f"token_budget must be a positive number of tokens, got {token_budget}")
        self.backbone: nn.Module = getattr(model, model.base_model_prefix)
        self.head: nn.Module = model.get_output_embeddings()
        self.softcap = getattr(model.config, "final_logit_softcapping", None)
        self.pad_id = pad_id
        self.token_budget = token_budget

    def score_pair(self, pair: EncodedPair, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """(per-candidate sum of token log-probs [num candidates] float32, hidden state at the last prompt token)."""
        prompt_len = len(pair.prompt)
        out = self.backbone(input_ids=torch.tensor([pair.prompt], device=device), use_cache=True)
        last = out.last_hidden_state[0, -1]
        layers = out.past_key_values.layers
        if any(layer.keys is None or layer.keys.shape[-2] != prompt_len for layer in layers):
            raise ValueError(f"{type(self.backbone).__name__} keeps fewer than the prompt's {prompt_len} keys in "
                             "some layer (a sliding window): KV reuse needs full attention")
        cache = Cache(layers=[_ReadOnlyLayer(layer.keys, layer.values) for layer in layers])
        firsts = torch.tensor([c[0] for c in pair.candidates], dtype=torch.long, device=device)
        # The last prompt token predicts every candidate's first token: one head call for all of them.
        scores = torch.log_softmax(self._logits(last[None]).float(), dim=-1)[0, firsts]
        longer = [k for k, c in enumerate(pair.candidates) if len(c) > 1]
        if not longer:
            return scores, last
        rest = torch.zeros_like(scores)
        lengths = [len(pair.candidates[k]) - 1 for k in longer]
        for group in micro_batches([prompt_len + n for n in lengths], self.token_budget, max_padding=1.0):
            ks = [longer[g] for g in group]
            rest = rest.index_add(0, torch.tensor(ks, device=device), self._rows(pair, ks, cache, device))
        return scores + rest, last

    def _logits(self, hidden: torch.Tensor) -> torch.Tensor:
        logits = self.head(hidden)
        if self.softcap:
            logits = torch.tanh(logits / self.softcap) * self.softcap
        return logits

    def _rows(self, pair: EncodedPair, ks: Sequence[int], cache: Cache, device: torch.device) -> torch.Tensor:
        """Sum of log-probs of tokens 1.. of candidates `ks`, one padded row each against the prompt's cache."""
        prompt_len = len(pair.prompt)
        fed = [pair.candidates[k][:-1] for k in ks]
        width = max(len(r) for r in fed)
        input_ids = torch.tensor([r + [self.pad_id] * (width - len(r)) for r in fed], device=device)
        position_ids = torch.arange(prompt_len, prompt_len + width, device=device).expand(len(fed), -1)
        # Additive mask [rows, 1, width, P + width]: the prompt, then the row's own earlier tokens;
        # a padding token sees the prompt too (no fully masked row) and predicts nothing scored.
        dtype = self.head.weight.dtype
        own = torch.ones(width, width, dtype=torch.bool, device=device).tril()
        allowed = torch.cat([torch.ones(width, prompt_len, dtype=torch.bool, device=device), own], dim=1)
        mask = torch.zeros(allowed.shape, dtype=dtype, device=device).masked_fill_(~allowed, torch.finfo(dtype).min)
        hidden = self.backbone(
            input_ids=input_ids, position_ids=position_ids, attention_mask=mask.expand(len(fed), 1, -1, -1),
            past_key_values=cache, use_cache=False,
        ).last_hidden_state
        rows = torch.tensor([r for r, f in enumerate(fed) for _ in f], device=device)
        cols = torch.tensor([t for f in fed for t in range(len(f))], device=device)
        targets = torch.tensor([tok for k in ks for tok in pair.candidates[k][1:]], device=device)
        logp = torch.log_softmax(self._logits(hidden[rows, cols]).float(), dim=-1)
        token_logp = logp.gather(-1, targets[:, None]).squeeze(-1)
        return torch.zeros(len(fed), dtype=token_logp.dtype, device=device).index_add(0, rows, token_logp)

    def score(self, pairs: Sequence[EncodedPair], device: torch.device) -> ScoreOutput:
        """Flat scores of all pairs' candidates (in order) and one hidden state per prompt."""
        scores, hidden = zip(*(self.score_pair(pair, device) for pair in pairs), strict=True)
        return ScoreOutput(torch.cat(scores), torch.stack(hidden))


def score_kv_reuse(
    lm,
    prompts: list[str],
    candidates: list[list[str]],
    *,
    normalize: str = "sum",
    grad: bool = False,
    return_hidden: bool = False,
    token_budget: int = DEFAULT_KV_TOKEN_BUDGET,
    truncate: str | None = None,
):
    """`lm.score(...)` with KV-cache reuse: same arguments, same return values (a `LanguageModel`, causal)."""
    if normalize not in NORMALIZE:
        raise ValueError(f"normalize must be one of {NORMALIZE}, got {normalize!r}")
    if lm.is_encoder_decoder:
        raise ValueError("KV-reuse scoring needs a causal model; use lm.score(method='shared') for encoder-decoders")
    scorer = KVReuseScorer(lm.base_model, lm.tokenizer.pad_token_id, token_budget)
    pairs = lm.encode(prompts, candidates, truncate)
    per_prompt, hidden = [], []
    with nullcontext() if grad else torch.no_grad():
        for pair in pairs:
            scores, last = scorer.score_pair(pair, lm.device)
            if normalize == "mean":
                scores = scores / torch.tensor([len(c) for c in pair.candidates], dtype=scores.dtype,
                                               device=scores.device)
            per_prompt.append(scores)
            hidden.append(last)
    if return_hidden:
        return per_prompt, torch.stack(hidden)
    return per_prompt
