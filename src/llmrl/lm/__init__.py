"""The language-model engine: loading, candidate scoring, generation, sentence embeddings."""

from llmrl.lm.embeddings import Embedder, load_embedder
from llmrl.lm.generation_cache import GenerationCache
from llmrl.lm.loading import apply_lora, load_lm
from llmrl.lm.model import LanguageModel
from llmrl.lm.openai_compat import LMServerError, OpenAICompatible
from llmrl.lm.registry import EMBEDDED_MODELS
from llmrl.lm.tiny import tiny_random_lm

__all__ = [
    "EMBEDDED_MODELS",
    "Embedder",
    "GenerationCache",
    "LMServerError",
    "LanguageModel",
    "OpenAICompatible",
    "apply_lora",
    "load_embedder",
    "load_lm",
    "tiny_random_lm",
]
