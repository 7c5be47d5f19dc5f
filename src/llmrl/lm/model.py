"""`LanguageModel`: a Hugging Face model + tokenizer with candidate scoring and generation."""

import json
from collections import OrderedDict
from collections.abc import Callable
from contextlib import nullcontext
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from llmrl.lm.scoring import (
    DEFAULT_TOKEN_BUDGET,
    METHODS,
    NORMALIZE,
    CandidateTree,
    CausalScorer,
    PrefixKV,
    ScoreOutput,
    Seq2SeqScorer,
    micro_batches,
)
from llmrl.lm.tokenization import BoundaryTokenizer, EncodedPair

if TYPE_CHECKING:
    from llmrl.lm.generation_cache import GenerationCache

METADATA_FILE = "llmrl_lm.json"
ADAPTER_DIR = "adapter"
TRUNCATE = (None, "left")
PREFIX_CACHE_SIZE = 4


class LanguageModel:
    """A causal or encoder-decoder language model ready for scoring and generation.

    Attributes: `model` (the torch module, peft-wrapped when it has LoRA adapters),
    `tokenizer`, `is_encoder_decoder`, `hidden_size`, `device`, `name`.
    A new instance is in eval mode; call `train()` before a gradient update.
    """

    def __init__(
        self,
        model: nn.Module,
        tokenizer: PreTrainedTokenizerBase,
        *,
        name: str,
        device: str | torch.device = "cpu",
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
        return f"LanguageModel({self.name!r}, {kind}, hidden={self.hidden_size}, device={self.device}{lora})"

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
        """
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if normalize not in NORMALIZE:
            raise ValueError(f"normalize must be one of {NORMALIZE}, got {normalize!r}")
        if token_budget < 1:
            raise ValueError(f"token_budget must be a positive number of tokens, got {token_budget}")
        if prefix is not None:
            self._check_prefix(prefix, prompts, method, grad)
        pairs = self.encode(prompts, candidates, truncate)
        run = self._scorer.shared if method == "shared" else self._scorer.naive
        parts = [(list(range(len(pairs))), run)]
        if prefix is not None:
            parts = self._split_at_prefix(prefix, pairs)
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
        weights = (self.model.training, *((p.data_ptr(), p._version) for p in self.model.parameters()))
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

    # --------------------------------------------------------------- generation
    def generate(
        self,
        prompts: list[str],
        *,
        max_new_tokens: int = 64,
        temperature: float = 0.0,
        stop: list[str] | None = None,
        n: int = 1,
        seed: int | None = None,
        cache: "GenerationCache | None" = None,
    ) -> list[list[str]]:
        """`n` completions per prompt (greedy at temperature 0), cut at the first `stop` string."""
        from llmrl.lm.generation import generate_local

        return generate_local(
            self, prompts, max_new_tokens=max_new_tokens, temperature=temperature, stop=stop, n=n, seed=seed,
            cache=cache,
        )

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
