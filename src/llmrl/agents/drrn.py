"""DRRN (He et al. 2016): a text Q-network over (state text, action text) pairs, GLAM's DRRN baseline.

Both texts go through their own GRU encoder (hidden 128, as in the GLAM paper's baseline);
the Q-value of a pair is an MLP on the two codes:

    h_s = GRU_s(words of s),   h_a = GRU_a(words of a)
    Q(s, a) = MLP([h_s ; h_a])

Because the action *text* is encoded, the same network scores any command set (e.g. a
variant's synonym actions) without a fixed output layer. Words are ids of the offline
word-level vocabulary of `llmrl.lm.tiny` (BabyAI-Text and Crafter words; others -> [UNK]).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from llmrl.agents.action_names import check_action_names
from llmrl.lm.tiny import build_word_tokenizer


class WordTokenizer:
    """Texts -> fixed-width word-id arrays, right-padded with 0; longer texts keep their *last* words.

    Keeping the end of a prompt keeps its newest observation (the part a policy needs most).
    """

    def __init__(self, max_words: int = 128) -> None:
        if not isinstance(max_words, int) or max_words < 1:
            raise ValueError(f"max_words must be a positive int, got {max_words!r}")
        self.max_words = max_words
        self._tokenizer = build_word_tokenizer()
        self.pad_id = int(self._tokenizer.pad_token_id)
        self.vocab_size = len(self._tokenizer)
        # Missions and observations repeat a lot: each distinct text is tokenized once.
        self._words = lru_cache(maxsize=1 << 16)(self._encode)

    def _encode(self, text: str) -> tuple[int, ...]:
        words = self._tokenizer(text, add_special_tokens=False)["input_ids"][-self.max_words:]
        return tuple(words or [self._tokenizer.unk_token_id])

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """Word ids [len(texts), max_words] (int64); an empty text becomes one [UNK]."""
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise TypeError("texts must be a sequence of str")
        ids = np.full((len(texts), self.max_words), self.pad_id, dtype=np.int64)
        for i, text in enumerate(texts):
            words = self._words(text)
            ids[i, : len(words)] = words
        return ids


class GRUTextEncoder(nn.Module):
    """Word ids [B, L] (right-padded with `pad_id`) -> the GRU's final hidden state [B, hidden]."""

    def __init__(self, vocab_size: int, hidden: int = 128, embed: int = 64, pad_id: int = 0) -> None:
        super().__init__()
        if min(vocab_size, hidden, embed) < 1:
            raise ValueError(f"vocab_size, hidden and embed must be >= 1, got {vocab_size}, {hidden}, {embed}")
        self.pad_id = pad_id
        self.hidden = hidden
        self.embedding = nn.Embedding(vocab_size, embed, padding_idx=pad_id)
        self.gru = nn.GRU(embed, hidden, batch_first=True)

    def forward(self, ids: Tensor) -> Tensor:
        lengths = (ids != self.pad_id).sum(-1).clamp(min=1)
        ids = ids[:, : int(lengths.max())]  # drop the all-padding tail of the batch
        # Packing makes the final state the one after each text's last real word, not after padding.
        packed = pack_padded_sequence(self.embedding(ids), lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, last = self.gru(packed)
        return last[-1]


class DRRN(nn.Module):
    """Q(s, a) for every state of a batch and every action text of a fixed command list.

    `q_values({"state": ids [B, L]}) -> [B, A]`, the interface of `llmrl.algos.dqn`, so the
    replay update is the shared (double) DQN one.
    """

    def __init__(self, action_names: Sequence[str], *, hidden: int = 128, max_words: int = 128,
                 temperature: float = 1.0) -> None:
        super().__init__()
        self.temperature = temperature  # of `act` when the caller gives none (the evaluators give none)
        self.tokenizer = WordTokenizer(max_words)
        vocab, pad = self.tokenizer.vocab_size, self.tokenizer.pad_id
        self.state_encoder = GRUTextEncoder(vocab, hidden, pad_id=pad)
        self.action_encoder = GRUTextEncoder(vocab, hidden, pad_id=pad)
        self.q_head = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        self.action_names = action_names

    @property
    def action_names(self) -> tuple[str, ...]:
        return self._action_names

    @action_names.setter
    def action_names(self, names: Sequence[str]) -> None:
        """Any command list can be scored (e.g. a variant's synonyms): the action texts are re-encoded."""
        names = check_action_names(names)
        self._action_names = names
        device = self.action_ids.device if hasattr(self, "action_ids") else None
        ids = torch.from_numpy(self.tokenizer(names)).to(device)
        self.register_buffer("action_ids", ids, persistent=False)

    def encode_states(self, texts: Sequence[str]) -> np.ndarray:
        """Word ids of state texts, as stored in the replay buffer."""
        return self.tokenizer(texts)

    def q_values(self, obs: Mapping[str, Tensor]) -> Tensor:
        """Q-values [B, A]: every (state, action) pair of the batch through the pair MLP."""
        h_s = self.state_encoder(obs["state"])  # [B, H]
        h_a = self.action_encoder(self.action_ids)  # [A, H]
        batch, actions = h_s.shape[0], h_a.shape[0]
        pairs = torch.cat([h_s[:, None].expand(batch, actions, -1), h_a[None].expand(batch, actions, -1)], -1)
        return self.q_head(pairs).squeeze(-1)

    @property
    def temperature(self) -> float:
        return self._temperature

    @temperature.setter
    def temperature(self, value: float) -> None:
        if value < 0:
            raise ValueError(f"temperature must be >= 0 (0 is greedy), got {value}")
        self._temperature = float(value)

    @torch.no_grad()
    def act(self, texts: Sequence[str], generator: torch.Generator | None = None,
            temperature: float | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """a ~ softmax(Q(s, .) / temperature) (0: greedy; None: self.temperature).

        Returns (actions, log-probs, max Q), each [B] on CPU.

        The signature is the rollout policies' `act`, so the shared evaluators run a DRRN too,
        at `self.temperature`.
        """
        temperature = self.temperature if temperature is None else temperature
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0 (0 is greedy), got {temperature}")
        device = self.action_ids.device
        q = self.q_values({"state": torch.from_numpy(self.encode_states(texts)).to(device)}).float().cpu()
        if temperature == 0:
            actions = q.argmax(-1)
            log_probs = torch.full_like(q, float("-inf")).scatter(-1, actions[:, None], 0.0)
        else:
            log_probs = torch.log_softmax(q / temperature, -1)
            actions = torch.multinomial(log_probs.exp(), 1, generator=generator).squeeze(-1)
        return actions, log_probs.gather(-1, actions[:, None]).squeeze(-1), q.amax(-1)
