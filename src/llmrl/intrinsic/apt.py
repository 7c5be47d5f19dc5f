"""APT (Liu & Abbeel, 2021): particle-based entropy reward from k nearest neighbours.

The state's embedding z = E(s_{t+1}) is compared with a memory of recent embeddings;
a state far from its k nearest neighbours lies where the visited-state density is low:

    r_t = log(1 + (1/k) * sum_{j in kNN(z)} ||z - z_j||)

The frozen sentence encoder stands in for APT's contrastively learned representation.
"""

from collections.abc import Sequence

import numpy as np
import torch

from llmrl.intrinsic.base import Embedder, Transition
from llmrl.intrinsic.common import EmbeddingRing, RewardBase, check_embedder, embed_texts


class AptReward(RewardBase):
    """kNN particle-entropy reward over a ring memory of the last `memory_size` state embeddings.

    A batch is scored against the memory as it was before the batch (so rewards do not
    depend on the order of envs in it), then added. With fewer than `k` states in memory
    all of them are the neighbours; an empty memory gives 0.
    """

    name = "apt"

    def __init__(self, num_envs: int, *, embedder: Embedder, dim: int, k: int = 12, memory_size: int = 10_000):
        super().__init__(num_envs)
        check_embedder(embedder)
        if k < 1 or memory_size < k or dim < 1:
            raise ValueError(
                f"need k >= 1, memory_size >= k and dim >= 1, got k={k}, memory_size={memory_size}, dim={dim}"
            )
        self.embedder = embedder
        self.k = k
        self.memory = EmbeddingRing(memory_size, dim)

    def knn_distance(self, z: torch.Tensor) -> torch.Tensor:
        """Mean Euclidean distance of each row of z to its k nearest states in memory."""
        memory = self.memory.contents()
        if len(memory) == 0:
            return torch.zeros(len(z))
        distances = torch.cdist(z, memory)
        return distances.topk(min(self.k, len(memory)), dim=-1, largest=False).values.mean(dim=-1)

    def _rewards(self, transitions: Sequence[Transition]) -> np.ndarray:
        z = embed_texts(self.embedder, [t.next_state_text for t in transitions])
        reward = torch.log1p(self.knn_distance(z))
        self.memory.add(z)
        return reward.numpy()

    def state_dict(self) -> dict:
        """Running statistics and the memory of embeddings."""
        return super().state_dict() | {"memory": self.memory.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        """Restore `state_dict()`."""
        super().load_state_dict(state)
        self.memory.load_state_dict(state["memory"])
