"""Embedder: unit-norm output, each distinct text computed once, disk cache shared across instances."""

import pytest
import torch

from llmrl.lm import Embedder, load_embedder


class CountingModel:
    """Stands in for a SentenceTransformer: a deterministic bag-of-characters vector."""

    def __init__(self):
        self.encoded: list[str] = []

    def get_embedding_dimension(self) -> int:
        return 8

    def encode(self, texts, batch_size, convert_to_tensor, normalize_embeddings):
        self.encoded += texts
        vectors = torch.tensor([[float(sum(map(ord, t)) % (i + 3) + 1) for i in range(8)] for t in texts])
        return torch.nn.functional.normalize(vectors, dim=1) if normalize_embeddings else vectors


def test_embed_is_normalised_and_cached_in_memory():
    model = CountingModel()
    embedder = Embedder(model, "counting")
    out = embedder.embed(["a", "b", "a"])
    assert out.shape == (3, 8) and out.dtype == torch.float32
    torch.testing.assert_close(out.norm(dim=1), torch.ones(3))
    torch.testing.assert_close(out[0], out[2])
    embedder.embed(["b", "c"])
    assert model.encoded == ["a", "b", "c"]
    assert embedder.embed([]).shape == (0, 8)
    with pytest.raises(TypeError, match="list of str"):
        embedder.embed("a")


def test_disk_cache_serves_a_new_embedder(tmp_path):
    first = Embedder(CountingModel(), "counting", cache_path=tmp_path / "e.sqlite")
    vectors = first.embed(["go to the red ball", "open the door"])
    fresh_model = CountingModel()
    second = Embedder(fresh_model, "counting", cache_path=tmp_path / "e.sqlite")
    torch.testing.assert_close(second.embed(["open the door", "go to the red ball"]), vectors.flip(0))
    assert fresh_model.encoded == []
    # The key holds the model name: another model does not read these vectors.
    other = CountingModel()
    Embedder(other, "other", cache_path=tmp_path / "e.sqlite").embed(["open the door"])
    assert other.encoded == ["open the door"]


def test_unknown_embedder_says_what_is_accepted(tmp_path):
    with pytest.raises(ValueError, match="minilm"):
        load_embedder(str(tmp_path / "missing-model"))
