"""`LanguageModel`: a Hugging Face model + tokenizer with candidate scoring and generation."""

import json
import os
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from functools import partial
from pathlib import Path

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle
from transformers import PreTrainedModel, PreTrainedTokenizerBase
from transformers.cache_utils import Cache

from llmrl.lm.generation_cache import TextGenerator
from llmrl.lm.precision import resolve_precision
from llmrl.lm.sampling import SamplingParams
from llmrl.lm.scoring import (
    DEFAULT_TOKEN_BUDGET,
    METHODS,
    NORMALIZE,
    CandidateTree,
    CausalScorer,
    PrefixKV,
    ScoreOutput,
    Seq2SeqScorer,
    _pad,
    _PrefixLayer,
    micro_batches,
)
from llmrl.lm.tokenization import BoundaryTokenizer, EncodedPair
from llmrl.lm.trunk import TrunkCache

METADATA_FILE = "llmrl_lm.json"
ADAPTER_DIR = "adapter"
TRUNCATE = (None, "left")
PREFIX_CACHE_SIZE = 4
PROMPT_KV_SIZE = 32  # prompts whose keys and values `reuse_prefix` keeps (a few MB each for SmolLM2)
MIN_GROUP_PREFIX = 8  # shortest common prefix worth its own forward pass under grad (tokens)


class LanguageModel(TextGenerator):
    """A causal or encoder-decoder language model ready for scoring and generation.

    Attributes: `model` (the torch module, peft-wrapped when it has LoRA adapters),
    `tokenizer`, `is_encoder_decoder`, `hidden_size`, `device`, `name`.
    A new instance is in eval mode; call `train()` before a gradient update.
    `precision` and `trunk_cache` select the fast paths (see their properties); a fused
    optimizer over the model's parameters must be given to `follow_optimizer`.
    """

    def __init__(
        self,
        model: nn.Module,
        tokenizer: PreTrainedTokenizerBase,
        *,
        name: str,
        device: str | torch.device = "cpu",
        precision: str = "fp32",
    ):
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.device = torch.device(device)
        self.config = self.base_model.config
        self.is_encoder_decoder = bool(self.config.is_encoder_decoder)
        self.hidden_size = int(self.config.hidden_size if hasattr(self.config, "hidden_size") else self.config.d_model)
        _ensure_pad_token(tokenizer)
        self.boundary = BoundaryTokenizer(tokenizer, self.is_encoder_decoder)
        self.model.to(self.device)
        self.model.eval()
        scorer = Seq2SeqScorer if self.is_encoder_decoder else CausalScorer
        self._scorer = scorer(self.base_model, tokenizer.pad_token_id)
        # Prompt prefixes' keys and values (score(prefix=...)), most recently used last, valid
        # for the weights whose fingerprint is `_prefix_weights`.
        self._prefixes: OrderedDict[tuple[int, ...], PrefixKV] = OrderedDict()
        self._prefix_weights: tuple = ()
        # reuse_prefix: keys and values of recently scored prompts (no grad), valid for `_prompt_weights`.
        self._prompt_kv: OrderedDict[tuple[int, ...], tuple[list[torch.Tensor], list[torch.Tensor]]] = OrderedDict()
        self._prompt_weights: tuple = ()
        # bf16 copies of the body's linear weights that need no grad, with the (storage, version, optimizer
        # steps if trainable) they copy.
        self._bf16: dict[int, tuple[tuple[int, int, int], torch.Tensor]] = {}
        self._optimizer_steps: dict[int, int] = {}  # per parameter (by id): steps of the followed optimizers
        self._trunk: TrunkCache | None = None  # trunk_cache: hidden states entering the lowest trainable layer
        self._scorer.body_context = self._body_context
        self.precision = precision

    # ---------------------------------------------------------------- caches and weight updates
    def follow_optimizer(self, optimizer: torch.optim.Optimizer) -> RemovableHandle:
        """Make the caches see every step of `optimizer` (one over this model's parameters).

        The bf16 weight copies, cached prefixes and stored prompts are checked against each
        parameter's storage and version counter, which in-place updates bump, except those of
        fused optimizers (torch.optim.Adam(fused=True), GLAM's): such an optimizer's steps are
        counted per parameter once it is followed here. Returns the hook's handle.
        """
        return optimizer.register_step_post_hook(self._count_optimizer_step)

    def _count_optimizer_step(self, optimizer: torch.optim.Optimizer, _args, _kwargs) -> None:
        for group in optimizer.param_groups:
            for param in group["params"]:
                self._optimizer_steps[id(param)] = self._optimizer_steps.get(id(param), 0) + 1

    def _stamp(self, param: torch.Tensor) -> tuple[int, int, int]:
        """What changes when `param`'s values may have: its storage, version and followed optimizer steps."""
        return param.data_ptr(), param._version, self._optimizer_steps.get(id(param), 0)

    # ---------------------------------------------------------------- precision
    @property
    def precision(self) -> str:
        """"fp32" or "bf16": the dtype of the transformer body's matrix products (set "auto" to detect)."""
        return self._precision

    @precision.setter
    def precision(self, value: str) -> None:
        resolved = resolve_precision(value, self.device)
        if resolved == "bf16" and self.is_encoder_decoder:
            if value != "auto":
                raise ValueError("bf16 compute is implemented for causal models; use precision='fp32' for "
                                 f"{self.name}")
            resolved = "fp32"
        self._precision = resolved
        self._bf16.clear()
        self.clear_prefix_cache()

    @property
    def trunk_cache(self) -> bool:
        """Whether scoring keeps the hidden states entering the lowest trainable layer (rollouts) and an
        update with grad starts from them (`llmrl.lm.trunk`; causal models with frozen lower layers)."""
        return self._trunk is not None

    @trunk_cache.setter
    def trunk_cache(self, on: bool) -> None:
        if not on:
            self._trunk = None
            return
        if self.is_encoder_decoder:
            raise ValueError(f"the trunk cache is implemented for causal models; {self.name} is an encoder-decoder")
        if self._trunk is None:
            self._trunk = TrunkCache(self._scorer.backbone)

    def _linears(self) -> Iterator[nn.Linear]:
        body = getattr(self.base_model, self.base_model.base_model_prefix)
        return (m for m in body.modules() if isinstance(m, nn.Linear))

    @contextmanager
    def _body_context(self):
        """Runs the transformer body in `precision`: bf16 autocast, frozen (or, without grad, all)
        linear weights read from bf16 copies made once per weight version, so that autocast does not
        cast them again at every call. Weights that get a gradient are cast by autocast (the cast is
        differentiable, so their fp32 values are what the optimizer updates)."""
        if self._precision != "bf16":
            yield
            return
        grad = torch.is_grad_enabled()
        swapped = []
        try:
            for module in self._linears():
                weight = module._parameters["weight"]
                if weight is None or (grad and weight.requires_grad):
                    continue
                stamp = self._stamp(weight)
                cached = self._bf16.get(id(module))
                if cached is None or cached[0] != stamp:
                    cached = self._bf16[id(module)] = (stamp, weight.detach().to(torch.bfloat16))
                swapped.append((module, weight))
                module._parameters["weight"] = cached[1]
            with torch.autocast(self.device.type, dtype=torch.bfloat16):
                yield
        finally:
            for module, weight in swapped:
                module._parameters["weight"] = weight

    @property
    def base_model(self) -> PreTrainedModel:
        """The transformers model under any peft wrapper (LoRA layers stay injected in it)."""
        get_base = getattr(self.model, "get_base_model", None)
        return get_base() if get_base is not None else self.model

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of the model's weights."""
        return self.base_model.dtype

    @property
    def has_adapters(self) -> bool:
        """Whether the model is wrapped by peft (LoRA adapters)."""
        return hasattr(self.model, "peft_config")

    @property
    def max_length(self) -> int | None:
        """Longest sequence the model's position embeddings allow (None: no fixed limit, as T5)."""
        if self.is_encoder_decoder:
            return None
        for key in ("max_position_embeddings", "n_positions"):
            value = getattr(self.config, key, None)
            if value:
                return int(value)
        return None

    def __repr__(self) -> str:
        kind = "encoder-decoder" if self.is_encoder_decoder else "causal"
        lora = ", lora" if self.has_adapters else ""
        return (f"LanguageModel({self.name!r}, {kind}, hidden={self.hidden_size}, device={self.device}, "
                f"{self._precision}{lora})")

    def parameters(self):
        """Parameters of the model (only the trainable ones require grad under LoRA)."""
        return self.model.parameters()

    def train(self, mode: bool = True) -> "LanguageModel":
        """Set train mode (dropout on, where the model has any)."""
        self.model.train(mode)
        return self

    def eval(self) -> "LanguageModel":
        """Set eval mode."""
        return self.train(False)

    # ------------------------------------------------------------------ scoring
    def encode(
        self, prompts: list[str], candidates: list[list[str]], truncate: str | None = None
    ) -> list[EncodedPair]:
        """Token ids of each (prompt, candidates) per `llmrl.lm.tokenization`, checked against the context."""
        if not isinstance(prompts, list) or not isinstance(candidates, list):
            raise TypeError("prompts must be a list of str and candidates a list of lists of str")
        if len(prompts) != len(candidates):
            raise ValueError(
                f"got {len(prompts)} prompts but {len(candidates)} candidate lists; give one list per prompt"
            )
        if truncate not in TRUNCATE:
            raise ValueError(f"truncate must be one of {TRUNCATE}, got {truncate!r}")
        pairs = []
        for prompt, cands in zip(prompts, candidates, strict=True):
            if isinstance(cands, str):
                raise TypeError(f"candidates for prompt {prompt[:40]!r} must be a list of str, not a str")
            pairs.append(self._fit_context(self.boundary.encode(prompt, list(cands)), truncate))
        return pairs

    def _fit_context(self, pair: EncodedPair, truncate: str | None) -> EncodedPair:
        limit = self.max_length
        longest = max(len(c) for c in pair.candidates)
        if limit is None or len(pair.prompt) + longest <= limit:
            return pair
        keep = limit - longest
        if truncate != "left" or keep < 1:
            raise ValueError(
                f"prompt ({len(pair.prompt)} tokens) + longest candidate ({longest} tokens) exceeds the "
                f"model's context of {limit} tokens; shorten the prompt or pass truncate='left'"
            )
        # Left truncation drops the oldest prompt tokens: the recent history matters most.
        return EncodedPair(pair.prompt[-keep:], pair.candidates)

    def score(
        self,
        prompts: list[str],
        candidates: list[list[str]],
        *,
        method: str = "shared",
        normalize: str = "sum",
        grad: bool = False,
        return_hidden: bool = False,
        token_budget: int = DEFAULT_TOKEN_BUDGET,
        truncate: str | None = None,
        prefix: str | None = None,
        reuse_prefix: bool = False,
    ) -> list[torch.Tensor] | tuple[list[torch.Tensor], torch.Tensor]:
        """Log-likelihood of each candidate after its prompt.

        Returns one 1-D float32 tensor per prompt (sum of the candidate's token
        log-probs; `normalize="mean"` divides by its token count). With
        `return_hidden`, also a [num_prompts, hidden_size] tensor: the last layer's
        hidden state at the last prompt token (causal) or at decoder position 0
        (encoder-decoder), what a value head reads. `method`: "shared" (each prompt
        computed once) or "naive" (one row per pair; the reference). `grad=True`
        keeps the autograd graph of scores and hidden states; all micro-batches'
        graphs are then kept until backward, so pass PPO minibatches, not a whole
        rollout. Micro-batches hold about `token_budget` padded tokens each.
        `truncate="left"` drops the oldest prompt tokens when a pair exceeds the context.

        `prefix`: text that every prompt starts with (causal models, "shared", no grad).
        Its keys and values are computed once and kept for the next calls (the last
        `PREFIX_CACHE_SIZE` prefixes; new weights invalidate them), and only the rest of
        each prompt is computed. A prompt whose token ids do not start with the prefix's
        own ids (a BPE merge across the boundary, or left truncation) is scored without
        the cache: same scores, no saving. End the prefix at a newline to avoid that.

        `reuse_prefix`: find shared prompt prefixes by their token ids, with no prefix given
        (causal models, "shared"). Without grad, each prompt starts from the keys and values
        of the recently scored prompt (last `PROMPT_KV_SIZE`; new weights invalidate them)
        that shares the most leading tokens with it: in a rollout, the previous step of the
        same episode (its instruction and goal, and the whole previous prompt while the
        history window is not full). With grad, prompts of the call that share at least
        `MIN_GROUP_PREFIX` leading tokens (an episode's steps) are grouped, and each group's
        common prefix is computed once, with its graph. Exact: keys and values of a causal
        prefix do not depend on what follows it (same scores as without, to rounding).

        With `trunk_cache` on, calls without grad keep each row's hidden states entering the lowest
        trainable layer, and calls with grad run from there (the top layers only; rows not kept
        are computed first without grad). Exact as well: the frozen layers get no gradient.
        """
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if normalize not in NORMALIZE:
            raise ValueError(f"normalize must be one of {NORMALIZE}, got {normalize!r}")
        if token_budget < 1:
            raise ValueError(f"token_budget must be a positive number of tokens, got {token_budget}")
        if prefix is not None:
            self._check_prefix(prefix, prompts, method, grad)
        if reuse_prefix and (self.is_encoder_decoder or method != "shared" or prefix is not None):
            raise ValueError("reuse_prefix needs a causal model, method='shared' and no prefix=")
        pairs = self.encode(prompts, candidates, truncate)
        run = self._scorer.shared if method == "shared" else self._scorer.naive
        everything = list(range(len(pairs)))
        parts = [(everything, run)]
        trunk = self._trunk if method == "shared" and prefix is None else None
        if trunk is not None and not trunk.validate(self._precision):
            trunk = None  # no frozen layer below a trainable one any more (e.g. all unfrozen)
        if prefix is not None:
            parts = self._split_at_prefix(prefix, pairs)
        elif trunk is not None and grad:
            # Rows start from their cached trunk states: prefix groups would only save top layers.
            parts = [(everything, partial(self._run_from_trunk, trunk=trunk))]
        elif reuse_prefix:
            parts = self._plan_reuse(pairs, grad, trunk)
        elif trunk is not None:
            parts = [(everything, lambda batch, device: self._run_capturing(batch, device, trunk)[0])]
        per_prompt: list[torch.Tensor | None] = [None] * len(pairs)
        hidden: list[torch.Tensor | None] = [None] * len(pairs)
        with nullcontext() if grad else torch.no_grad():
            for indices, part_run in parts:
                for group in micro_batches(_row_lengths([pairs[i] for i in indices], method), token_budget):
                    batch = [indices[g] for g in group]
                    out: ScoreOutput = part_run([pairs[i] for i in batch], self.device)
                    flat = out.scores
                    offset = 0
                    for slot, i in enumerate(batch):
                        lengths = [len(c) for c in pairs[i].candidates]
                        scores = flat[offset : offset + len(lengths)]
                        if normalize == "mean":
                            scores = scores / torch.tensor(lengths, dtype=scores.dtype, device=scores.device)
                        per_prompt[i] = scores
                        hidden[i] = out.hidden[slot]
                        offset += len(lengths)
        if return_hidden:
            return per_prompt, torch.stack(hidden)
        return per_prompt

    def _check_prefix(self, prefix: str, prompts: list[str], method: str, grad: bool) -> None:
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"prefix must be None or a non-empty str, got {prefix!r}")
        if self.is_encoder_decoder:
            raise ValueError("prefix caching needs a causal model; an encoder-decoder reads the whole prompt: "
                             "drop prefix=")
        if method != "shared":
            raise ValueError(f"prefix caching works with method='shared' only, got method={method!r}")
        if grad:
            raise ValueError("prefix caching is for scoring without gradients (its keys and values are kept "
                             "across calls); drop prefix= or grad=True")
        for i, prompt in enumerate(prompts):
            if not isinstance(prompt, str) or not prompt.startswith(prefix):
                raise ValueError(f"prompt {i} ({str(prompt)[:60]!r}...) does not start with the prefix "
                                 f"{prefix[:60]!r}...; every prompt must")

    def _split_at_prefix(self, prefix: str, pairs: list[EncodedPair]) -> list[tuple[list[int], Callable]]:
        """Cut the prefix's ids off the pairs that start with them (in place); their run reads its cache.

        Returns (indices, run) for the cut pairs and for the others (scored without the cache).
        """
        # The prefix as is: its trailing whitespace belongs to the joint text, as in generation.
        ids = self.boundary.encode_for_generation(prefix)
        cut, whole = [], []
        for i, pair in enumerate(pairs):
            # A prompt must keep one token of its own: its last token predicts the first candidate token.
            if len(pair.prompt) > len(ids) and pair.prompt[: len(ids)] == ids:
                pairs[i] = EncodedPair(pair.prompt[len(ids) :], pair.candidates)
                cut.append(i)
            else:
                whole.append(i)
        kv = self._prefix_kv(tuple(ids)) if cut else None
        return [(cut, partial(self._scorer.shared, prefix=kv)), (whole, self._scorer.shared)]

    def _prefix_kv(self, ids: tuple[int, ...]) -> PrefixKV:
        """The cached keys and values of the prefix `ids` (computed on a miss; least recently used dropped)."""
        # Any in-place weight update (optimizer step, load_state_dict) bumps a parameter's version,
        # and .to() gives new storage: then every cached prefix is stale.
        weights = (self.model.training, *(self._stamp(p) for p in self.model.parameters()))
        if weights != self._prefix_weights:
            self._prefixes.clear()
            self._prefix_weights = weights
        kv = self._prefixes.get(ids)
        if kv is None:
            kv = self._prefixes[ids] = self._scorer.prefix_kv(ids, self.device)
            if len(self._prefixes) > PREFIX_CACHE_SIZE:
                self._prefixes.popitem(last=False)
        self._prefixes.move_to_end(ids)
        return kv

    def clear_prefix_cache(self) -> None:
        """Forget the cached prefixes' keys and values (after changing weights through `.data`, which
        the automatic check of parameter versions cannot see)."""
        self._prefixes.clear()
        self._prompt_kv.clear()
        if self._trunk is not None:
            self._trunk.clear()

    def _weights_stamp(self) -> tuple:
        return (self._precision, self.model.training, *(self._stamp(p) for p in self.model.parameters()))

    def _plan_reuse(self, pairs: list[EncodedPair], grad: bool,
                    trunk: TrunkCache | None) -> list[tuple[list[int], Callable]]:
        """Cut each pair's reusable prefix off its prompt (in place); the run reads it (see `score`)."""
        full = [tuple(pair.prompt) for pair in pairs]
        sources: list[tuple[list[torch.Tensor], list[torch.Tensor], int] | None] = [None] * len(pairs)
        parents: list[tuple[int, ...] | None] = [None] * len(pairs)  # the stored prompt a prefix comes from
        if grad:
            sources = self._group_prefixes(full)
        else:
            stamp = self._weights_stamp()
            if stamp != self._prompt_weights:
                self._prompt_kv.clear()
                self._prompt_weights = stamp
            for i, ids in enumerate(full):
                best, hit = 0, None
                for key, kv in self._prompt_kv.items():
                    n = len(os.path.commonprefix([key, ids]))
                    if n > best:
                        best, hit = n, (key, kv)
                best = min(best, len(ids) - 1)  # a prompt keeps one token: it predicts the candidates
                if best > 0:
                    self._prompt_kv.move_to_end(hit[0])
                    sources[i] = (*hit[1], best)
                    parents[i] = hit[0]
        lookup = {}
        for i, pair in enumerate(pairs):
            length = sources[i][2] if sources[i] is not None else 0
            pairs[i] = EncodedPair(pair.prompt[length:], pair.candidates)
            lookup[id(pairs[i])] = (full[i], sources[i], parents[i])
        run = partial(self._run_reusing, lookup=lookup, record=not grad, trunk=None if grad else trunk)
        return [(list(range(len(pairs))), run)]

    def _group_prefixes(self, full: list[tuple[int, ...]]) -> list:
        """Groups of prompts sharing >= MIN_GROUP_PREFIX leading tokens; each group's prefix computed
        once, with grad: per prompt (keys per layer [G, ...], values, prefix length) or None."""
        order = sorted(range(len(full)), key=lambda i: full[i])
        groups: list[tuple[tuple[int, ...], list[int]]] = []
        for i in order:
            if groups and len(os.path.commonprefix([groups[-1][0], full[i]])) >= MIN_GROUP_PREFIX:
                common = groups[-1][0][: len(os.path.commonprefix([groups[-1][0], full[i]]))]
                groups[-1] = (common, groups[-1][1] + [i])
            else:
                groups.append((full[i], [i]))
        groups = [(common[: min(len(common), *(len(full[i]) - 1 for i in members))], members)
                  for common, members in groups if len(members) > 1]
        groups = [(common, members) for common, members in groups if len(common) >= MIN_GROUP_PREFIX]
        sources: list = [None] * len(full)
        if not groups:
            return sources
        ids = _pad([common for common, _ in groups], self.tokenizer.pad_token_id).to(self.device)
        attention = _pad([[1] * len(common) for common, _ in groups], 0).to(self.device)
        with self._body_context():
            out = self._scorer.backbone(input_ids=ids, attention_mask=attention, use_cache=True)
        layers = out.past_key_values.layers
        if any(layer.keys is None or layer.keys.shape[-2] != ids.shape[1] for layer in layers):
            return [None] * len(full)  # a sliding-window model keeps fewer keys: no reuse
        keys = [layer.keys for layer in layers]
        values = [layer.values for layer in layers]
        for g, (common, members) in enumerate(groups):
            for i in members:
                sources[i] = ([k[g : g + 1] for k in keys], [v[g : g + 1] for v in values], len(common))
        return sources

    def _run_reusing(self, batch: list[EncodedPair], device: torch.device, *, lookup: dict,
                     record: bool, trunk: TrunkCache | None) -> ScoreOutput:
        """Shared scoring of `batch`, each row reading its planned prefix; keeps the prompts' keys and
        values when `record` (no grad), and their trunk states in `trunk`."""
        plans = [lookup[id(pair)] for pair in batch]
        lengths = [src[2] if src is not None else 0 for _, src, _ in plans]
        width = max(lengths)
        num_layers = self.config.num_hidden_layers
        layers = []
        for layer in range(num_layers):
            if width == 0:
                layers.append(_PrefixLayer(None, None, record))
                continue
            parts_k, parts_v = [], []
            for (_, src, _), length in zip(plans, lengths, strict=True):
                if src is None:
                    # A row without prefix: zeros under a mask that hides them.
                    ref_k, ref_v = next(s for _, s, _ in plans if s is not None)[:2]
                    k = ref_k[layer].new_zeros(1, *ref_k[layer].shape[1:2], width, ref_k[layer].shape[-1])
                    v = ref_v[layer].new_zeros(1, *ref_v[layer].shape[1:2], width, ref_v[layer].shape[-1])
                else:
                    k, v = src[0][layer][..., :length, :], src[1][layer][..., :length, :]
                    if length < width:
                        k = torch.nn.functional.pad(k, (0, 0, 0, width - length))
                        v = torch.nn.functional.pad(v, (0, 0, 0, width - length))
                parts_k.append(k)
                parts_v.append(v)
            layers.append(_PrefixLayer(torch.cat(parts_k), torch.cat(parts_v), record))
        kv = PrefixKV(width, Cache(layers=layers), tuple(lengths))
        seen: list[torch.Tensor] = []
        out = self._scorer.shared(batch, device, kv, around=trunk.capture(seen) if trunk is not None else None)
        if trunk is not None:
            for b, ((ids, _, parent), length) in enumerate(zip(plans, lengths, strict=True)):
                # The prompt's trunk states: its prefix's (kept with the parent prompt), then this row's.
                before = trunk.prompt_states(parent) if parent is not None else seen[0][b, :0]
                if before is not None and len(before) >= length:
                    own = seen[0][b, : len(batch[b].prompt) + len(CandidateTree(batch[b].candidates))]
                    trunk.put(ids, batch[b].candidates, torch.cat([before[:length], own]))
        if record:
            for b, ((ids, _, _), length) in enumerate(zip(plans, lengths, strict=True)):
                own = len(batch[b].prompt)
                keep_k, keep_v = [], []
                for layer in layers:
                    k, v = layer.seen
                    keep_k.append(torch.cat([k[b : b + 1, :, :length], k[b : b + 1, :, width : width + own]], -2))
                    keep_v.append(torch.cat([v[b : b + 1, :, :length], v[b : b + 1, :, width : width + own]], -2))
                self._prompt_kv[ids] = (keep_k, keep_v)
                self._prompt_kv.move_to_end(ids)
                if len(self._prompt_kv) > PROMPT_KV_SIZE:
                    self._prompt_kv.popitem(last=False)
        return out

    def _run_capturing(self, batch: list[EncodedPair], device: torch.device,
                       trunk: TrunkCache) -> tuple[ScoreOutput, list[torch.Tensor]]:
        """Shared scoring of `batch` that keeps each row's trunk states; returns them too."""
        seen: list[torch.Tensor] = []
        out = self._scorer.shared(batch, device, around=trunk.capture(seen))
        rows = []
        for b, pair in enumerate(batch):
            rows.append(seen[0][b, : len(pair.prompt) + len(CandidateTree(pair.candidates))])
            trunk.put(pair.prompt, pair.candidates, rows[-1])
        return out, rows

    def _run_from_trunk(self, batch: list[EncodedPair], device: torch.device, trunk: TrunkCache) -> ScoreOutput:
        """Shared scoring of `batch` (with grad) through the layers above the trunk only, from the rows'
        kept trunk states; rows not kept are computed first, without grad."""
        rows = [trunk.get(pair.prompt, pair.candidates) for pair in batch]
        missing = [b for b, row in enumerate(rows) if row is None]
        if missing:
            with torch.no_grad():
                computed = self._run_capturing([batch[b] for b in missing], device, trunk)[1]
            for b, row in zip(missing, computed, strict=True):
                rows[b] = row
        states = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True)
        return self._scorer.shared(batch, device, around=trunk.replay(states))

    # --------------------------------------------------------------- generation
    # `generate` (TextGenerator): checks, the cache, then this.
    def _generate_uncached(self, prompts: list[str], params: SamplingParams) -> list[list[str]]:
        from llmrl.lm.generation import generate_local

        return generate_local(self, prompts, params)

    # ------------------------------------------------------------- persistence
    def save_pretrained(self, directory: str | Path) -> Path:
        """Write model, tokenizer and LoRA adapters (if any) to `directory`; `load_lm(directory)` reads it back."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        base = self.base_model
        if self.has_adapters:
            # Base weights without the injected LoRA tensors, under their original names.
            state = {
                k.replace(".base_layer.", "."): v for k, v in base.state_dict().items() if "lora_" not in k
            }
            base.save_pretrained(directory, state_dict=state)
            self.model.save_pretrained(directory / ADAPTER_DIR)
        else:
            base.save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)
        (directory / METADATA_FILE).write_text(json.dumps({"name": self.name, "adapter": self.has_adapters}))
        return directory


def _row_lengths(pairs: list[EncodedPair], method: str) -> list[int]:
    """Padded-row length per prompt, the unit a micro-batch is cut in."""
    # A candidate's last token is not fed (scoring.py).
    if method == "shared":
        return [len(p.prompt) + len(CandidateTree(p.candidates)) for p in pairs]
    # Naive rows come per candidate; a prompt's rows cost count x longest.
    return [len(p.candidates) * (len(p.prompt) + max(len(c) for c in p.candidates) - 1) for p in pairs]


def _ensure_pad_token(tokenizer: PreTrainedTokenizerBase) -> None:
    """Many causal tokenizers have no pad token; padding is always masked, so EOS (or UNK) serves."""
    if tokenizer.pad_token_id is not None:
        return
    for fallback in (tokenizer.eos_token, tokenizer.unk_token, tokenizer.bos_token):
        if fallback is not None:
            tokenizer.pad_token = fallback
            return
    raise ValueError("the tokenizer has no pad, eos, unk or bos token to pad with; set tokenizer.pad_token")
