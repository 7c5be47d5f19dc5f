"""Candidate scoring: log p(candidate | prompt) for many short candidates of each prompt.

score(c | p) = sum_t log softmax(f(p, c_<t))[c_t]        (normalize="mean": divided by |c|)

Two methods compute the same numbers:

- "naive": one padded row per (prompt, candidate); the prompt is recomputed for
  every candidate. The reference.
- "shared": each prompt is computed once for all its candidates.
  Causal models: one packed row per prompt, `[prompt][cand 1][cand 2]...`, with a
  block attention mask (a candidate token sees the prompt and the earlier tokens
  of its own candidate only) and position ids restarting at len(prompt) for each
  candidate, so every candidate token sees exactly what it would see in its own
  row. Encoder-decoders: the encoder runs once per prompt and its states are
  expanded (index_select, so gradients flow back) to the decoder rows of the
  candidates.
Both run under autograd when asked, so a PPO update gets the same saving.

Logits are computed only where a candidate token is predicted: the output head
(49k x hidden for SmolLM2) is applied to those hidden states only.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel

from llmrl.lm.tokenization import EncodedPair

METHODS = ("shared", "naive")
NORMALIZE = ("sum", "mean")
DEFAULT_TOKEN_BUDGET = 4096


@dataclass
class ScoreOutput:
    """Flat per-candidate scores of one micro-batch, and one hidden state per prompt."""

    scores: torch.Tensor  # [num candidates in the micro-batch], float32
    hidden: torch.Tensor  # [num prompts in the micro-batch, hidden]


def micro_batches(lengths: Sequence[int], token_budget: int) -> list[list[int]]:
    """Group indices so that each group's padded size (count x longest) stays within `token_budget`.

    Indices are sorted by length first so that rows of similar length share padding.
    A single item longer than the budget forms its own group.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i], reverse=True)
    groups: list[list[int]] = []
    current: list[int] = []
    for i in order:
        # The first index of a group is its longest (descending order).
        if current and (len(current) + 1) * lengths[current[0]] > token_budget:
            groups.append(current)
            current = []
        current.append(i)
    if current:
        groups.append(current)
    return groups


def _pad(rows: Sequence[Sequence[int]], value: int) -> torch.Tensor:
    width = max(len(r) for r in rows)
    return torch.tensor([list(r) + [value] * (width - len(r)) for r in rows], dtype=torch.long)


def _log_likelihoods(logits: torch.Tensor, targets: torch.Tensor, owner: torch.Tensor, count: int) -> torch.Tensor:
    """Sum log softmax(logits)[target] per owner; float32 whatever the model dtype."""
    token_logp = torch.log_softmax(logits.float(), dim=-1).gather(-1, targets[:, None]).squeeze(-1)
    return torch.zeros(count, dtype=token_logp.dtype, device=token_logp.device).index_add(0, owner, token_logp)


class CausalScorer:
    """Scores candidates with a decoder-only model: backbone, then the head on scored positions only."""

    def __init__(self, model: PreTrainedModel, pad_id: int):
        self.backbone: nn.Module = getattr(model, model.base_model_prefix)
        self.head: nn.Module = model.get_output_embeddings()
        self.softcap = getattr(model.config, "final_logit_softcapping", None)
        self.pad_id = pad_id

    def _head(self, hidden: torch.Tensor) -> torch.Tensor:
        logits = self.head(hidden)
        if self.softcap:  # Gemma-style models squash logits; keep scores equal to the full model's.
            logits = torch.tanh(logits / self.softcap) * self.softcap
        return logits

    def naive(self, pairs: Sequence[EncodedPair], device: torch.device) -> ScoreOutput:
        """One right-padded row per (prompt, candidate) with the model's own causal mask."""
        rows, owners, positions, targets, hidden_at = [], [], [], [], []
        for pair in pairs:
            hidden_at.append((len(rows), len(pair.prompt) - 1))
            for cand in pair.candidates:
                start = len(pair.prompt) - 1  # the last prompt token predicts the first candidate token
                positions += [(len(rows), start + t) for t in range(len(cand))]
                owners += [len(rows)] * len(cand)
                targets += cand
                rows.append(pair.prompt + cand)
        input_ids = _pad(rows, self.pad_id).to(device)
        attention = _pad([[1] * len(r) for r in rows], 0).to(device)
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention).last_hidden_state
        return self._finish(hidden, positions, targets, owners, len(rows), hidden_at)

    def shared(self, pairs: Sequence[EncodedPair], device: torch.device) -> ScoreOutput:
        """One packed row per prompt: the prompt, then every candidate, under a block mask."""
        rows, segments, position_rows = [], [], []
        owners, positions, targets, hidden_at = [], [], [], []
        num_candidates = 0
        for b, pair in enumerate(pairs):
            prompt_len = len(pair.prompt)
            row, seg, pos = list(pair.prompt), [-1] * prompt_len, list(range(prompt_len))
            hidden_at.append((b, prompt_len - 1))
            for k, cand in enumerate(pair.candidates):
                start = len(row)
                # Token t of the candidate is predicted by the previous token of the same
                # candidate, or by the last prompt token for t == 0.
                positions += [(b, prompt_len - 1)] + [(b, start + t) for t in range(len(cand) - 1)]
                owners += [num_candidates] * len(cand)
                targets += cand
                num_candidates += 1
                row += cand
                seg += [k] * len(cand)
                pos += range(prompt_len, prompt_len + len(cand))  # positions restart after the prompt
            rows.append(row)
            segments.append(seg)
            position_rows.append(pos)
        input_ids = _pad(rows, self.pad_id).to(device)
        position_ids = _pad(position_rows, 0).to(device)
        seg = _pad(segments, -2).to(device)
        mask = _block_mask(seg, self.head.weight.dtype)
        hidden = self.backbone(input_ids=input_ids, attention_mask=mask, position_ids=position_ids).last_hidden_state
        return self._finish(hidden, positions, targets, owners, num_candidates, hidden_at)

    def _finish(self, hidden, positions, targets, owners, count, hidden_at) -> ScoreOutput:
        device = hidden.device
        index = torch.tensor(positions, dtype=torch.long, device=device)
        logits = self._head(hidden[index[:, 0], index[:, 1]])
        scores = _log_likelihoods(
            logits,
            torch.tensor(targets, dtype=torch.long, device=device),
            torch.tensor(owners, dtype=torch.long, device=device),
            count,
        )
        at = torch.tensor(hidden_at, dtype=torch.long, device=device)
        return ScoreOutput(scores, hidden[at[:, 0], at[:, 1]])


def _block_mask(seg: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Additive 4-D mask [B, 1, T, T] for packed rows; segment -1 = prompt, k >= 0 = candidate k, -2 = padding.

    Query i may see key j when j <= i and j is a prompt token or in i's own candidate.
    Padding tokens see only themselves (no fully masked row, hence no NaN).
    """
    length = seg.shape[1]
    causal = torch.ones(length, length, dtype=torch.bool, device=seg.device).tril()
    key, query = seg[:, None, :], seg[:, :, None]
    allowed = causal & ((key == -1) | (key == query)) & (query != -2)
    allowed |= torch.eye(length, dtype=torch.bool, device=seg.device)
    # Additive form: both the eager and the SDPA attention of transformers accept it as is.
    mask = torch.zeros(allowed.shape, dtype=dtype, device=seg.device)
    return mask.masked_fill(~allowed, torch.finfo(dtype).min)[:, None]


class Seq2SeqScorer:
    """Scores candidates with an encoder-decoder: prompt to the encoder, candidate to the decoder."""

    def __init__(self, model: PreTrainedModel, pad_id: int):
        self.model = model
        self.pad_id = pad_id
        self.start_id = model.config.decoder_start_token_id
        if self.start_id is None:
            raise ValueError(f"{type(model).__name__} has no decoder_start_token_id in its config; cannot score")

    def naive(self, pairs: Sequence[EncodedPair], device: torch.device) -> ScoreOutput:
        """The encoder reruns for each (prompt, candidate) row."""
        return self._run(pairs, device, shared=False)

    def shared(self, pairs: Sequence[EncodedPair], device: torch.device) -> ScoreOutput:
        """The encoder runs once per prompt; its states are expanded to the candidates' decoder rows."""
        return self._run(pairs, device, shared=True)

    def _run(self, pairs: Sequence[EncodedPair], device: torch.device, shared: bool) -> ScoreOutput:
        # Decoder row r reads encoder row source[r]: its prompt's row (shared) or its own row (naive).
        dec_rows, targets, owners, positions, source, first_row = [], [], [], [], [], []
        for i, pair in enumerate(pairs):
            first_row.append(len(dec_rows))
            for cand in pair.candidates:
                r = len(dec_rows)
                positions += [(r, t) for t in range(len(cand))]
                owners += [r] * len(cand)
                targets += cand
                dec_rows.append([self.start_id] + cand[:-1])
                source.append(i if shared else r)
        if shared:
            prompts = [pair.prompt for pair in pairs]
        else:
            prompts = [pair.prompt for pair in pairs for _ in pair.candidates]
        enc_ids = _pad(prompts, self.pad_id).to(device)
        enc_mask = _pad([[1] * len(p) for p in prompts], 0).to(device)
        encoder_states = self.model.get_encoder()(input_ids=enc_ids, attention_mask=enc_mask).last_hidden_state
        src = torch.tensor(source, dtype=torch.long, device=device)
        out = self.model(
            encoder_outputs=(encoder_states.index_select(0, src),),
            attention_mask=enc_mask.index_select(0, src),
            decoder_input_ids=_pad(dec_rows, self.pad_id).to(device),
            decoder_attention_mask=_pad([[1] * len(r) for r in dec_rows], 0).to(device),
            output_hidden_states=True,
        )
        index = torch.tensor(positions, dtype=torch.long, device=device)
        scores = _log_likelihoods(
            out.logits[index[:, 0], index[:, 1]],
            torch.tensor(targets, dtype=torch.long, device=device),
            torch.tensor(owners, dtype=torch.long, device=device),
            len(dec_rows),
        )
        # Decoder position 0 sees only the start token and the prompt: identical across candidates.
        hidden = out.decoder_hidden_states[-1][torch.tensor(first_row, device=device), 0]
        return ScoreOutput(scores, hidden)
