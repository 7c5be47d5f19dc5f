"""Compute precision of a language model: fp32, or bf16 where the hardware multiplies bf16 natively.

`precision="auto"` picks bf16 on CPUs that report AVX512-BF16 or AMX-BF16 (read from
/proc/cpuinfo on Linux) and on CUDA devices that support bf16, else fp32. bf16 runs the
transformer body's matrix products in bfloat16 (torch.autocast) with frozen weights cast
once; the output head, the log-softmax over the vocabulary and the value head stay in fp32
(`llmrl.lm.model.LanguageModel`). On a CPU without those instructions, bf16 is emulated and
slower than fp32: "auto" then stays in fp32, and an explicit "bf16" is honoured as asked.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch

PRECISIONS = ("auto", "bf16", "fp32")
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
CPUINFO = Path("/proc/cpuinfo")


def _cpuinfo_field(key: str) -> str | None:
    """The first `key : value` of /proc/cpuinfo (None where there is no such file, e.g. macOS)."""
    try:
        text = CPUINFO.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        name, colon, value = line.partition(":")
        if colon and name.strip() == key:
            return value.strip()
    return None


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags of /proc/cpuinfo (empty where there is none, e.g. macOS)."""
    return frozenset((_cpuinfo_field("flags") or "").split())


def cpu_model() -> str | None:
    """The CPU's model name as `lscpu` shows it (None where /proc/cpuinfo does not say)."""
    return _cpuinfo_field("model name")


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AVX512-BF16 or AMX-BF16)."""
    return any(flag in cpu_flags() for flag in BF16_CPU_FLAGS)


def bf16_native(device: str | torch.device) -> bool:
    """Whether bf16 compute is native (hence faster than fp32) on `device`."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return cpu_has_bf16()
    return False


def resolve_precision(precision: str, device: str | torch.device) -> str:
    """"auto" -> "bf16" where `bf16_native(device)`, else "fp32"; "bf16" and "fp32" as given."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "auto":
        return "bf16" if bf16_native(device) else "fp32"
    return precision
