"""Sentence embeddings (ELLM's similarity reward): L2-normalised, batched, cached by text."""

from pathlib import Path

import numpy as np
import torch

from llmrl.lm.registry import embedded, names_of
from llmrl.lm.sqlite_store import SqliteStore


class Embedder:
    """Embeds texts with a sentence-transformers model; each distinct text is computed once.

    The in-memory cache is always on; `cache_path` adds a SQLite file keyed by
    (model name, text) that survives the process.
    """

    def __init__(self, model, name: str, *, batch_size: int = 64, cache_path: str | Path | None = None):
        self.model = model
        self.name = name
        self.batch_size = batch_size
        self.dim = int(model.get_embedding_dimension())
        self._memory: dict[str, torch.Tensor] = {}
        self._disk = SqliteStore(cache_path) if cache_path is not None else None

    def __repr__(self) -> str:
        return f"Embedder({self.name!r}, dim={self.dim})"

    def embed(self, texts: list[str]) -> torch.Tensor:
        """[len(texts), dim] float32 tensor of unit-norm embeddings."""
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise TypeError("texts must be a list of str")
        if not texts:
            return torch.empty(0, self.dim)
        missing = [t for t in dict.fromkeys(texts) if t not in self._memory and not self._load(t)]
        if missing:
            vectors = self.model.encode(
                missing, batch_size=self.batch_size, convert_to_tensor=True, normalize_embeddings=True
            )
            for text, vector in zip(missing, vectors.float().cpu(), strict=True):
                self._memory[text] = vector
                if self._disk is not None:
                    self._disk.put(self._key(text), vector.numpy().tobytes())
        return torch.stack([self._memory[t] for t in texts])

    def _key(self, text: str) -> str:
        return f"{self.name}\x00{text}"

    def _load(self, text: str) -> bool:
        if self._disk is None:
            return False
        raw = self._disk.get(self._key(text))
        if raw is None or len(raw) != 4 * self.dim:
            return False
        self._memory[text] = torch.from_numpy(np.frombuffer(raw, dtype=np.float32).copy())
        return True


def load_embedder(
    name: str = "minilm",
    *,
    device: str = "cpu",
    batch_size: int = 64,
    cache_path: str | Path | None = None,
) -> Embedder:
    """An `Embedder`: "minilm" (all-MiniLM-L6-v2, embedded, offline) or any sentence-transformers id or path."""
    from sentence_transformers import SentenceTransformer

    spec = embedded(name, "sentence-embedder")
    source = str(spec.path()) if spec is not None else name
    try:
        model = SentenceTransformer(source, device=device)
    except (OSError, ValueError) as error:
        raise ValueError(
            f"cannot load sentence embedder {name!r}: {error}\nAccepted: an embedded embedder "
            f"({', '.join(names_of('sentence-embedder'))}) or a sentence-transformers model id or local path."
        ) from error
    return Embedder(model, name, batch_size=batch_size, cache_path=cache_path)
