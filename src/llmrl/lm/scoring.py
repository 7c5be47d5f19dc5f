"""Candidate scoring: log p(candidate | prompt) for many short candidates of each prompt.

score(c | p) = sum_t log softmax(f(p, c_<t))[c_t]        (normalize="mean": divided by |c|)

Two methods compute the same numbers:

- "naive": one padded row per (prompt, candidate); the prompt is recomputed for
  every candidate. The reference.
- "shared": each prompt is computed once for all its candidates.
  Causal models: one packed row per prompt, `[prompt][candidate prefix tree]`: the
  candidates' tokens form a tree in which shared prefixes appear once ("turn" of
  "turn left" / "turn right"), under a tree attention mask (a candidate token sees
  the prompt and its own earlier tokens only) with position ids len(prompt) + depth,
  so every candidate token sees exactly what it would see in its own row.
  Encoder-decoders: the encoder runs once per prompt and its states are expanded
  (index_select, so gradients flow back) to the decoder rows of the candidates.
Both run under autograd when asked, so a PPO update gets the same saving.

A prompt prefix common to many calls (an instruction and worked examples) can be
computed once: `CausalScorer.prefix_kv` keeps its keys and values (`PrefixKV`), and a
causal "shared" row then holds only the prompt's tokens after the prefix, at positions
len(prefix) + i, under a mask whose prefix columns every real token sees:

    row = [prompt[P:]][candidate prefix tree],   keys/values = [prefix KV (P)][row]

Logits are computed only where a candidate token is predicted: the output head
(49k x hidden for SmolLM2) is applied to those hidden states only. A candidate's
last token predicts nothing that is scored, so it is never fed to a causal model
(a one-token candidate adds no token to a packed row at all).
"""

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.cache_utils import Cache, DynamicLayer

from llmrl.lm.tokenization import EncodedPair

METHODS = ("shared", "naive")
NORMALIZE = ("sum", "mean")
DEFAULT_TOKEN_BUDGET = 4096
MAX_PADDING = 0.1


@dataclass
class ScoreOutput:
    """Flat per-candidate scores of one micro-batch, and one hidden state per prompt."""

    scores: torch.Tensor  # [num candidates in the micro-batch], float32
    hidden: torch.Tensor  # [num prompts in the micro-batch, hidden]


def micro_batches(lengths: Sequence[int], token_budget: int, max_padding: float = MAX_PADDING) -> list[list[int]]:
    """Group indices so that each group's padded size (count x longest) stays within `token_budget`.

    Indices are sorted by length first so that rows of similar length share padding,
    and a group closes when the next item is shorter than its longest by more than
    `max_padding` (a fraction): padded tokens cost as much as real ones, and a few more
    calls cost less than computing them. A single item longer than the budget forms its
    own group.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i], reverse=True)
    groups: list[list[int]] = []
    current: list[int] = []
    for i in order:
        # The first index of a group is its longest (descending order).
        longest = lengths[current[0]] if current else 0
        if current and ((len(current) + 1) * longest > token_budget or lengths[i] < (1 - max_padding) * longest):
            groups.append(current)
            current = []
        current.append(i)
    if current:
        groups.append(current)
    return groups


def _pad(rows: Sequence[Sequence[int]], value: int) -> torch.Tensor:
    width = max(len(r) for r in rows)
    return torch.tensor([list(r) + [value] * (width - len(r)) for r in rows], dtype=torch.long)


def _log_likelihoods(
    logits: torch.Tensor, targets: torch.Tensor, owner: torch.Tensor, count: int, rows: torch.Tensor | None = None
) -> torch.Tensor:
    """Sum log softmax(logits[rows])[target] per owner; float32 whatever the model dtype.

    `rows[i]`: the logits row that predicts target i (default: row i).
    """
    logp = torch.log_softmax(logits.float(), dim=-1)
    token_logp = logp[rows, targets] if rows is not None else logp.gather(-1, targets[:, None]).squeeze(-1)
    return torch.zeros(count, dtype=token_logp.dtype, device=token_logp.device).index_add(0, owner, token_logp)


class CausalScorer:
    """Scores candidates with a decoder-only model: backbone, then the head on scored positions only."""

    def __init__(self, model: PreTrainedModel, pad_id: int):
        self.backbone: nn.Module = getattr(model, model.base_model_prefix)
        self.head: nn.Module = model.get_output_embeddings()
        self.softcap = getattr(model.config, "final_logit_softcapping", None)
        self.pad_id = pad_id
        # What the backbone runs under (LanguageModel sets bf16 autocast here); the output head,
        # the log-softmax and the returned hidden states stay in the head's dtype (fp32).
        self.body_context: Callable[[], AbstractContextManager] = nullcontext

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
                rows.append(pair.prompt + cand[:-1])
        input_ids = _pad(rows, self.pad_id).to(device)
        attention = _pad([[1] * len(r) for r in rows], 0).to(device)
        with self.body_context():
            hidden = self.backbone(input_ids=input_ids, attention_mask=attention, use_cache=False).last_hidden_state
        return self._finish(hidden, positions, targets, owners, len(rows), hidden_at)

    def shared(
        self, pairs: Sequence[EncodedPair], device: torch.device, prefix: "PrefixKV | None" = None,
        around: AbstractContextManager | None = None,
    ) -> ScoreOutput:
        """One packed row per prompt: the prompt, then its candidates' prefix tree, under a tree mask.

        With `prefix`, every pair's prompt holds only its tokens after the cached prefix: rows
        read the prefix's keys and values, and their positions continue from its length (per
        row when the prefix has `lengths`: rows then read prefixes of different lengths).
        `around`: a context the backbone call also runs in (the trunk cache's capture or replay).
        """
        pasts = prefix.row_lengths(len(pairs)) if prefix is not None else [0] * len(pairs)
        rows, position_rows, trees = [], [], []
        owners, positions, targets, hidden_at = [], [], [], []
        num_candidates = 0
        for b, pair in enumerate(pairs):
            prompt_len, past = len(pair.prompt), pasts[b]
            tree = CandidateTree(pair.candidates)
            hidden_at.append((b, prompt_len - 1))
            for nodes, cand in zip(tree.paths, pair.candidates, strict=True):
                # Token t is predicted by the node of the candidate's first t tokens (the last
                # prompt token for t == 0).
                positions += [(b, prompt_len - 1)] + [(b, prompt_len + node) for node in nodes]
                owners += [num_candidates] * len(cand)
                targets += cand
                num_candidates += 1
            rows.append(list(pair.prompt) + tree.tokens)
            position_rows.append([past + i for i in range(prompt_len)] + [past + prompt_len + d for d in tree.depths])
            trees.append((prompt_len, tree))
        input_ids = _pad(rows, self.pad_id).to(device)
        position_ids = _pad(position_rows, 0).to(device)
        width = prefix.length if prefix is not None else 0
        mask = _tree_mask(trees, input_ids.shape[1], self.head.weight.dtype, width, pasts).to(device)
        with self.body_context(), around or nullcontext():
            hidden = self.backbone(
                input_ids=input_ids, attention_mask=mask, position_ids=position_ids,
                past_key_values=prefix.cache if prefix is not None else None, use_cache=False,
            ).last_hidden_state
        return self._finish(hidden, positions, targets, owners, num_candidates, hidden_at)

    def prefix_kv(self, ids: Sequence[int], device: torch.device) -> "PrefixKV":
        """The keys and values of every layer for the token ids `ids` (one row, no grad)."""
        with torch.no_grad(), self.body_context():
            out = self.backbone(input_ids=torch.tensor([list(ids)], device=device), use_cache=True)
        layers = out.past_key_values.layers
        if any(layer.keys is None or layer.keys.shape[-2] != len(ids) for layer in layers):
            # Sliding-window layers keep only the last keys; every row must see the whole prefix.
            raise ValueError(
                f"{type(self.backbone).__name__} keeps fewer than the prefix's {len(ids)} keys in some layer "
                "(a sliding window): prefix caching needs full attention; drop prefix="
            )
        return PrefixKV(len(ids), Cache(layers=[_PrefixLayer(layer.keys, layer.values) for layer in layers]))

    def _finish(self, hidden, positions, targets, owners, count, hidden_at) -> ScoreOutput:
        device = hidden.device
        index = torch.tensor(positions, dtype=torch.long, device=device)
        # Candidates that share a prefix read the same positions: the head (and the softmax over
        # the vocabulary) runs once per distinct position, which halves it for yes/no pairs.
        distinct, rows = torch.unique(index[:, 0] * hidden.shape[1] + index[:, 1], return_inverse=True)
        # Under bf16 compute the head still runs in its own dtype (fp32): scores keep fp32 logits.
        hidden = hidden.to(self.head.weight.dtype)
        logits = self._head(hidden.reshape(-1, hidden.shape[-1])[distinct])
        scores = _log_likelihoods(
            logits,
            torch.tensor(targets, dtype=torch.long, device=device),
            torch.tensor(owners, dtype=torch.long, device=device),
            count,
            rows,
        )
        at = torch.tensor(hidden_at, dtype=torch.long, device=device)
        return ScoreOutput(scores, hidden[at[:, 0], at[:, 1]])


class CandidateTree:
    """The fed tokens of a prompt's candidates as a prefix tree: shared prefixes are computed once.

    A candidate's last token is never fed (it predicts nothing scored), so candidate
    [t0, t1, t2] needs the nodes for [t0] and [t0, t1]; "turn left" and "turn right" share
    the node "turn", and a yes/no question pair shares everything it feeds.
    `tokens[n]`, `parents[n]` (-1: the prompt) and `depths[n]` describe node n, parents
    before children; `paths[k]` lists candidate k's nodes in order.
    """

    def __init__(self, candidates: Sequence[Sequence[int]]):
        self.tokens: list[int] = []
        self.parents: list[int] = []
        self.depths: list[int] = []
        self.paths: list[list[int]] = []
        index: dict[tuple[int, int], int] = {}
        for cand in candidates:
            path, parent = [], -1
            for depth, token in enumerate(cand[:-1]):
                node = index.get((parent, token))
                if node is None:
                    node = index[parent, token] = len(self.tokens)
                    self.tokens.append(token)
                    self.parents.append(parent)
                    self.depths.append(depth)
                path.append(node)
                parent = node
            self.paths.append(path)

    def __len__(self) -> int:
        return len(self.tokens)

    def ancestry(self) -> np.ndarray:
        """[n, n] bool: node i may attend to node j (j is i or one of its ancestors)."""
        n = len(self.tokens)
        seen = np.zeros((n, n), dtype=bool)
        for node, parent in enumerate(self.parents):  # parents come first, so their rows are complete
            if parent >= 0:
                seen[node] = seen[parent]
            seen[node, node] = True
        return seen


def _tree_mask(
    trees: Sequence[tuple[int, CandidateTree]], width: int, dtype: torch.dtype, past: int = 0,
    pasts: Sequence[int] | None = None,
) -> torch.Tensor:
    """Additive 4-D mask [B, 1, T, past + T] for packed rows of (prompt length, candidate tree).

    The `past` cached prefix columns come first; row b's real tokens see the first `pasts[b]`
    of them (default: all; the others are another row's longer prefix, padding here). Prompt
    tokens attend causally; a tree node attends to the whole prompt and to its own
    ancestors, so each candidate token sees exactly what it would see in its own row.
    Padding tokens see only themselves (no fully masked row, hence no NaN).
    """
    allowed = np.zeros((len(trees), width, past + width), dtype=bool)
    allowed[:, np.arange(width), past + np.arange(width)] = True
    for b, (prompt_len, tree) in enumerate(trees):
        end = prompt_len + len(tree)
        allowed[b, :end, : past if pasts is None else pasts[b]] = True
        row = allowed[b, :, past:]  # a view: the row's own tokens
        row[:prompt_len, :prompt_len] = np.tri(prompt_len, dtype=bool)
        row[prompt_len:end, :prompt_len] = True
        row[prompt_len:end, prompt_len:end] = tree.ancestry()
    # Additive form: both the eager and the SDPA attention of transformers accept it as is.
    mask = torch.zeros(allowed.shape, dtype=dtype)
    return mask.masked_fill_(torch.from_numpy(~allowed), torch.finfo(dtype).min)[:, None]


@dataclass(frozen=True)
class PrefixKV:
    """A prompt prefix's keys and values, `length` tokens, as a read-only transformers cache.

    The model's attention layers call `cache.update` with a micro-batch's new keys and
    values; every layer returns the prefix's (expanded to the rows) followed by them and
    stores nothing, so one PrefixKV serves any number of calls.

    `lengths`: one prefix per row (keys [rows, ...]), row b's being its first `lengths[b]`
    columns of `length` (0: a row without prefix); None: one prefix for every row.
    """

    length: int
    cache: Cache
    lengths: tuple[int, ...] | None = None

    def row_lengths(self, rows: int) -> list[int]:
        return list(self.lengths) if self.lengths is not None else [self.length] * rows


class _PrefixLayer(DynamicLayer):
    """One layer of a `PrefixKV`: keys and values [1 or rows, kv heads, length, head dim], never modified.

    With `record`, the keys and values an attention call used (prefix + the rows') are kept
    in `seen`, so that a caller can keep the prompts' own keys and values for later calls.
    """

    def __init__(self, keys: torch.Tensor | None, values: torch.Tensor | None, record: bool = False):
        super().__init__()
        self.keys, self.values = keys, values  # None: an empty prefix (a layer that only records)
        if keys is not None:
            self.dtype, self.device = keys.dtype, keys.device
        self.is_initialized = True
        self.record = record
        self.seen: tuple[torch.Tensor, torch.Tensor] | None = None

    def get_seq_length(self) -> int:
        return 0 if self.keys is None else self.keys.shape[-2]

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        if self.keys is None:
            if self.record:
                self.seen = (key_states, value_states)
            return key_states, value_states
        # expand is a view: the concatenation is the only copy of the prefix, and attention needs it.
        rows = key_states.shape[0]
        keys = torch.cat([self.keys.expand(rows, -1, -1, -1), key_states.to(self.keys.dtype)], dim=-2)
        values = torch.cat([self.values.expand(rows, -1, -1, -1), value_states.to(self.values.dtype)], dim=-2)
        if self.record:
            self.seen = (keys, values)
        return keys, values


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
