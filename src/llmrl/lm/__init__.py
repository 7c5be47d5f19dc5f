"""The language-model engine: loading, candidate scoring, generation, sentence embeddings."""

from llmrl.lm.loading import load_lm
from llmrl.lm.model import LanguageModel
from llmrl.lm.tiny import tiny_random_lm

__all__ = ["LanguageModel", "load_lm", "tiny_random_lm"]
