"""Lazy package exports (PEP 562): a package names its public objects without importing them.

Heavy dependencies (torch, transformers) then load on first use, not when the `llmrl`
command starts.
"""

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, namespace: dict[str, Any], submodule_of: Mapping[str, str]) -> tuple[
    Callable[[str], Any], Callable[[], list[str]]
]:
    """Return `__getattr__` and `__dir__` for `package` exporting `name` from `package.submodule_of[name]`."""

    def __getattr__(name: str) -> Any:
        if name not in submodule_of:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{submodule_of[name]}"), name)
        namespace[name] = value  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *submodule_of})

    return __getattr__, __dir__
