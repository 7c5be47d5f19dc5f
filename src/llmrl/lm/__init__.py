"""The language-model engine: loading, candidate scoring, generation, sentence embeddings.

Names are imported on first use (PEP 562): `import llmrl.lm` stays cheap, so the `llmrl`
command starts without loading transformers until a command needs a model.
"""

from typing import TYPE_CHECKING

from llmrl._lazy import lazy_exports

# Seen by type checkers and linters only; `name as name` marks an explicit re-export (PEP 484),
# since they cannot evaluate the computed `__all__` below.
if TYPE_CHECKING:
    from llmrl.lm.embeddings import Embedder as Embedder
    from llmrl.lm.embeddings import load_embedder as load_embedder
    from llmrl.lm.generation_cache import GenerationCache as GenerationCache
    from llmrl.lm.loading import apply_lora as apply_lora
    from llmrl.lm.loading import load_lm as load_lm
    from llmrl.lm.model import LanguageModel as LanguageModel
    from llmrl.lm.openai_compat import LMServerError as LMServerError
    from llmrl.lm.openai_compat import OpenAICompatible as OpenAICompatible
    from llmrl.lm.registry import EMBEDDED_MODELS as EMBEDDED_MODELS
    from llmrl.lm.tiny import tiny_random_lm as tiny_random_lm

_SUBMODULE_OF = {
    "EMBEDDED_MODELS": "registry",
    "Embedder": "embeddings",
    "GenerationCache": "generation_cache",
    "LMServerError": "openai_compat",
    "LanguageModel": "model",
    "OpenAICompatible": "openai_compat",
    "apply_lora": "loading",
    "load_embedder": "embeddings",
    "load_lm": "loading",
    "tiny_random_lm": "tiny",
}

__all__ = sorted(_SUBMODULE_OF)

__getattr__, __dir__ = lazy_exports(__name__, globals(), _SUBMODULE_OF)
