"""ELLM's goal-conditioned Q-network and the text-embedding table that feeds it.

Inputs (Du et al. 2023, reference/ellm.md): the text state and ``Your goal is: {goals}.``,
each encoded by a *frozen* sentence encoder. The encoder runs once per distinct text
(``TextEmbeddingTable``); observations, and so the replay, hold the texts' row ids in that
table, not their vectors (8 bytes instead of 1.5 KB per text). Only the projections and the
head train:

    h_s = ReLU(W_s e(state))        384 -> 512
    h_g = ReLU(W_g e(goal text))    384 -> 512
    h   = ReLU(W_f [h_s ; h_g (; CNN(image))])   1024 (+512) -> 512
    Q(s, g, a) = V(h) + A(h, a) - mean_a' A(h, a')   (``DuelingHead``)

V and A are linear on h: the reference's network ends at the 1024 -> 512 fusion.
``dueling_hidden > 0`` adds a ReLU layer of that width to each stream (our CPU experiment's
network used 512: 56% more multiply-adds per sample and a 1.5x slower update).
With ``image=True`` the 64x64 RGB frame also goes through a small Nature CNN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from llmrl.agents.heads import DuelingHead
from llmrl.intrinsic.base import Embedder

STATE_KEY, GOAL_KEY, IMAGE_KEY = "state_id", "goal_id", "image"
IMAGE_SHAPE = (64, 64, 3)


def goal_text(goals: Sequence[str]) -> str:
    """The goal sentence the agent is conditioned on: ``Your goal is: chop tree, drink water.``"""
    return f"Your goal is: {', '.join(goals) if goals else 'nothing'}."


class TextEmbeddingTable:
    """Each distinct text embedded once (one batched encoder call per `ids` call), kept as a row.

    Text states and goal sentences repeat a lot in Crafter (about a thousand distinct texts
    per 10k frames), so after warm-up `ids` is a dict hit: no encoder call, and the caller
    stores a row id where it would have stored a 384-float vector.
    """

    def __init__(self, embedder: Embedder, capacity: int = 4096) -> None:
        self.embedder = embedder
        self._rows: dict[str, int] = {}
        self._matrix: np.ndarray | None = None
        self._capacity = capacity
        self.encoder_calls = 0

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def dim(self) -> int:
        """Embedding size (asks the encoder once if nothing has been embedded yet)."""
        if self._matrix is None:
            self.ids([goal_text(())])
        assert self._matrix is not None
        return self._matrix.shape[1]

    def ids(self, texts: Sequence[str]) -> np.ndarray:
        """int64 row ids [len(texts)]; unseen texts are encoded together in one call."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._rows]
        if missing:
            self._add(missing)
        return np.fromiter((self._rows[t] for t in texts), np.int64, count=len(texts))

    def rows(self, ids: Tensor) -> Tensor:
        """float32 embeddings [*ids.shape, dim] of row ids, on the ids' device."""
        count = len(self._rows)
        try:
            if self._matrix is None:
                if ids.numel():
                    raise IndexError("nothing embedded yet")
                return torch.zeros((*ids.shape, 0), device=ids.device)
            # index_select checks every id against [0, count) itself (a separate min/max pass
            # cost 4x the lookup, three times per DQN update).
            embedded = torch.from_numpy(self._matrix[:count]).index_select(0, ids.cpu().flatten())
        except IndexError as error:
            raise IndexError(f"row ids must lie in [0, {count}), the texts embedded so far; got "
                             f"[{int(ids.min())}, {int(ids.max())}] (a replay from another table?)") from error
        return embedded.view(*ids.shape, -1).to(ids.device)

    def state(self) -> tuple[np.ndarray, list[str]]:
        """(matrix [len, dim], texts in row order): what `load_state` needs to give the same ids."""
        # Rows are assigned in insertion order, which dicts keep: the keys are in row order.
        if self._matrix is None:
            return np.zeros((0, 0), np.float32), []
        return self._matrix[: len(self._rows)], list(self._rows)

    def load_state(self, matrix: np.ndarray, texts: Sequence[str]) -> None:
        """Replace the table's contents by a `state()`: the same texts get the same row ids."""
        if matrix.ndim != 2 or len(matrix) != len(texts) or len(set(texts)) != len(texts):
            raise ValueError(f"table state needs a [N, dim] matrix and N distinct texts, got {matrix.shape} "
                             f"and {len(texts)} texts ({len(set(texts))} distinct)")
        self._matrix, self._rows = None, {}
        self._reserve(len(texts), matrix.shape[1])
        self._matrix[: len(texts)] = matrix
        self._rows = {text: i for i, text in enumerate(texts)}

    def _add(self, texts: list[str]) -> None:
        vectors = self.embedder.embed(list(texts))
        if isinstance(vectors, Tensor):
            vectors = vectors.detach().cpu().float().numpy()
        vectors = np.asarray(vectors, np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(texts):
            raise ValueError(f"embedder returned shape {vectors.shape} for {len(texts)} texts; expected [N, dim]")
        self.encoder_calls += 1
        start = len(self._rows)
        self._reserve(start + len(texts), vectors.shape[1])
        self._matrix[start : start + len(texts)] = vectors
        self._rows.update({text: start + i for i, text in enumerate(texts)})

    def _reserve(self, rows: int, dim: int) -> None:
        """Room for `rows` rows of size `dim`, keeping the rows in use."""
        if self._matrix is None:
            self._matrix = np.zeros((max(self._capacity, rows), dim), np.float32)
        elif rows > len(self._matrix):  # grow geometrically: amortized O(1) per text
            grown = np.zeros((max(2 * len(self._matrix), rows), dim), np.float32)
            grown[: len(self._rows)] = self._matrix[: len(self._rows)]
            self._matrix = grown


class NatureCNN(nn.Module):
    """Mnih et al. (2015)'s convolutional torso, for 64x64 RGB uint8 frames -> ``features``."""

    def __init__(self, features: int = 512) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 32, 8, stride=4), nn.ReLU(),  # 64 -> 15
            nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),  # 15 -> 6
            nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(),  # 6 -> 4
            nn.Flatten(),
            nn.Linear(64 * 4 * 4, features), nn.ReLU(),
        )

    def forward(self, image: Tensor) -> Tensor:
        # [B, H, W, C] uint8 as stored -> [B, C, H, W] in [0, 1].
        return self.net(image.permute(0, 3, 1, 2).float() / 255.0)


class GoalConditionedQNet(nn.Module):
    """Dueling Q-network on frozen sentence embeddings of the state and the goals (module doc).

    Observations hold int64 row ids of `table` (the text state's and the goal sentence's),
    which the target network and the acting loop share; the table is not a parameter and is
    not in `state_dict()` (the trainer checkpoints it with the replay that indexes it).
    """

    def __init__(
        self, num_actions: int, table: TextEmbeddingTable, hidden: int = 512, image: bool = False,
        dueling_hidden: int = 0,
    ) -> None:
        super().__init__()
        if min(num_actions, hidden) < 1 or dueling_hidden < 0:
            raise ValueError(f"sizes must be >= 1 (dueling_hidden >= 0), got actions={num_actions}, hidden={hidden}, "
                             f"dueling_hidden={dueling_hidden}")
        self.num_actions, self.table, self.image = num_actions, table, image
        embed_dim = table.dim
        self.state_proj = nn.Sequential(nn.Linear(embed_dim, hidden), nn.ReLU())
        self.goal_proj = nn.Sequential(nn.Linear(embed_dim, hidden), nn.ReLU())
        self.cnn = NatureCNN(hidden) if image else None
        fused_in = hidden * (3 if image else 2)
        self.fuse = nn.Sequential(nn.Linear(fused_in, hidden), nn.ReLU())
        self.head = DuelingHead(hidden, num_actions, dueling_hidden)

    def obs_spec(self) -> dict[str, tuple[tuple[int, ...], type]]:
        """What one observation holds, for ``NStepReplayBuffer``: two int64 row ids (+ a uint8 image)."""
        spec: dict[str, tuple[tuple[int, ...], type]] = {STATE_KEY: ((), np.int64), GOAL_KEY: ((), np.int64)}
        if self.image:
            spec[IMAGE_KEY] = (IMAGE_SHAPE, np.uint8)
        return spec

    def embed(self, ids: Tensor) -> Tensor:
        """The frozen sentence embeddings [B, dim] of a batch of row ids."""
        if ids.dtype not in (torch.int64, torch.int32) or ids.dim() != 1:
            raise TypeError(f"text inputs must be [B] integer row ids of the embedding table, "
                            f"got {ids.dtype} {tuple(ids.shape)}")
        return self.table.rows(ids)

    def q_values(self, obs: Mapping[str, Tensor]) -> Tensor:
        """Q-values [B, num_actions] of a batch of observations (keys of ``obs_spec``)."""
        missing = [key for key in self.obs_spec() if key not in obs]
        if missing:
            raise KeyError(f"observation lacks {missing}; this network reads {list(self.obs_spec())}")
        parts = [self.state_proj(self.embed(obs[STATE_KEY])), self.goal_proj(self.embed(obs[GOAL_KEY]))]
        if self.cnn is not None:
            parts.append(self.cnn(obs[IMAGE_KEY]))
        return self.head(self.fuse(torch.cat(parts, dim=-1)))

    forward = q_values
