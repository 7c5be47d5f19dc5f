"""How a (prompt, candidate) pair becomes token ids: one rule shared by every scoring method.

Rule (so that `method="naive"` and `method="shared"` see the very same ids):

1. Trailing whitespace of the prompt is cut off the prompt. For causal models it is
   moved to the front of the candidate (`"Action 2: "` + `"go forward"` is tokenized
   as `"Action 2:"` and `" go forward"`), which reproduces how byte-level BPE
   tokenizers (GPT-2, Llama 3, Qwen, SmolLM) split the joint text, where the space
   belongs to the next word. For encoder-decoders it is dropped: the candidate is
   a separate decoder sequence.
2. Prompt and candidate are tokenized separately, without special tokens, and the
   ids are concatenated. Causal models get the tokenizer's BOS in front of the
   prompt when the tokenizer adds one by default; a prompt with no tokens gets BOS
   (or EOS when there is no BOS) so that the first candidate token has a context.
   Encoder inputs get the tokenizer's usual special tokens (T5's closing `</s>`).
3. The candidate is scored on its own tokens only (no EOS appended).
"""

from dataclasses import dataclass
from functools import lru_cache

from transformers import PreTrainedTokenizerBase


@dataclass(frozen=True)
class EncodedPair:
    """Token ids of one prompt and its candidates, per the rule above."""

    prompt: list[int]
    candidates: list[list[int]]


CANDIDATE_CACHE_SIZE = 8192


class BoundaryTokenizer:
    """Applies the prompt/candidate tokenization rule of this module for one model."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, is_encoder_decoder: bool):
        self.tokenizer = tokenizer
        self.is_encoder_decoder = is_encoder_decoder
        self._bos_prefix = self._detect_bos_prefix()
        # Candidates repeat on every call (GLAM's six actions, ELLM's goal questions): tokenizing
        # them again cost ~30% of a tiny model's scoring step. A tokenizer is deterministic.
        self._candidate_ids = lru_cache(maxsize=CANDIDATE_CACHE_SIZE)(self._tokenize_candidate)

    def _detect_bos_prefix(self) -> list[int]:
        bos = self.tokenizer.bos_token_id
        if bos is None:
            return []
        probe = self.tokenizer("a", add_special_tokens=True)["input_ids"]
        return [bos] if probe and probe[0] == bos else []

    def _ids(self, text: str, special: bool) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=special)["input_ids"])

    def _tokenize_candidate(self, text: str) -> tuple[int, ...]:
        return tuple(self._ids(text, special=False))

    def encode_prompt(self, prompt: str) -> tuple[list[int], str]:
        """Prompt ids and the whitespace cut off its end (moved to candidates of causal models)."""
        stripped = prompt.rstrip()
        moved = prompt[len(stripped) :]
        if self.is_encoder_decoder:
            return self._ids(stripped, special=True), ""
        ids = self._bos_prefix + self._ids(stripped, special=False)
        if not ids:
            fallback = self.tokenizer.bos_token_id
            if fallback is None:
                fallback = self.tokenizer.eos_token_id
            if fallback is None:
                raise ValueError("empty prompt and the tokenizer has neither a BOS nor an EOS token")
            ids = [fallback]
        return ids, moved

    def encode_for_generation(self, prompt: str) -> list[int]:
        """Prompt ids for generation: the prompt as is (trailing whitespace kept), same special tokens."""
        if self.is_encoder_decoder:
            return self._ids(prompt, special=True)
        return self._bos_prefix + self._ids(prompt, special=False) or self.encode_prompt(prompt)[0]

    def encode(self, prompt: str, candidates: list[str]) -> EncodedPair:
        """Ids of `prompt` and of each candidate; rejects empty candidate lists and empty candidates."""
        if not candidates:
            raise ValueError(f"empty candidate list for prompt {prompt[:60]!r}: give at least one candidate")
        prompt_ids, moved = self.encode_prompt(prompt)
        encoded = []
        for candidate in candidates:
            ids = list(self._candidate_ids(moved + candidate)) if candidate else []
            if not ids:
                raise ValueError(f"candidate {candidate!r} has no tokens; every candidate needs at least one")
            encoded.append(ids)
        return EncodedPair(prompt_ids, encoded)
