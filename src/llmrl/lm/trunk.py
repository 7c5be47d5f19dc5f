"""Frozen-trunk cache: the hidden states entering the lowest trainable layer, computed once per prompt.

With LoRA adapters on the top N transformer layers only (`apply_lora(..., {"top_layers": N})`),
the embeddings and the layers below them (the trunk) get no gradient: the hidden states entering
layer k = L - N of a packed scoring row depend on the row's token ids and frozen weights only.
A rollout (no grad) computes them anyway; `TrunkCache` keeps them, keyed by the prompt's and the
candidates' token ids, and an update's forward (grad) starts from them at layer k, so that
forward and backward run through the top N layers only. Same scores, values and gradients as a
recomputation (to float rounding): the skipped layers would compute the same numbers again.

The model's own forward is reused (embeddings, rotary or absolute positions, masks): for a
replay the decoder-layer list is cut to the top layers for the call, and a hook on layer k
swaps its input for the cached states. `TrunkCache` checks this on a short input when it is
built and refuses architectures where it does not reproduce the plain forward.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

TRUNK_CACHE_BYTES = 1 << 30  # rows kept (least recently used dropped): ~3,000 GLAM prompts of SmolLM2
SELF_CHECK_TOLERANCE = 1e-4


def decoder_layers(backbone: nn.Module) -> tuple[str, nn.ModuleList]:
    """The backbone's attribute holding its decoder layers (`layers`, GPT-2's `h`, ...) and that list."""
    count = getattr(backbone.config, "num_hidden_layers", None)
    for name, child in backbone.named_children():
        if isinstance(child, nn.ModuleList) and len(child) == count:
            return name, child
    raise ValueError(f"{type(backbone).__name__} has no list of {count} decoder layers; the trunk cache "
                     "needs a decoder-only transformer")


def trunk_depth(backbone: nn.Module) -> int:
    """How many of the lowest decoder layers, with everything before them, have no trainable parameter."""
    _, layers = decoder_layers(backbone)
    in_layers = {id(p) for layer in layers for p in layer.parameters()}
    if any(p.requires_grad and id(p) not in in_layers for p in backbone.parameters()):
        return 0  # e.g. trainable embeddings: nothing below the layers is frozen
    for depth, layer in enumerate(layers):
        if any(p.requires_grad for p in layer.parameters()):
            return depth
    return len(layers)


class TrunkCache:
    """Hidden states entering layer `depth` of packed scoring rows, per (prompt ids, candidate ids).

    Entries are [row length, hidden] float tensors (the prompt's tokens, then its candidate
    tree's), least recently used dropped beyond `max_bytes`. They are valid for the frozen
    weights they were computed with: any change of those weights (their storage or version),
    of the trunk's depth or of the compute precision empties the cache.
    """

    def __init__(self, backbone: nn.Module, max_bytes: int = TRUNK_CACHE_BYTES) -> None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        self.backbone = backbone
        self.attr, self.layers = decoder_layers(backbone)
        self.max_bytes = max_bytes
        self.depth = trunk_depth(backbone)
        if self.depth in (0, len(self.layers)):
            raise ValueError(
                f"the trunk cache needs frozen lower layers under trainable upper ones; here {self.depth} of "
                f"{len(self.layers)} layers are frozen (adapt the top layers only: LoRA with top_layers=N)")
        dropout = [m for m in self._trunk_modules() if isinstance(m, nn.Dropout) and m.p > 0]
        if dropout or getattr(backbone.config, "attention_dropout", 0.0):
            raise ValueError("the trunk cache needs dropout-free frozen layers (their output must not change "
                             "between the rollout and the update)")
        self._entries: OrderedDict[tuple, tuple[int, torch.Tensor]] = OrderedDict()
        self._bytes = 0
        self._stamp: tuple = ()
        self._self_check()

    def _trunk_modules(self) -> Iterator[nn.Module]:
        top = {id(m) for layer in self.layers[self.depth:] for m in layer.modules()}
        return (m for m in self.backbone.modules() if id(m) not in top)

    def __len__(self) -> int:
        return len(self._entries)

    # ------------------------------------------------------------------ store
    def validate(self, precision: str) -> bool:
        """Empty the cache if the frozen weights, the depth or `precision` changed; False if no layer
        is trainable or frozen any more (then the cache must not be used)."""
        depth = trunk_depth(self.backbone)
        stamp = (precision, depth, *((p.data_ptr(), p._version) for m in self._trunk_modules()
                                     for p in m.parameters(recurse=False)))
        if stamp != self._stamp:
            self.clear()
            self._stamp = stamp
            self.depth = depth
        return 0 < depth < len(self.layers)

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def get(self, prompt: Sequence[int], candidates: Sequence[Sequence[int]]) -> torch.Tensor | None:
        """The cached row of (prompt, candidates), or None."""
        key = (tuple(prompt), tuple(map(tuple, candidates)))
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def prompt_states(self, prompt: Sequence[int]) -> torch.Tensor | None:
        """The cached states of the prompt's own tokens (from any entry of this prompt), or None."""
        prompt = tuple(prompt)
        for (ids, _), (length, row) in reversed(self._entries.items()):
            if ids == prompt:
                return row[:length]
        return None

    def put(self, prompt: Sequence[int], candidates: Sequence[Sequence[int]], row: torch.Tensor) -> None:
        """Keep `row` ([len(prompt) + tree nodes, hidden]) for (prompt, candidates)."""
        key = (tuple(prompt), tuple(map(tuple, candidates)))
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= _nbytes(old[1])
        row = row.detach().clone()  # own storage: a slice would keep the whole micro-batch alive
        self._entries[key] = (len(prompt), row)
        self._bytes += _nbytes(row)
        while self._bytes > self.max_bytes and len(self._entries) > 1:
            self._bytes -= _nbytes(self._entries.popitem(last=False)[1][1])

    # ------------------------------------------------------------ forward hooks
    @contextmanager
    def capture(self, seen: list[torch.Tensor]) -> Iterator[None]:
        """Within it, each backbone call appends to `seen` the hidden states entering layer `depth` ([B, T, hidden])."""

        def hook(_module, args, kwargs):
            seen.append((args[0] if args else kwargs["hidden_states"]).detach())

        handle = self.layers[self.depth].register_forward_pre_hook(hook, with_kwargs=True)
        try:
            yield
        finally:
            handle.remove()

    @contextmanager
    def replay(self, states: torch.Tensor) -> Iterator[None]:
        """Within it, a backbone call runs layers `depth`.. only, from `states` ([B, T, hidden]) instead of
        the output of the layers below (the call's embeddings are computed and discarded)."""

        def hook(_module, args, kwargs):
            if args:
                return (states.to(args[0].dtype), *args[1:]), kwargs
            return args, {**kwargs, "hidden_states": states.to(kwargs["hidden_states"].dtype)}

        handle = self.layers[self.depth].register_forward_pre_hook(hook, with_kwargs=True)
        setattr(self.backbone, self.attr, nn.ModuleList(list(self.layers)[self.depth:]))
        try:
            yield
        finally:
            setattr(self.backbone, self.attr, self.layers)
            handle.remove()

    def _self_check(self) -> None:
        """Refuse an architecture whose forward the replay does not reproduce (e.g. per-layer state
        indexed by the position in the layer list)."""
        ids = torch.arange(1, 7, device=next(self.backbone.parameters()).device)[None]
        training = self.backbone.training
        self.backbone.eval()
        try:
            with torch.no_grad():
                seen: list[torch.Tensor] = []
                with self.capture(seen):
                    plain = self.backbone(input_ids=ids, use_cache=False).last_hidden_state
                with self.replay(seen[0]):
                    replayed = self.backbone(input_ids=ids, use_cache=False).last_hidden_state
        finally:
            self.backbone.train(training)
        if not torch.allclose(plain, replayed, atol=SELF_CHECK_TOLERANCE, rtol=0):
            raise ValueError(f"the trunk cache does not reproduce {type(self.backbone).__name__}'s forward "
                             "(layers not independent of their position in the list); turn it off")


def _nbytes(tensor: torch.Tensor) -> int:
    return tensor.numel() * tensor.element_size()
